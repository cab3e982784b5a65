package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/readmodel"
)

// putRow writes a read-model row the way readmodel-updater does.
func (a *api) putRow(t *testing.T, projection, pk, rk string, version int64, doc string) {
	t.Helper()
	require.NoError(t, a.store.Upsert(context.Background(), a.tables[projection], readmodel.Row{PartitionKey: pk, RowKey: rk, Version: version, Doc: json.RawMessage(doc)}))
}

func cartDoc(id, user string, version int64) string {
	return fmt.Sprintf(`{"cartId":%q,"userId":%q,"status":"open","items":[],"totalCents":0,"version":%d}`, id, user, version)
}

func TestCartQueryIsOwnerOnlyAndAsStored(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice, bob := a.token(t, "alice"), a.token(t, "bob")
	cart := uuid.NewString()
	pk, rk := readmodel.CartKey(cart)
	a.putRow(t, readmodel.Carts, pk, rk, 3, cartDoc(cart, "alice", 3))

	res := a.do(t, "GET", "/api/carts/"+cart, alice, "")
	require.Equal(t, 200, res.status)
	assert.JSONEq(t, cartDoc(cart, "alice", 3), string(res.body))
	assert.Empty(t, res.header.Get("X-Stale"))
	for name, r := range map[string]response{
		"someone else's": a.do(t, "GET", "/api/carts/"+cart, bob, ""),
		"unknown":        a.do(t, "GET", "/api/carts/"+uuid.NewString(), alice, ""),
		"hostile id":     a.do(t, "GET", "/api/carts/%27%20or%201%3D1", alice, ""),
	} {
		assert.Equal(t, 404, r.status, name)
		assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"), name)
	}
	assert.Equal(t, 401, a.do(t, "GET", "/api/carts/"+cart, "", "").status)
}

// result is a response from a goroutine, with its error.
type result struct {
	response
	err error
}

func resultOf(res response, err error) result { return result{res, err} }

func TestMinVersionWaitsForTheNotice(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	cart := uuid.NewString()
	pk, rk := readmodel.CartKey(cart)
	a.putRow(t, readmodel.Carts, pk, rk, 1, cartDoc(cart, "alice", 1))

	done := make(chan result, 1)
	start := time.Now()
	go func() { done <- resultOf(a.send("GET", "/api/carts/"+cart+"?minVersion=2&wait=8", alice, "")) }()
	// Once the request listens for the cart's notices it is waiting; then
	// write version 2 and announce it as the updater does.
	rdb := env.Redis(t)
	require.Eventually(t, func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), "notices:"+notices.CartStream(cart)).Result()
		return err == nil && n["notices:"+notices.CartStream(cart)] == 1
	}, 5*time.Second, 5*time.Millisecond)
	a.putRow(t, readmodel.Carts, pk, rk, 2, cartDoc(cart, "alice", 2))
	_, err := a.pub.Publish(context.Background(), notices.Item{Stream: notices.CartStream(cart), Type: "cart.updated", Data: json.RawMessage(cartDoc(cart, "alice", 2))})
	require.NoError(t, err)
	select {
	case r := <-done:
		require.NoError(t, r.err)
		res := r.response
		require.Equal(t, 200, res.status)
		assert.Equal(t, float64(2), res.json(t)["version"])
		assert.Empty(t, res.header.Get("X-Stale"))
		assert.Less(t, time.Since(start), 6*time.Second, "woken by the notice, not by the end of the wait")
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}

	stale := a.do(t, "GET", "/api/carts/"+cart+"?minVersion=9&wait=0.3", alice, "")
	require.Equal(t, 200, stale.status)
	assert.Equal(t, "true", stale.header.Get("X-Stale"))
	assert.Equal(t, float64(2), stale.json(t)["version"], "the current row when the wait runs out")
	noWait := a.do(t, "GET", "/api/carts/"+cart+"?minVersion=9", alice, "")
	assert.Equal(t, "true", noWait.header.Get("X-Stale"))
}

func TestMinVersionWaitsForARowThatDoesNotExistYet(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	cart := uuid.NewString()
	pk, rk := readmodel.CartKey(cart)
	done := make(chan result, 1)
	start := time.Now()
	go func() { done <- resultOf(a.send("GET", "/api/carts/"+cart+"?minVersion=1&wait=8", alice, "")) }()
	// Found nothing, the request listens for the cart's notices: then the
	// row appears and is announced once.
	rdb := env.Redis(t)
	require.Eventually(t, func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), "notices:"+notices.CartStream(cart)).Result()
		return err == nil && n["notices:"+notices.CartStream(cart)] == 1
	}, 5*time.Second, 5*time.Millisecond)
	a.putRow(t, readmodel.Carts, pk, rk, 1, cartDoc(cart, "alice", 1))
	_, err := a.pub.Publish(context.Background(), notices.Item{Stream: notices.CartStream(cart), Type: "cart.updated", Data: json.RawMessage(cartDoc(cart, "alice", 1))})
	require.NoError(t, err)
	select {
	case r := <-done:
		require.NoError(t, r.err)
		assert.Equal(t, 200, r.status)
		assert.Empty(t, r.header.Get("X-Stale"))
		assert.Less(t, time.Since(start), 6*time.Second, "woken by the notice, not by the end of the wait")
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	missing := a.do(t, "GET", "/api/carts/"+uuid.NewString()+"?minVersion=1&wait=0.2", alice, "")
	assert.Equal(t, 404, missing.status, "still unknown when the wait runs out")
}

