package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/shard"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

func commandBody(t *testing.T, aggType, id string) []byte {
	t.Helper()
	b, err := json.Marshal(envelope.Command{CommandID: id + "-cmd", Type: "Touch", AggregateType: aggType, AggregateID: id, Payload: json.RawMessage(`{}`),
		Metadata: envelope.CommandMetadata{CorrelationID: "corr-" + id, UserID: "tester", IssuedAt: time.Now().UTC()}})
	require.NoError(t, err)
	return b
}

// TestCommandsRouteByStreamAcrossAccounts: four shards over two accounts
// (two Azurites): every command lands on the shard of its stream, in the
// account of that shard (k mod 2); a delayed one waits on the primary's
// deadlines queue.
func TestCommandsRouteByStreamAcrossAccounts(t *testing.T) {
	two, err := testenv.StartAccounts(2)
	require.NoError(t, err)
	t.Cleanup(two.Stop)
	accs, err := storage.ConnectAll(two.Accounts, "")
	require.NoError(t, err)
	ctx := context.Background()
	base := testenv.QueueName("cmds")
	cmds := queue.OpenCommands(accs, base, 4, nil)
	require.NoError(t, cmds.Ensure(ctx))
	assert.Equal(t, []string{base + "-0", base + "-1", base + "-2", base + "-3", "deadlines"}, cmds.Names())

	for k, q := range cmds.Shards() {
		_, err := queue.Open(accs[k%2], q.Name(), nil).Depth(ctx)
		assert.NoError(t, err, "%s lives in account %d", q.Name(), k%2)
		_, err = queue.Open(accs[(k+1)%2], q.Name(), nil).Depth(ctx)
		assert.True(t, queue.IsNotFound(err), "%s is not in account %d: %v", q.Name(), (k+1)%2, err)
	}

	sent := map[string]int{} // stream → shard
	for i := range 40 {
		id := fmt.Sprintf("c%03d", i)
		require.NoError(t, cmds.Send(ctx, commandBody(t, "cart", id)))
		sent["cart-"+id] = shard.Of("cart-"+id, 4)
	}
	got := 0
	for k, q := range cmds.Shards() {
		for {
			msgs, err := q.Receive(ctx, 32, 30*time.Second)
			require.NoError(t, err)
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				c, err := envelope.DecodeCommand(m.Body)
				require.NoError(t, err)
				assert.Equal(t, sent[c.StreamID()], k, "%s is on the shard of its stream", c.StreamID())
				assert.Equal(t, k, shard.Of(c.StreamID(), 4))
				require.NoError(t, q.Delete(ctx, m))
				got++
			}
		}
	}
	assert.Equal(t, 40, got)

	require.NoError(t, cmds.Send(ctx, commandBody(t, "checkout", "o-1"), queue.WithDelay(time.Second)))
	d, err := cmds.Deadlines().Depth(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, d, "a delayed command waits on the deadlines queue")
	for _, q := range cmds.Shards() {
		d, err := q.Depth(ctx)
		require.NoError(t, err)
		assert.Zero(t, d, "and not on a shard, where KEDA would count it")
	}
	require.Eventually(t, func() bool {
		due, err := cmds.Deadlines().Receive(ctx, 1, 30*time.Second)
		return err == nil && len(due) == 1
	}, 10*time.Second, 50*time.Millisecond, "the delayed command comes due")

	err = cmds.Send(ctx, []byte(`{"hello":"world"}`))
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "%v", err)
}

func TestOneShardIsTheSingleQueue(t *testing.T) {
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	base := testenv.QueueName("single")
	cmds := queue.OpenCommands(acc, base, 1, nil)
	assert.Equal(t, []string{base, "deadlines"}, cmds.Names())
	require.NoError(t, cmds.Ensure(context.Background()))
	require.NoError(t, cmds.Send(context.Background(), commandBody(t, "cart", "x")))
	d, err := queue.Open(acc, base, nil).Depth(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, d)
	assert.Same(t, cmds.Named(base), cmds.For("cart-anything"))
	assert.Nil(t, cmds.Named("nope"))
}
