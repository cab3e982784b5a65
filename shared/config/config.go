// Package config reads service configuration from the environment. Every
// setting has a default that works against the local stack (DESIGN.md
// "Configuration and ports"), so `make up` needs no environment at all.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/storage"
)

// Reader reads typed settings and collects every problem, so a service
// reports all bad settings at once.
type Reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// FromEnv returns a Reader over the process environment.
func FromEnv() *Reader { return &Reader{lookup: os.LookupEnv} }

// FromMap returns a Reader over m (for tests).
func FromMap(m map[string]string) *Reader {
	return &Reader{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func (r *Reader) raw(key string) (string, bool) {
	v, ok := r.lookup(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// String returns the setting or def.
func (r *Reader) String(key, def string) string {
	if v, ok := r.raw(key); ok {
		return v
	}
	return def
}

// Int returns the setting or def; a non-integer is an error.
func (r *Reader) Int(key string, def int) int {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: not an integer", key, v))
		return def
	}
	return n
}

// Duration returns the setting (Go syntax, e.g. "10s") or def.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: not a duration (e.g. 10s, 500ms)", key, v))
		return def
	}
	return d
}

// Bool returns the setting (true/false/1/0) or def.
func (r *Reader) Bool(key string, def bool) bool {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: not a boolean", key, v))
		return def
	}
	return b
}

// Durations returns the comma-separated list of durations (e.g.
// "1m,5m,30m") or def; each must be positive.
func (r *Reader) Durations(key string, def []time.Duration) []time.Duration {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	var out []time.Duration
	for _, p := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || d <= 0 {
			r.errs = append(r.errs, fmt.Errorf("%s=%q: want positive durations separated by commas (e.g. 1m,5m,30m)", key, v))
			return def
		}
		out = append(out, d)
	}
	return out
}

