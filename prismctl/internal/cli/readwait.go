package cli

import (
	"time"

	"github.com/prism-es/prism/prismctl/internal/client"
)

// DefaultReadWait is how long a --min-version read may wait by default.
const DefaultReadWait = 5 * time.Second

// readWait holds the --min-version and --wait flags of a read-your-own-write read.
type readWait struct {
	minVersion *int64
	wait       *time.Duration
}

// readWaitFlags registers --min-version and --wait for a read of noun ("cart").
func (in *invocation) readWaitFlags(noun string) readWait {
	return readWait{
		minVersion: in.fs.Int64("min-version", 0, "wait until the "+noun+" reaches this `version`"),
		wait:       in.fs.Duration("wait", DefaultReadWait, "how long the server may wait for --min-version (max 10s)"),
	}
}

// options is the client request the flags ask for.
func (r readWait) options() client.ReadOptions {
	return client.ReadOptions{MinVersion: *r.minVersion, Wait: *r.wait}
}

// noteIfStale tells the user when the read model answered before reaching --min-version.
func (in *invocation) noteIfStale(r readWait, stale bool, at int64) {
	if stale {
		in.note("note: stale: the read model has not reached version %d yet (it is at %d)", *r.minVersion, at)
	}
}
