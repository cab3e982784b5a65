// Package streams is stream-service's core: a hub that turns Redis change
// notices into Server-Sent Events, one topic per logical stream with clients,
// with resume from the Redis history (Last-Event-ID), gap filling, per-client
// bounded buffers and heartbeats; plus the HTTP routes that admit callers
// (stream tickets prism-api issued, bearer tokens for /streams/me) under
// per-user, per-address and per-replica limits.
package streams

import (
	"time"

	"github.com/prism-es/prism/shared/config"
)

// Config tunes the hub. Zero fields take the defaults of LoadConfig.
type Config struct {
	// ClientBuffer is how many events may wait for one slow client before it
	// is dropped (PRISM_SSE_CLIENT_BUFFER, default 1024, the length of the notice history). A replay goes through
	// the same buffer, so it should exceed a typical replay (the few events a
	// client misses while it reconnects); a client whose replay overflows it
	// is dropped and resumes from the last event it did receive.
	ClientBuffer int
	// Heartbeat is the longest time between two writes to a client
	// (PRISM_SSE_HEARTBEAT, default 15s).
	Heartbeat time.Duration
	// Resync is how often a topic compares its cursor with the history, to
	// catch notices pub/sub lost (PRISM_SSE_RESYNC, default 5s).
	Resync time.Duration
	// ReplayPage is how many history entries one read returns when replaying
	// or filling a gap (PRISM_SSE_REPLAY_PAGE, default 500).
	ReplayPage int64
	// TopicBuffer is the live-notice buffer of each topic's Redis listener
	// (PRISM_SSE_TOPIC_BUFFER, default 1024); a topic that falls further
	// behind resubscribes and fills the gap from the history.
	TopicBuffer int
	// RedisTimeout bounds each Redis read of a topic (not configurable).
	RedisTimeout time.Duration
}

// Defaults for Config.
const (
	DefaultClientBuffer = 1024
	DefaultHeartbeat    = 15 * time.Second
	DefaultResync       = 5 * time.Second
	DefaultReplayPage   = 500
	DefaultTopicBuffer  = 1024
	defaultRedisTimeout = 5 * time.Second
)

// LoadConfig reads the PRISM_SSE_* settings; problems are recorded on r.
func LoadConfig(r *config.Reader) Config {
	c := Config{
		ClientBuffer: r.Int("PRISM_SSE_CLIENT_BUFFER", DefaultClientBuffer),
		Heartbeat:    r.Duration("PRISM_SSE_HEARTBEAT", DefaultHeartbeat),
		Resync:       r.Duration("PRISM_SSE_RESYNC", DefaultResync),
		ReplayPage:   int64(r.Int("PRISM_SSE_REPLAY_PAGE", DefaultReplayPage)),
		TopicBuffer:  r.Int("PRISM_SSE_TOPIC_BUFFER", DefaultTopicBuffer),
	}
	if c.ClientBuffer < 1 {
		r.Fail("PRISM_SSE_CLIENT_BUFFER=%d: must be at least 1", c.ClientBuffer)
	}
	if c.Heartbeat <= 0 {
		r.Fail("PRISM_SSE_HEARTBEAT=%s: must be positive", c.Heartbeat)
	}
	if c.Resync <= 0 {
		r.Fail("PRISM_SSE_RESYNC=%s: must be positive", c.Resync)
	}
	if c.ReplayPage < 1 {
		r.Fail("PRISM_SSE_REPLAY_PAGE=%d: must be at least 1", c.ReplayPage)
	}
	if c.TopicBuffer < 1 {
		r.Fail("PRISM_SSE_TOPIC_BUFFER=%d: must be at least 1", c.TopicBuffer)
	}
	return c.withDefaults()
}

// withDefaults fills zero (or invalid) fields with the defaults.
func (c Config) withDefaults() Config {
	if c.ClientBuffer < 1 {
		c.ClientBuffer = DefaultClientBuffer
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Resync <= 0 {
		c.Resync = DefaultResync
	}
	if c.ReplayPage < 1 {
		c.ReplayPage = DefaultReplayPage
	}
	if c.TopicBuffer < 1 {
		c.TopicBuffer = DefaultTopicBuffer
	}
	if c.RedisTimeout <= 0 {
		c.RedisTimeout = defaultRedisTimeout
	}
	return c
}
