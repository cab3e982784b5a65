package notices_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

func item(stream string, v int) notices.Item {
	return notices.Item{Stream: stream, Type: "cart.updated", Data: json.RawMessage(fmt.Sprintf(`{"version":%d}`, v))}
}

func version(t *testing.T, n notices.Notice) int {
	var d struct{ Version int }
	require.NoError(t, json.Unmarshal(n.Data, &d))
	return d.Version
}

func TestCompareIDs(t *testing.T) {
	assert.Equal(t, -1, notices.CompareIDs("1-0", "1-1"))
	assert.Equal(t, -1, notices.CompareIDs("9-5", "10-0"), "numeric, not lexical")
	assert.Equal(t, 0, notices.CompareIDs("10-0", "10-0"))
	assert.Equal(t, 1, notices.CompareIDs("10-1", "10-0"))
	assert.Equal(t, -1, notices.CompareIDs("", "0-1"))
	assert.True(t, notices.ValidID("1700000000000-3"))
	assert.False(t, notices.ValidID("abc"))
	assert.False(t, notices.ValidID("1-"))
}

func TestPublishAndResumeAfter(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{})
	rd := notices.NewReader(rdb)
	stream := notices.CartStream(uuid.NewString())

	var ids []string
	for v := 1; v <= 10; v++ {
		got, err := pub.Publish(ctx, item(stream, v))
		require.NoError(t, err)
		ids = append(ids, got...)
	}
	last, err := rd.Last(ctx, stream)
	require.NoError(t, err)
	assert.Equal(t, ids[9], last)

	after, reset, err := rd.After(ctx, stream, ids[4], 100)
	require.NoError(t, err)
	assert.False(t, reset)
	require.Len(t, after, 5, "exactly the notices after the id: no duplicate, no gap")
	for i, n := range after {
		assert.Equal(t, ids[5+i], n.ID)
		assert.Equal(t, 6+i, version(t, n))
		assert.Equal(t, ids[4+i], n.PrevID)
		assert.Equal(t, "cart.updated", n.Type)
	}

	head, err := rd.Head(ctx, stream, 2)
	require.NoError(t, err)
	require.Len(t, head, 2)
	assert.Equal(t, []string{ids[0], ids[1]}, []string{head[0].ID, head[1].ID})
	assert.Equal(t, "", head[0].PrevID)
	assert.Equal(t, ids[0], head[1].PrevID)

	tail, err := rd.Tail(ctx, stream, 3)
	require.NoError(t, err)
	require.Len(t, tail, 3)
	assert.Equal(t, []string{ids[7], ids[8], ids[9]}, []string{tail[0].ID, tail[1].ID, tail[2].ID})
	assert.Equal(t, ids[8], tail[2].PrevID)

	two, reset, err := rd.After(ctx, stream, ids[4], 2)
	require.NoError(t, err)
	require.False(t, reset)
	require.Len(t, two, 2, "the limit counts what follows the id, not the id itself")
	assert.Equal(t, ids[5], two[0].ID)

	none, reset, err := rd.After(ctx, stream, ids[9], 100)
	require.NoError(t, err)
	assert.False(t, reset)
	assert.Empty(t, none)

	for _, bad := range []string{"garbage", "99999999999999-0"} {
		_, reset, err = rd.After(ctx, stream, bad, 100)
		require.NoError(t, err)
		assert.True(t, reset, "id %q cannot be resumed", bad)
	}
	_, reset, err = rd.After(ctx, notices.CartStream("never-published"), ids[0], 100)
	require.NoError(t, err)
	assert.True(t, reset, "a history that does not exist cannot resume")
}

// TestPublishReloadsAForgottenScript: after Redis forgets its scripts (a
// restart, SCRIPT FLUSH) a publish loads the script again and publishes each
// item once.
func TestPublishReloadsAForgottenScript(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{})
	stream := notices.CartStream(uuid.NewString())
	first, err := pub.Publish(ctx, item(stream, 1))
	require.NoError(t, err)
	require.NoError(t, rdb.ScriptFlush(ctx).Err())

	ids, err := pub.Publish(ctx, item(stream, 2), item(stream, 3))
	require.NoError(t, err)
	require.Len(t, ids, 2)
	after, reset, err := notices.NewReader(rdb).After(ctx, stream, first[0], 100)
	require.NoError(t, err)
	require.False(t, reset)
	require.Len(t, after, 2, "each item once")
	assert.Equal(t, ids, []string{after[0].ID, after[1].ID})
	assert.Equal(t, first[0], after[0].PrevID)
}

