package web_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/testenv"
)

// TestPreferencesRoundTrip: defaults until saved; a PUT replaces them (a
// kind left out keeps its default); each user has their own; bad fields
// are named.
func TestPreferencesRoundTrip(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice, bob := a.token(t, "alice-prefs"), a.token(t, "bob-prefs")

	got := a.do(t, "GET", "/api/me/preferences", alice, "")
	require.Equal(t, 200, got.status, string(got.body))
	assert.JSONEq(t, `{"email":"","phone":"","defaultEmail":"alice-prefs@prism.test","channels":{
		"order.confirmed":["email"],"order.shipped":["email","sms"],"order.delivered":["email","push"],
		"order.cancelled":["email"],"payment.failed":["email","sms"],"stock.low":["email"]}}`, string(got.body))

	put := a.do(t, "PUT", "/api/me/preferences", alice, `{"email":"alice@example.org","phone":"+447700900123","channels":{"order.confirmed":["email","push"],"order.shipped":[]}}`)
	require.Equal(t, 200, put.status, string(put.body))
	again := a.do(t, "GET", "/api/me/preferences", alice, "").json(t)
	assert.Equal(t, "alice@example.org", again["email"])
	assert.Equal(t, "+447700900123", again["phone"])
	ch := again["channels"].(map[string]any)
	assert.Equal(t, []any{"email", "push"}, ch["order.confirmed"])
	assert.Equal(t, []any{}, ch["order.shipped"], "switched off")
	assert.Equal(t, []any{"email", "push"}, ch["order.delivered"], "left out: its default")
	assert.NotEmpty(t, again["updatedAt"])
	assert.Equal(t, "", a.do(t, "GET", "/api/me/preferences", bob, "").json(t)["email"], "bob's are his own")

	for _, c := range []struct{ body, field string }{
		{`{"email":"not an address"}`, "email"},
		{`{"phone":"0800 123"}`, "phone"},
		{`{"channels":{"order.confirmed":["fax"]}}`, "channels.order.confirmed"},
		{`{"channels":{"order.lost":["email"]}}`, "channels.order.lost"},
		{`{"channels":{"order.confirmed":"email"}}`, "channels"},
		{`{"colour":"red"}`, "colour"},
	} {
		res := a.do(t, "PUT", "/api/me/preferences", alice, c.body)
		require.Equal(t, 400, res.status, c.body)
		assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
		assert.Contains(t, string(res.body), `"field":"`+c.field+`"`, c.body)
	}
	assert.Equal(t, 401, a.do(t, "GET", "/api/me/preferences", "", "").status)
}

// TestPushSubscriptions: a browser's subscription JSON registers (201, then
// 200 for the same endpoint), bad keys and endpoints are named, and DELETE
// removes it.
func TestPushSubscriptions(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	alice := a.token(t, "alice-push")
	recv, err := testenv.StartPushReceiver()
	require.NoError(t, err)
	t.Cleanup(recv.Stop)
	body := func(endpoint string) string {
		return `{"endpoint":"` + endpoint + `","expirationTime":null,"keys":{"p256dh":"` + recv.P256DH + `","auth":"` + recv.Auth + `"}}`
	}
	https := "https://push.example/send/abc" + recv.Auth[:4]
	first := a.do(t, "POST", "/api/me/push-subscriptions", alice, body(https))
	require.Equal(t, 201, first.status, string(first.body))
	id := first.json(t)["id"].(string)
	assert.Len(t, id, 32)
	assert.Equal(t, "/api/me/push-subscriptions/"+id, first.header.Get("Location"))
	assert.Equal(t, 200, a.do(t, "POST", "/api/me/push-subscriptions", alice, body(https)).status, "the same endpoint again")

	for _, c := range []struct{ body, field string }{
		{body(recv.Endpoint), "endpoint"}, // http:// is refused outside tests' insecure setting
		{body("not a url"), "endpoint"},
		{`{"endpoint":"` + https + `","keys":{"p256dh":"AAAA","auth":"` + recv.Auth + `"}}`, "keys.p256dh"},
		{`{"endpoint":"` + https + `","keys":{"p256dh":"` + recv.P256DH + `","auth":"c2hvcnQ"}}`, "keys.auth"},
	} {
		res := a.do(t, "POST", "/api/me/push-subscriptions", alice, c.body)
		require.Equal(t, 400, res.status, c.body)
		assert.Contains(t, string(res.body), `"field":"`+c.field+`"`, c.body)
	}
	assert.Equal(t, 204, a.do(t, "DELETE", "/api/me/push-subscriptions/"+id, alice, "").status)
	assert.Equal(t, 204, a.do(t, "DELETE", "/api/me/push-subscriptions/"+id, alice, "").status, "gone already: still 204")
	assert.Equal(t, 400, a.do(t, "DELETE", "/api/me/push-subscriptions/zz000000000000000000000000000000", alice, "").status)
	assert.Equal(t, 201, a.do(t, "POST", "/api/me/push-subscriptions", alice, body(https)).status, "removed, so new again")
}
