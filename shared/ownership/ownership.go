// Package ownership shares a fixed set of named resources (command shards)
// out among the live replicas of a service, the way Azure's Event Hubs
// processor shares partitions: each resource is a blob in the container
// prism-ownership, a replica owns a resource while it holds the blob's lease,
// and every replica runs the same balancing round every few seconds.
//
// A round: refresh this replica's presence blob, list the container (one
// request: every lease's state, owner and every replica's last sign of life),
// work out the fair share of the live replicas (N/R, some one more), give up
// what is over it (stop the work, drain, release the lease) and acquire free
// resources while under it. A replica that stops gracefully releases its
// leases at once; one that dies loses them when they expire, within one lease
// period, and the others take them at their next round.
//
// Leases make two owners of one resource at once impossible: Azure grants a
// lease to one holder at a time, and a holder stops its work before its lease
// can have expired by its own clock (the time it sent the last successful
// renewal plus the lease duration, less a margin), renewed or not. Ownership
// is an optimisation (cache affinity, one consumer per shard), never what
// correctness rests on: optimistic concurrency still guards every append.
package ownership

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Container holds one lease blob per resource and one presence blob per
// replica (DESIGN.md "Command shards").
const Container = "prism-ownership"

// presencePrefix starts the names of the replicas' presence blobs; resource
// names never start with it.
const presencePrefix = "replicas/"

// ownerKey is the blob metadata key naming a resource's owner.
const ownerKey = "owner"

// Azure's limits for a fixed-duration blob lease.
const (
	MinLease = 15 * time.Second
	MaxLease = 60 * time.Second
)

// Work runs while this replica owns name. It must return soon after ctx is
// cancelled (a queue.Consumer's Run stops receiving and drains in-flight
// messages); the lease is renewed until it does.
type Work func(ctx context.Context, name string)

// Config shapes a Balancer. Zero fields take the defaults.
type Config struct {
	// Names are the resources to share out, e.g. commands-0 … commands-15.
	Names []string
	// Container holds the lease blobs (default Container; tests use their
	// own so they do not see each other's replicas).
	Container string
	// Owner names this replica in the blobs, the logs and prismctl
	// (default: DefaultOwner()). Two live replicas must not share it.
	Owner string
	// Lease is the lease duration, 15s to 60s (default 15s): a dead
	// replica's resources are taken over within about one Lease.
	Lease time.Duration
	// Interval is the time between balancing rounds (default Lease/5).
	Interval time.Duration
	// Work runs for every resource this replica owns.
	Work Work
	// OnChange, when set, is called when this replica starts owning name
	// (before its Work starts; at is when the lease was granted) and when it
	// stops (when its Work is told to stop, before the drain; at is when the
	// Work's context became done: then, or when the lease may have expired
	// if that was earlier). Tests use it to check that owners never overlap.
	OnChange func(name string, owned bool, at time.Time)
	// Logger receives the balancer's logs (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if len(c.Names) == 0 {
		return fmt.Errorf("ownership: no resources to share")
	}
	seen := map[string]bool{}
	for _, n := range c.Names {
		if n == "" || strings.HasPrefix(n, presencePrefix) || seen[n] {
			return fmt.Errorf("ownership: resource name %q is empty, reserved or repeated", n)
		}
		seen[n] = true
	}
	if c.Container == "" {
		c.Container = Container
	}
	if c.Owner == "" {
		c.Owner = DefaultOwner()
	}
	c.Owner = sanitize(c.Owner)
	if c.Lease == 0 {
		c.Lease = MinLease
	}
	if c.Lease < MinLease || c.Lease > MaxLease {
		return fmt.Errorf("ownership: a lease of %s is outside Azure's %s-%s", c.Lease, MinLease, MaxLease)
	}
	c.Lease = c.Lease.Truncate(time.Second)
	if c.Interval <= 0 {
		c.Interval = c.Lease / 5
	}
	if c.Work == nil {
		return fmt.Errorf("ownership: no Work")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// margin is how long before its lease could expire a holder stops its work:
// scheduling delays and clock drift fit in it.
func (c *Config) margin() time.Duration { return c.Lease / 7 }

// DefaultOwner names this process: host name and process id. In Azure
// Container Apps the host name is the replica's name.
func DefaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// sanitize keeps an owner name to what blob names and metadata (HTTP header
// values) carry safely: letters, digits, '-', '_' and '.'.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() > 200 {
		return b.String()[:200]
	}
	return b.String()
}