// TestAnIdInRangeButNotInTheHistoryAsksForReset: an id between two entries
// that is not one of them (another stream's, made up) cannot be resumed from.
func TestAnIdInRangeButNotInTheHistoryAsksForReset(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{})
	stream := notices.CartStream(uuid.NewString())
	a, err := pub.Publish(ctx, item(stream, 1))
	require.NoError(t, err)
	ms, err := strconv.ParseInt(strings.SplitN(a[0], "-", 2)[0], 10, 64)
	require.NoError(t, err)
	between := fmt.Sprintf("%d-0", ms+1)
	// The next entry must come after the made-up id: wait out the clock.
	require.Eventually(t, func() bool { return time.Now().UnixMilli() > ms+2 }, time.Second, time.Millisecond)
	b, err := pub.Publish(ctx, item(stream, 2))
	require.NoError(t, err)
	require.Equal(t, 1, notices.CompareIDs(b[0], between))

	_, reset, err := notices.NewReader(rdb).After(ctx, stream, between, 100)
	require.NoError(t, err)
	assert.True(t, reset)
}

func TestTrimmedHistoryAsksForReset(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{MaxLen: 10})
	rd := notices.NewReader(rdb)
	stream := notices.CartStream(uuid.NewString())
	var ids []string
	for v := 1; v <= 500; v++ {
		got, err := pub.Publish(ctx, item(stream, v))
		require.NoError(t, err)
		ids = append(ids, got...)
	}
	_, reset, err := rd.After(ctx, stream, ids[0], 1000)
	require.NoError(t, err)
	assert.True(t, reset, "the first notice was trimmed long ago")

	tail, reset, err := rd.After(ctx, stream, ids[495], 1000)
	require.NoError(t, err)
	assert.False(t, reset)
	assert.Len(t, tail, 4)
}

func TestSubscriberDeliversLiveWithPredecessor(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{})
	sub := notices.NewSubscriber(rdb)
	defer sub.Close()
	stream := notices.UserStream(uuid.NewString())
	other := notices.UserStream(uuid.NewString())

	l, err := sub.Listen(ctx, stream, 16)
	require.NoError(t, err)
	ids, err := pub.Publish(ctx, item(stream, 1), item(other, 1), item(stream, 2))
	require.NoError(t, err)

	first := receive(t, l)
	second := receive(t, l)
	assert.Equal(t, ids[0], first.ID)
	assert.Equal(t, "", first.PrevID)
	assert.Equal(t, ids[2], second.ID)
	assert.Equal(t, ids[0], second.PrevID, "live notices chain to their predecessor")
	assert.Equal(t, stream, second.Stream)
	assert.Equal(t, 2, version(t, second))

	assert.Equal(t, 1, sub.Streams())
	l.Close()
	l.Close()
	assert.Equal(t, 0, sub.Streams(), "the last listener leaving unsubscribes")
}

func TestStalledListenerIsDroppedWithoutDelayingOthers(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{})
	sub := notices.NewSubscriber(rdb)
	defer sub.Close()
	stream := notices.ProductsStream + uuid.NewString()
	stalled, err := sub.Listen(ctx, stream, 2)
	require.NoError(t, err)
	healthy, err := sub.Listen(ctx, stream, 100)
	require.NoError(t, err)
	wake, err := sub.Wakeups(ctx, stream)
	require.NoError(t, err)

	for v := 1; v <= 20; v++ {
		_, err := pub.Publish(ctx, item(stream, v))
		require.NoError(t, err)
	}
	for v := 1; v <= 20; v++ {
		assert.Equal(t, v, version(t, receive(t, healthy)))
	}
	require.Eventually(t, stalled.Dropped, 5*time.Second, 5*time.Millisecond)
	n := 0
	for range stalled.C() { // drains the two buffered notices, then sees the close
		n++
	}
	assert.Equal(t, 2, n)
	assert.False(t, wake.Dropped(), "wake-up listeners coalesce instead of dropping")
	select {
	case <-wake.C():
	default:
		t.Fatal("no wake-up signal")
	}
}

func TestSubscriberResubscribesAfterRedisRestart(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	sub := notices.NewSubscriber(rdb)
	defer sub.Close()
	stream := notices.OrderStream(uuid.NewString())
	l, err := sub.Listen(ctx, stream, 100)
	require.NoError(t, err)

	env.StopRedis()
	require.NoError(t, env.StartRedis())

	pub := notices.NewPublisher(rdb, notices.Config{})
	// go-redis reconnects and resubscribes on its own; keep publishing until
	// a notice arrives live.
	deadline := time.Now().Add(15 * time.Second)
	for v := 1; ; v++ {
		require.True(t, time.Now().Before(deadline), "no live notice after the restart")
		_, _ = pub.Publish(ctx, item(stream, v))
		select {
		case n, ok := <-l.C():
			require.True(t, ok)
			assert.Equal(t, stream, n.Stream)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func receive(t *testing.T, l *notices.Listener) notices.Notice {
	t.Helper()
	select {
	case n, ok := <-l.C():
		require.True(t, ok, "listener closed")
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notice within 5s")
	}
	return notices.Notice{}
}
