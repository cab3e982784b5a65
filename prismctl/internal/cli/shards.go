package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prism-es/prism/shared/ownership"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
)

// shardRow is one command queue in `prismctl shards`.
type shardRow struct {
	Queue   string          `json:"queue"`
	Account string          `json:"account"`
	Owner   string          `json:"owner,omitempty"`
	Lease   ownership.State `json:"lease"`
	Since   time.Time       `json:"since,omitzero"`
	Backlog int             `json:"backlog"`
	Poison  int             `json:"poison"`
	// NoQueue: the queue does not exist yet (the services create it).
	NoQueue bool `json:"noQueue,omitempty"`
}

// replicaRow is one domain-service replica in `prismctl shards`.
type replicaRow struct {
	Owner    string    `json:"owner"`
	Shards   int       `json:"shards"`
	LastSeen time.Time `json:"lastSeen"`
}

func runShards(ctx context.Context, in *invocation, args []string) error {
	s := spec{about: `
Show who serves the commands: for each command shard (commands-0 … -N-1, or the
single commands queue, and deadlines where delayed commands wait until due) its
account, its owner (the domain-service replica holding its lease in the blob
container ` + ownership.Container + `; none: it waits for a replica to take it,
within one lease period), the lease's state, its backlog (messages waiting or
in flight) and its poison count; then every replica seen lately with the shards
it owns.` + storageAbout,
		examples: `prismctl shards
prismctl shards --json
PRISM_STORAGE_ACCOUNTS="$CONN1,$CONN2" prismctl shards`}
	if _, err := in.parse(s, args); err != nil {
		return err
	}
	commands, accs, err := in.commandQueues()
	if err != nil {
		return err
	}
	names := commands.Names()
	claims, replicas, err := ownership.Read(ctx, accs.Primary(), names)
	if storage.HasStatus(err, http.StatusNotFound) {
		claims, replicas, err = make([]ownership.Claim, len(names)), nil, nil // no replica has started yet
		for i, n := range names {
			claims[i] = ownership.Claim{Name: n, State: ownership.Missing}
		}
	}
	if err != nil {
		return hint(err, storageHint)
	}
	live := map[string]bool{}
	window := 2 * ownership.MaxLease
	for _, r := range replicas {
		if time.Since(r.LastSeen) < window {
			live[r.Owner] = true
		}
	}
	rows := make([]shardRow, 0, len(names))
	perOwner := map[string]int{}
	for i, name := range names {
		st, err := commands.Named(name).Stats(ctx)
		noQueue := queue.IsNotFound(err)
		if err != nil && !noQueue {
			return storageError(err, name)
		}
		acc := accs.Primary()
		if i < len(commands.Shards()) {
			acc = accs.ForShard(i)
		}
		c := claims[i]
		row := shardRow{Queue: name, Account: acc.Name(), Lease: c.State, Since: c.Since, Backlog: st.Depth, Poison: st.Poison, NoQueue: noQueue}
		if c.State == ownership.Leased {
			row.Owner = c.Owner
			perOwner[c.Owner]++
		}
		rows = append(rows, row)
	}
	reps := []replicaRow{}
	for _, r := range replicas {
		if live[r.Owner] {
			reps = append(reps, replicaRow{Owner: r.Owner, Shards: perOwner[r.Owner], LastSeen: r.LastSeen})
		}
	}
	if in.g.json {
		return in.printJSON(struct {
			Shards   []shardRow   `json:"shards"`
			Replicas []replicaRow `json:"replicas"`
		}{rows, reps})
	}
	t := newTable(in.Stdout, "SHARD", "OWNER", "LEASE", "BACKLOG", "POISON", "ACCOUNT")
	for _, r := range rows {
		owner := r.Owner
		if owner == "" {
			owner = "-"
		}
		backlog, poison := fmt.Sprint(r.Backlog), fmt.Sprint(r.Poison)
		if r.NoQueue {
			backlog, poison = "no queue", "-"
		}
		t.row(r.Queue, owner, r.Lease, backlog, poison, r.Account)
	}
	t.flush()
	fmt.Fprintln(in.Stdout)
	if len(reps) == 0 {
		fmt.Fprintln(in.Stdout, "no domain-service replica seen lately (is one running, with PRISM_SHARD_OWNERSHIP=leases?)")
		return nil
	}
	t = newTable(in.Stdout, "REPLICA", "SHARDS", "LAST SEEN")
	for _, r := range reps {
		t.row(r.Owner, r.Shards, time.Since(r.LastSeen).Round(time.Second).String()+" ago")
	}
	t.flush()
	return nil
}
