package queue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
)

// TestStatsAndList: depth, poison depth and the front message's age, for one
// queue and in the account's listing (which leaves out the -poison twins).
func TestStatsAndList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, queue.Stats{Queue: q.Name()}, st, "an empty queue")

	before := time.Now().Add(-time.Second)
	for i := range 3 {
		require.NoError(t, q.Send(ctx, fmt.Appendf(nil, `{"i":%d}`, i)))
	}
	msgs, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.NoError(t, q.MoveToPoison(ctx, msgs[0], "test"))
	st, err = q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Depth)
	assert.Equal(t, 1, st.Poison)
	assert.WithinRange(t, st.OldestAt, before, time.Now().Add(time.Second))

	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	all, err := queue.List(ctx, acc)
	require.NoError(t, err)
	var found bool
	for _, s := range all {
		assert.NotContains(t, s.Queue, "-poison")
		if s.Queue == q.Name() {
			found = true
			assert.Equal(t, 2, s.Depth)
			assert.Equal(t, 1, s.Poison)
		}
	}
	assert.True(t, found, "the listing has the queue")
}

// TestRedriveOneMovesThatMessageOnly: of three parked messages, the one
// named goes back to the queue with its original body; the other two stay
// parked and visible (PeekParked sees them at once), and an unknown id
// moves nothing.
func TestRedriveOneMovesThatMessageOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := newQueue(t, nil)
	for i := range 3 {
		require.NoError(t, q.Send(ctx, fmt.Appendf(nil, `{"i":%d}`, i)))
	}
	msgs, err := q.Receive(ctx, 32, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.NoError(t, q.MoveToPoison(ctx, m, "reason of "+string(m.Body)))
	}
	parked, err := q.PeekParked(ctx, 32)
	require.NoError(t, err)
	require.Len(t, parked, 3)
	for _, p := range parked {
		assert.NotEmpty(t, p.ID)
		assert.False(t, p.ParkedAt.IsZero())
		assert.Equal(t, int64(1), p.Record.DequeueCount)
		assert.Equal(t, "reason of "+string(p.Record.Body), p.Record.Reason)
	}
	target := parked[1]

	ok, err := q.RedriveOne(ctx, "no-such-id")
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = q.RedriveOne(ctx, target.ID)
	require.NoError(t, err)
	assert.True(t, ok)

	back, err := q.Receive(ctx, 32, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, back, 1)
	assert.JSONEq(t, string(target.Record.Body), string(back[0].Body))
	left, err := q.PeekParked(ctx, 32)
	require.NoError(t, err)
	require.Len(t, left, 2, "the others are parked and visible again")
	for _, p := range left {
		assert.NotEqual(t, target.ID, p.ID)
	}
	recs, err := q.PeekPoison(ctx, 32)
	require.NoError(t, err)
	assert.Len(t, recs, 2)
}
