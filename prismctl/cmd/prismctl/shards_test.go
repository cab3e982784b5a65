package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/ownership"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// TestShardsShowsOwnersAndBacklog: a replica (the kit's balancer, as
// domain-service runs it) owns all four shards and the delayed queue; two
// commands wait on one shard. prismctl shards names the owner of each, the
// backlog and the replica.
func TestShardsShowsOwnersAndBacklog(t *testing.T) {
	ctx := context.Background()
	base := testenv.QueueName("cmds")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", env.ConnString)
	t.Setenv("PRISM_COMMAND_SHARDS", "4")
	t.Setenv("PRISM_COMMANDS_QUEUE", base)

	out, errOut, code := runArgs(t, "shards")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "no queue", "before any service created the queues")
	assert.Contains(t, out, "no domain-service replica seen lately")

	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	commands := queue.OpenCommands(acc, base, 4, nil)
	require.NoError(t, commands.Ensure(ctx))
	b, err := ownership.New(acc, ownership.Config{Names: commands.Names(), Owner: "replica-one",
		Work: func(ctx context.Context, _ string) { <-ctx.Done() }})
	require.NoError(t, err)
	bctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(bctx) }()
	t.Cleanup(func() { stop(); <-done })
	require.Eventually(t, func() bool { return len(b.Owned()) == 5 }, 10*time.Second, 20*time.Millisecond)

	for _, id := range []string{"one", "two"} {
		body, err := json.Marshal(envelope.Command{CommandID: "c-" + id, Type: "CreateCart", AggregateType: "cart", AggregateID: "busy",
			Payload: json.RawMessage(`{}`), Metadata: envelope.CommandMetadata{CorrelationID: "c", UserID: "u", IssuedAt: time.Now()}})
		require.NoError(t, err)
		require.NoError(t, commands.Send(ctx, body))
	}
	busy := commands.For("cart-busy").Name()

	out, errOut, code = runArgs(t, "shards", "--json")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Shards []struct {
			Queue, Owner, Lease string
			Backlog             int
		}
		Replicas []struct {
			Owner  string
			Shards int
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got.Shards, 5)
	for i, s := range got.Shards {
		assert.Equal(t, commands.Names()[i], s.Queue)
		assert.Equal(t, "replica-one", s.Owner, s.Queue)
		assert.Equal(t, "leased", s.Lease, s.Queue)
		want := 0
		if s.Queue == busy {
			want = 2
		}
		assert.Equal(t, want, s.Backlog, s.Queue)
	}
	require.Len(t, got.Replicas, 1)
	assert.Equal(t, "replica-one", got.Replicas[0].Owner)
	assert.Equal(t, 5, got.Replicas[0].Shards)

	out, errOut, code = runArgs(t, "shards")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "SHARD")
	assert.Contains(t, out, "deadlines")
	assert.Regexp(t, busy+`\s+replica-one\s+leased\s+2\s+0`, out)
	assert.Contains(t, out, "REPLICA")
}