func TestQueryParametersAreValidated(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice")
	cart := uuid.NewString()
	for _, q := range []struct{ path, field string }{
		{"/api/carts/" + cart + "?wait=11", "wait"},
		{"/api/carts/" + cart + "?wait=abc", "wait"},
		{"/api/carts/" + cart + "?wait=NaN", "wait"},
		{"/api/carts/" + cart + "?minVersion=-1", "minVersion"},
		{"/api/carts/" + cart + "?minVersion=1e9999", "minVersion"},
		{"/api/orders?limit=0", "limit"},
		{"/api/orders?limit=1000", "limit"},
		{"/api/orders?cursor=not*a*cursor", "cursor"},
		{"/api/products?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 30_000))), "cursor"},
	} {
		res := a.do(t, "GET", q.path, alice, "")
		require.Equal(t, 400, res.status, q.path)
		assert.Contains(t, string(res.body), `"field":"`+q.field+`"`, q.path)
	}
}

func TestOrderListIsTheCallersNewestFirstPaged(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice, bob := a.token(t, "alice"), a.token(t, "bob")
	base := time.Now()
	var ids []string
	for i := range 5 {
		id := uuid.NewString()
		ids = append(ids, id)
		a.putRow(t, readmodel.Orders, readmodel.UserOrdersPartition("alice"), readmodel.OrderIndexKey(base.Add(time.Duration(i)*time.Second), id), 1,
			fmt.Sprintf(`{"orderId":%q,"status":"placed","version":1}`, id))
		pk, rk := readmodel.OrderKey(id)
		a.putRow(t, readmodel.Orders, pk, rk, 1, fmt.Sprintf(`{"orderId":%q,"userId":"alice","status":"placed","version":1}`, id))
	}
	var got []string
	cursor := ""
	for page := 0; page < 5; page++ {
		path := "/api/orders?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := a.do(t, "GET", path, alice, "")
		require.Equal(t, 200, res.status)
		var l struct {
			Items      []struct{ OrderID string }
			NextCursor string
		}
		require.NoError(t, json.Unmarshal(res.body, &l))
		for _, it := range l.Items {
			got = append(got, it.OrderID)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, got)
	empty := a.do(t, "GET", "/api/orders", bob, "")
	require.Equal(t, 200, empty.status)
	assert.JSONEq(t, `{"items":[]}`, string(empty.body))
	assert.Equal(t, 200, a.do(t, "GET", "/api/orders/"+ids[0], alice, "").status)
	assert.Equal(t, 404, a.do(t, "GET", "/api/orders/"+ids[0], bob, "").status)
}

func TestProductsArePublic(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	for _, sku := range []string{"B-2", "A-1"} {
		pk, rk := readmodel.ProductKey(sku)
		a.putRow(t, readmodel.Products, pk, rk, 1, fmt.Sprintf(`{"sku":%q,"name":"n","priceCents":1,"available":3,"version":1}`, sku))
	}
	list := a.do(t, "GET", "/api/products", "", "")
	require.Equal(t, 200, list.status)
	var l struct{ Items []struct{ SKU string } }
	require.NoError(t, json.Unmarshal(list.body, &l))
	require.Len(t, l.Items, 2)
	assert.Equal(t, "A-1", l.Items[0].SKU)
	one := a.do(t, "GET", "/api/products/B-2", "", "")
	require.Equal(t, 200, one.status)
	assert.Equal(t, float64(3), one.json(t)["available"])
	assert.Equal(t, 404, a.do(t, "GET", "/api/products/NOPE", "", "").status)
}

func TestNotificationsAreTheCallers(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice, bob := a.token(t, "alice"), a.token(t, "bob")
	for i, kind := range []string{"order.confirmed", "order.shipped"} {
		id := uuid.NewString()
		a.putRow(t, readmodel.Notifications, readmodel.NotificationsPartition("alice"), readmodel.NotificationKey(time.Now().Add(time.Duration(i)*time.Second), id), 1,
			fmt.Sprintf(`{"id":%q,"kind":%q,"message":"m","createdAt":"2026-01-01T00:00:00Z"}`, id, kind))
	}
	res := a.do(t, "GET", "/api/notifications", alice, "")
	require.Equal(t, 200, res.status)
	var l struct{ Items []struct{ Kind string } }
	require.NoError(t, json.Unmarshal(res.body, &l))
	require.Len(t, l.Items, 2)
	assert.Equal(t, "order.shipped", l.Items[0].Kind, "newest first")
	empty := a.do(t, "GET", "/api/notifications", bob, "")
	assert.JSONEq(t, `{"items":[]}`, string(empty.body))
	assert.Equal(t, 401, a.do(t, "GET", "/api/notifications", "", "").status)
}