// List returns the comma-separated setting or def.
func (r *Reader) List(key string, def []string) []string {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Fail records a problem found while validating settings.
func (r *Reader) Fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// Err returns every problem found, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Common is what every Prism service reads.
type Common struct {
	// Service is the service's name, in logs and metrics.
	Service string
	// HTTPAddr is where /healthz, /readyz, /metrics (and the API) listen:
	// PRISM_HTTP_ADDR, by default the port on loopback only (the local stack
	// runs in dev mode, which hands out tokens; containers and Azure set
	// ":<port>").
	HTTPAddr string
	// StorageConnectionString is AZURE_STORAGE_CONNECTION_STRING (default: local Azurite).
	StorageConnectionString string
	// StorageAuth is PRISM_STORAGE_AUTH: "connection-string" (the default) or
	// "identity" (Entra ID for StorageAccountName; no key needed).
	StorageAuth string
	// StorageAccountName is AZURE_STORAGE_ACCOUNT_NAME, used with identity auth.
	StorageAccountName string
	// StorageClientID is AZURE_CLIENT_ID: the user-assigned managed identity
	// identity auth uses ("": DefaultAzureCredential).
	StorageClientID string
	// RedisURL is REDIS_URL (default: local redis-server).
	RedisURL string
	// LogLevel is PRISM_LOG_LEVEL: debug, info, warn or error.
	LogLevel string
	// ShutdownTimeout bounds graceful shutdown (PRISM_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// RetrySchedule is PRISM_RETRY_SCHEDULE: the delays before each
	// redelivery of a message whose handler failed, then the poison queue
	// (empty: the queue consumer's default, 1m,5m,30m).
	RetrySchedule []time.Duration
	// OutageHold is PRISM_OUTAGE_HOLD: how long a message whose handler
	// finds storage or Redis unavailable is kept and retried in process
	// before it is released (default 5m).
	OutageHold time.Duration
	// Pprof is PRISM_PPROF: serve Go's profiles on the ops port under
	// /debug/pprof/ (off by default; make profile turns it on).
	Pprof bool
	// BatchSends is PRISM_BATCH_SENDS: concurrent sends to one queue share
	// a batch message (on by default). Consumers read batch and plain
	// messages alike; turn it off while replicas that predate batch
	// messages still consume (a rolling upgrade), or to measure without it.
	BatchSends bool
	// ReceiveLinger is PRISM_RECEIVE_LINGER: the longest a consumer of a
	// busy queue waits after a partial batch so that its next receive takes
	// a batch (default 10ms; 0: never).
	ReceiveLinger time.Duration
	// StorageAccounts is PRISM_STORAGE_ACCOUNTS: every storage account the
	// streams are spread over, the primary first, comma-separated; each a
	// connection string or (Entra ID) an account URL or name. Empty: the one
	// account of the settings above. When set it replaces them.
	StorageAccounts []string
	// CommandShards is PRISM_COMMAND_SHARDS: how many queues carry commands
	// (CommandsQueue-0 … -(N-1); 1 keeps the single CommandsQueue). A
	// multiple of the number of accounts, the same on every service.
	CommandShards int
	// Tables and queues by role. CommandsQueue names the command queues'
	// family (PRISM_COMMANDS_QUEUE, "commands").
	EventsTable, SnapshotsTable, CommandsQueue string
}

// DefaultCommandShards leaves headroom: 16 queues carry ~32,000 commands/s
// (Azure's ~2,000 messages/s per queue) and let 16 replicas each own one.
const DefaultCommandShards = 16

// MaxCommandShards bounds PRISM_COMMAND_SHARDS (each shard is a queue, a
// lease and, in Azure, a KEDA rule).
const MaxCommandShards = 1024

// LoadCommon reads the common settings of service, listening on defaultPort.
func LoadCommon(r *Reader, service string, defaultPort int) Common {
	c := Common{
		Service:                 service,
		HTTPAddr:                r.String("PRISM_HTTP_ADDR", fmt.Sprintf("127.0.0.1:%d", defaultPort)),
		StorageConnectionString: r.String("AZURE_STORAGE_CONNECTION_STRING", storage.AzuriteConnectionString),
		StorageAuth:             r.String("PRISM_STORAGE_AUTH", StorageAuthConnectionString),
		StorageAccountName:      r.String("AZURE_STORAGE_ACCOUNT_NAME", ""),
		StorageClientID:         r.String("AZURE_CLIENT_ID", ""),
		RedisURL:                r.String("REDIS_URL", redisconn.DefaultURL),
		LogLevel:                r.String("PRISM_LOG_LEVEL", "info"),
		ShutdownTimeout:         r.Duration("PRISM_SHUTDOWN_TIMEOUT", 25*time.Second),
		RetrySchedule:           r.Durations("PRISM_RETRY_SCHEDULE", nil),
		OutageHold:              r.Duration("PRISM_OUTAGE_HOLD", 5*time.Minute),
		Pprof:                   r.Bool("PRISM_PPROF", false),
		BatchSends:              r.Bool("PRISM_BATCH_SENDS", true),
		ReceiveLinger:           r.Duration("PRISM_RECEIVE_LINGER", 10*time.Millisecond),
		EventsTable:             r.String("PRISM_EVENTS_TABLE", "events"),
		SnapshotsTable:          r.String("PRISM_SNAPSHOTS_TABLE", "snapshots"),
		CommandsQueue:           r.String("PRISM_COMMANDS_QUEUE", "commands"),
		StorageAccounts:         r.List("PRISM_STORAGE_ACCOUNTS", nil),
		CommandShards:           r.Int("PRISM_COMMAND_SHARDS", DefaultCommandShards),
	}
	accounts := max(len(c.StorageAccounts), 1)
	switch {
	case c.CommandShards < 1 || c.CommandShards > MaxCommandShards:
		r.Fail("PRISM_COMMAND_SHARDS=%d: use 1 to %d", c.CommandShards, MaxCommandShards)
	case c.CommandShards%accounts != 0:
		r.Fail("PRISM_COMMAND_SHARDS=%d is not a multiple of the %d storage accounts of PRISM_STORAGE_ACCOUNTS: each shard's queue must live in the account of its streams", c.CommandShards, accounts)
	}
	switch {
	case c.StorageAuth == StorageAuthIdentity && c.StorageAccountName == "":
		r.Fail("PRISM_STORAGE_AUTH=identity needs AZURE_STORAGE_ACCOUNT_NAME")
	case c.StorageAuth != StorageAuthIdentity && c.StorageAuth != StorageAuthConnectionString:
		r.Fail("PRISM_STORAGE_AUTH=%q: use %q or %q", c.StorageAuth, StorageAuthConnectionString, StorageAuthIdentity)
	}
	if strings.Contains(strings.ToLower(c.StorageConnectionString), "usedevelopmentstorage=true") {
		r.Fail("AZURE_STORAGE_CONNECTION_STRING: UseDevelopmentStorage=true is not understood by the Go SDK; spell the Azurite account out (leave it unset for the local default)")
	}
	return c
}

// How services authenticate to storage (PRISM_STORAGE_AUTH).
const (
	StorageAuthConnectionString = "connection-string"
	StorageAuthIdentity         = "identity"
)

// EventQueue names the queue of an event subscriber ("readmodel" → "events-readmodel").
func EventQueue(subscriber string) string { return "events-" + subscriber }

// Subscription is an event subscriber and the events it wants. Storage
// Queues neither fan out nor filter, so domain-service sends each event to
// the queue of every subscriber that wants it, and to no other.
type Subscription struct {
	// Name names the subscriber; its queue is EventQueue(Name).
	Name string
	// AggregateTypes it wants every event of.
	AggregateTypes []string
	// EventTypes it wants besides those.
	EventTypes []string
}

// Wants reports whether the subscriber wants events of this aggregate and
// event type. A subscription listing nothing wants everything.
func (s Subscription) Wants(aggregateType, eventType string) bool {
	if len(s.AggregateTypes) == 0 && len(s.EventTypes) == 0 {
		return true
	}
	for _, a := range s.AggregateTypes {
		if a == aggregateType {
			return true
		}
	}
	for _, e := range s.EventTypes {
		if e == eventType {
			return true
		}
	}
	return false
}

// Subscriptions are the system's event subscribers. Each subscriber keeps a
// test that its list matches what it handles.
var Subscriptions = []Subscription{
	{Name: "readmodel", AggregateTypes: []string{"cart", "product", "order"}},
	{Name: "saga", EventTypes: []string{
		"OrderPlaced", "OrderStockReserved", "OrderPaid", "OrderConfirmed", "OrderCancelled", "OrderShipped",
		"StockReserved", "StockReservationFailed", "PaymentCharged", "PaymentDeclined", "PaymentRefunded",
	}},
	{Name: "notifications", EventTypes: []string{"OrderConfirmed", "OrderCancelled", "OrderShipped", "OrderDelivered", "LowStockAlert"}},
}

// Subscribers are the names of Subscriptions.
var Subscribers = func() []string {
	out := make([]string, len(Subscriptions))
	for i, s := range Subscriptions {
		out[i] = s.Name
	}
	return out
}()

// SubscriptionNamed returns the known subscription of that name, or one
// that wants every event for a name nobody declared.
func SubscriptionNamed(name string) Subscription {
	for _, s := range Subscriptions {
		if s.Name == name {
			return s
		}
	}
	return Subscription{Name: name}
}

// ConnectStorage builds the storage clients the settings ask for: every
// account of PRISM_STORAGE_ACCOUNTS when it is set; else one account, by
// Entra ID for StorageAccountName with identity auth, or by the connection
// string. It does no I/O.
func (c Common) ConnectStorage() (storage.Accounts, error) {
	if len(c.StorageAccounts) > 0 {
		accs, err := storage.ConnectAll(c.StorageAccounts, c.StorageClientID)
		if err != nil {
			return nil, fmt.Errorf("PRISM_STORAGE_ACCOUNTS: %w", err)
		}
		return accs, nil
	}
	if c.StorageAuth == StorageAuthIdentity {
		acc, err := storage.ConnectWithIdentity(c.StorageAccountName, c.StorageClientID)
		if err != nil {
			return nil, err
		}
		return storage.Accounts{acc}, nil
	}
	acc, err := storage.Connect(c.StorageConnectionString)
	if err != nil {
		return nil, fmt.Errorf("AZURE_STORAGE_CONNECTION_STRING: %w", err)
	}
	return storage.Accounts{acc}, nil
}
