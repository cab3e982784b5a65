package notices_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
)

// TestHistoryIsBoundedByBytes: a history keeps about MaxBytes of notices
// (and always its newest), whatever MaxLen allows.
func TestHistoryIsBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{MaxBytes: 4096})
	rd := notices.NewReader(rdb)
	stream := notices.CartStream(uuid.NewString())
	pad := strings.Repeat("x", 400)
	var ids []string
	for v := 1; v <= 50; v++ {
		got, err := pub.Publish(ctx, notices.Item{Stream: stream, Type: "cart.updated", Data: json.RawMessage(fmt.Sprintf(`{"version":%d,"pad":%q}`, v, pad))})
		require.NoError(t, err)
		ids = append(ids, got...)
	}
	all, err := rd.Head(ctx, stream, 1000)
	require.NoError(t, err)
	held := 0
	for _, n := range all {
		held += len(n.Data)
	}
	assert.LessOrEqual(t, held, 4096, "about MaxBytes kept")
	assert.GreaterOrEqual(t, len(all), 7, "as many as fit")
	assert.Equal(t, ids[len(ids)-1], all[len(all)-1].ID, "the newest stays")
	_, reset, err := rd.After(ctx, stream, ids[0], 100)
	require.NoError(t, err)
	assert.True(t, reset, "the oldest were dropped: resuming from them resets")
	after, reset, err := rd.After(ctx, stream, all[0].ID, 100)
	require.NoError(t, err)
	assert.False(t, reset)
	assert.Len(t, after, len(all)-1)

	// One notice larger than the bound is still kept, alone.
	big := strings.Repeat("y", 8000)
	last, err := pub.Publish(ctx, notices.Item{Stream: stream, Type: "cart.updated", Data: json.RawMessage(`{"big":"` + big + `"}`)})
	require.NoError(t, err)
	all, err = rd.Head(ctx, stream, 1000)
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, last[0], all[0].ID)
}

// TestHistoryIsBoundedByAge: notices older than MaxAge are dropped at the
// next publish, and a history without a notice for MaxAge expires.
func TestHistoryIsBoundedByAge(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	const age = 300 * time.Millisecond
	pub := notices.NewPublisher(rdb, notices.Config{MaxAge: age})
	rd := notices.NewReader(rdb)
	stream := notices.CartStream(uuid.NewString())
	old, err := pub.Publish(ctx, item(stream, 1), item(stream, 2))
	require.NoError(t, err)
	pttl := rdb.PTTL(ctx, "nhist:"+stream).Val()
	assert.Greater(t, pttl, time.Duration(0))
	assert.LessOrEqual(t, pttl, age)

	// Past MaxAge (by Redis's clock, which names the ids), a new notice
	// drops the old ones.
	require.Eventually(t, func() bool {
		tm, err := rdb.Time(ctx).Result()
		return err == nil && notices.CompareIDs(fmt.Sprintf("%d-0", tm.Add(-age).UnixMilli()), old[1]) > 0
	}, 5*time.Second, 10*time.Millisecond)
	fresh, err := pub.Publish(ctx, item(stream, 3))
	require.NoError(t, err)
	all, err := rd.Head(ctx, stream, 100)
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, fresh[0], all[0].ID)
	_, reset, err := rd.After(ctx, stream, old[0], 100)
	require.NoError(t, err)
	assert.True(t, reset)

	// Nothing more: the history expires.
	require.Eventually(t, func() bool { return rdb.Exists(ctx, "nhist:"+stream).Val() == 0 }, 5*time.Second, 20*time.Millisecond)
	last, err := rd.Last(ctx, stream)
	require.NoError(t, err)
	assert.Empty(t, last)
}

// TestANoticeForSeveralAudiencesIsKeptOnce: a cart's change goes to the
// cart's stream and its owner's; the owner's history refers to the cart's
// entry, readers get the data either way, and live listeners of both get it
// at once, each with its own stream's ids.
func TestANoticeForSeveralAudiencesIsKeptOnce(t *testing.T) {
	ctx := context.Background()
	rdb := env.Redis(t)
	pub := notices.NewPublisher(rdb, notices.Config{})
	rd := notices.NewReader(rdb)
	sub := notices.NewSubscriber(rdb)
	defer sub.Close()
	cart, user := notices.CartStream(uuid.NewString()), notices.UserStream(uuid.NewString())
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	liveCart, err := sub.Listen(ctx, cart, 16)
	require.NoError(t, err)
	liveUser, err := sub.Listen(ctx, user, 16)
	require.NoError(t, err)

	own, err := pub.Publish(ctx, notices.Item{Stream: user, Type: "command.completed", Data: json.RawMessage(`{"commandId":"c0"}`)})
	require.NoError(t, err)
	doc := `{"cartId":"c","version":1,"items":[{"sku":"A","quantity":1}]}`
	ids, err := pub.Publish(ctx, notices.Item{Stream: cart, Type: "cart.updated", Data: json.RawMessage(doc), Traceparent: tp, Also: []string{user}})
	require.NoError(t, err)

	c := receive(t, liveCart)
	assert.Equal(t, ids[0], c.ID)
	assert.JSONEq(t, doc, string(c.Data))
	receive(t, liveUser) // command.completed
	u := receive(t, liveUser)
	assert.Equal(t, user, u.Stream)
	assert.Equal(t, own[0], u.PrevID, "the user's own chain of ids")
	assert.JSONEq(t, doc, string(u.Data), "live notices carry the data")
	assert.Equal(t, tp, u.Traceparent)

	after, reset, err := rd.After(ctx, user, own[0], 10)
	require.NoError(t, err)
	require.False(t, reset)
	require.Len(t, after, 1)
	assert.Equal(t, u.ID, after[0].ID)
	assert.Equal(t, "cart.updated", after[0].Type)
	assert.JSONEq(t, doc, string(after[0].Data), "the reference is resolved")
	assert.Equal(t, tp, after[0].Traceparent)
	raw := rdb.LIndex(ctx, "nhist:"+user, -1).Val()
	assert.NotContains(t, raw, `"items"`, "the user's history holds a reference, not a copy")
	tail, err := rd.Tail(ctx, user, 2)
	require.NoError(t, err)
	require.Len(t, tail, 2)
	assert.JSONEq(t, doc, string(tail[1].Data))

	// The cart's history loses the entry (trimmed, expired): resuming the
	// user's stream across it cannot be done; reading the tail leaves it out.
	require.NoError(t, rdb.Del(ctx, "nhist:"+cart).Err())
	_, reset, err = rd.After(ctx, user, own[0], 10)
	require.NoError(t, err)
	assert.True(t, reset)
	tail, err = rd.Tail(ctx, user, 2)
	require.NoError(t, err)
	require.Len(t, tail, 1)
	assert.Equal(t, own[0], tail[0].ID)
}

func TestInvalidItemsAreRefused(t *testing.T) {
	pub := notices.NewPublisher(env.Redis(t), notices.Config{})
	for _, it := range []notices.Item{
		{Stream: "cart:1", Type: "a|b", Data: json.RawMessage(`{}`)},
		{Stream: "cart:1", Type: "cart.updated", Data: json.RawMessage(`{`)},
		{Stream: "cart 1", Type: "cart.updated", Data: json.RawMessage(`{}`)},
		{Stream: "cart:1", Type: "cart.updated", Data: json.RawMessage(`{}`), Traceparent: "x|y"},
		{Stream: "cart:1", Type: "cart.updated", Data: json.RawMessage(`{}`), Also: []string{"cart:1"}},
	} {
		_, err := pub.Publish(context.Background(), it)
		assert.Error(t, err, "%+v", it)
	}
}
