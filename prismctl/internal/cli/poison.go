package cli

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
)

// storageHint follows storage errors.
const storageHint = "is Azurite running (`make up`)? Otherwise set AZURE_STORAGE_CONNECTION_STRING to the storage account"

const storageAbout = `

It works on the storage accounts directly, through the kit's queue adapter:
PRISM_STORAGE_ACCOUNTS or AZURE_STORAGE_CONNECTION_STRING (and
PRISM_COMMAND_SHARDS), as the services read them, or local Azurite (the
` + "`make up`" + ` default) when unset.`

// queueName is the shape of a Storage Queue name (3-63 characters long).
var queueName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// storageSettings are the environment variables prismctl reads, as the
// services do, to find the storage accounts and the command shards.
var storageSettings = []string{"AZURE_STORAGE_CONNECTION_STRING", "PRISM_STORAGE_AUTH", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_CLIENT_ID",
	"PRISM_STORAGE_ACCOUNTS", "PRISM_COMMAND_SHARDS", "PRISM_COMMANDS_QUEUE"}

// storage reads the storage settings and connects to every account (no I/O yet).
func (in *invocation) storage() (config.Common, storage.Accounts, error) {
	m := map[string]string{}
	for _, name := range storageSettings {
		if v, ok := in.LookupEnv(name); ok {
			m[name] = v
		}
	}
	r := config.FromMap(m)
	common := config.LoadCommon(r, "prismctl", 0)
	if err := r.Err(); err != nil {
		return common, nil, err
	}
	accs, err := common.ConnectStorage()
	return common, accs, err
}

// commandQueues opens the command queues the settings describe.
func (in *invocation) commandQueues() (*queue.Commands, storage.Accounts, error) {
	common, accs, err := in.storage()
	if err != nil {
		return nil, nil, err
	}
	return queue.OpenCommands(accs, common.CommandsQueue, common.CommandShards, nil), accs, nil
}

// openQueue opens the named main queue in the account that holds it (a
// command shard in its own, any other queue in the primary); a "-poison"
// name means its main queue.
func (in *invocation) openQueue(name string) (*queue.Queue, error) {
	name = strings.TrimSuffix(name, "-poison")
	if len(name) < 3 || len(name) > 63 || !queueName.MatchString(name) {
		return nil, usagef(in.path, "%q is not a queue name (lowercase letters, digits and single hyphens, 3-63 characters)", name)
	}
	commands, accs, err := in.commandQueues()
	if err != nil {
		return nil, err
	}
	if q := commands.Named(name); q != nil {
		return q, nil
	}
	return queue.Open(accs.Primary(), name, nil), nil
}

// noQueueError says a queue does not exist.
type noQueueError struct{ queue string }

func (e *noQueueError) Error() string {
	return fmt.Sprintf("there is no queue %q (or %q) in this storage account; `prismctl poison list` lists them", e.queue, storage.PoisonQueue(e.queue))
}

// storageError explains a storage failure.
func storageError(err error, q string) error {
	if queue.IsNotFound(err) {
		return &noQueueError{queue: q}
	}
	return hint(err, storageHint)
}

func runPoisonList(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "[queue]", maxArgs: 1, about: `
With a queue name (e.g. commands, events-readmodel): show up to --limit (max 32)
messages of its poison queue without taking them: message id, when and after how
many deliveries it failed, why, and a preview of its body (--json: the whole
records, bodies included). Without one: list every queue with its depth and its
poison queue's depth.` + storageAbout,
		examples: `prismctl poison list
prismctl poison list commands
prismctl poison list events-readmodel --json`}
	limit := in.fs.Int("limit", queue.MaxBatch, "show at most this many messages (1-32)")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return in.queueOverview(ctx)
	}
	q, err := in.openQueue(pos[0])
	if err != nil {
		return err
	}
	depth, err := q.PoisonDepth(ctx)
	if err != nil {
		return storageError(err, q.Name())
	}
	recs, err := q.PeekPoison(ctx, *limit)
	if err != nil {
		return storageError(err, q.Name())
	}
	if in.g.json {
		if recs == nil {
			recs = []queue.PoisonRecord{}
		}
		return in.printJSON(struct {
			Queue    string               `json:"queue"`
			Depth    int                  `json:"depth"`
			Messages []queue.PoisonRecord `json:"messages"`
		}{storage.PoisonQueue(q.Name()), depth, recs})
	}
	if len(recs) == 0 {
		fmt.Fprintf(in.Stdout, "%s is empty\n", storage.PoisonQueue(q.Name()))
		return nil
	}
	fmt.Fprintf(in.Stdout, "%s: %d message(s), showing %d\n", storage.PoisonQueue(q.Name()), max(depth, len(recs)), len(recs))
	for _, r := range recs {
		failed := "-"
		if !r.FailedAt.IsZero() {
			failed = r.FailedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintln(in.Stdout)
		fields(in.Stdout,
			"message", r.MessageID,
			"failed", failed+" after "+strconv.FormatInt(r.DequeueCount, 10)+" deliveries",
			"reason", oneLine(r.Reason, 200),
			"body", oneLine(string(r.Original()), 120))
	}
	fmt.Fprintf(in.Stdout, "\nput them back with: prismctl poison redrive %s\n", q.Name())
	return nil
}

// queueOverview lists every queue of every account with its depth and
// poison depth.
func (in *invocation) queueOverview(ctx context.Context) error {
	_, accs, err := in.storage()
	if err != nil {
		return err
	}
	type row struct {
		queue.Stats
		Account string `json:"account"`
	}
	rows := []row{}
	for _, acc := range accs {
		stats, err := queue.List(ctx, acc)
		if err != nil {
			return hint(err, storageHint)
		}
		for _, st := range stats {
			rows = append(rows, row{st, acc.Name()})
		}
	}
	if in.g.json {
		return in.printJSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(in.Stdout, "no queues yet (the services create them at start-up)")
		return nil
	}
	header := []string{"QUEUE", "DEPTH", "POISON"}
	if len(accs) > 1 {
		header = append(header, "ACCOUNT")
	}
	t := newTable(in.Stdout, header...)
	for _, r := range rows {
		if len(accs) > 1 {
			t.row(r.Queue, r.Depth, r.Poison, r.Account)
		} else {
			t.row(r.Queue, r.Depth, r.Poison)
		}
	}
	t.flush()
	return nil
}

func runPoisonRedrive(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<queue>", minArgs: 1, maxArgs: 1, about: `
Move poisoned messages back to their queue (queue.Redrive): each original body
is sent to the main queue before its poison copy is deleted, so none is lost (a
crash in between may deliver one twice; every handler is idempotent). --limit
moves at most that many; by default, all of them. Fix the cause first, or they
come back.` + storageAbout,
		examples: `prismctl poison redrive commands
prismctl poison redrive events-readmodel --limit 1`}
	limit := in.fs.Int("limit", 0, "move at most this many (0: all)")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef(in.path, "--limit must be 0 (all) or more")
	}
	q, err := in.openQueue(pos[0])
	if err != nil {
		return err
	}
	moved, err := q.Redrive(ctx, *limit)
	if err != nil {
		if moved > 0 {
			in.note("moved %d message(s) before the error", moved)
		}
		return storageError(err, q.Name())
	}
	if in.g.json {
		return in.printJSON(map[string]any{"queue": q.Name(), "from": storage.PoisonQueue(q.Name()), "moved": moved})
	}
	_, err = fmt.Fprintf(in.Stdout, "moved %d message(s) from %s back to %s\n", moved, storage.PoisonQueue(q.Name()), q.Name())
	return err
}
