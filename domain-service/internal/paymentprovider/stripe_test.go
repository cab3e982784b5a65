package paymentprovider_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/testenv"
)

var approving, declining *testenv.StripeMock

func TestMain(m *testing.M) {
	var err error
	if approving, err = testenv.StartStripeMock(testenv.StripeApproves); err == nil {
		declining, err = testenv.StartStripeMock(testenv.StripeDeclines)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stripe-mock:", err)
		os.Exit(2)
	}
	code := m.Run()
	approving.Stop()
	declining.Stop()
	os.Exit(code)
}

// sent is one request the recorder saw on its way to Stripe.
type sent struct {
	method, path, idempotencyKey string
	form                         url.Values
}

// recorder stands between the adapter and stripe-mock and writes down what
// went over the wire.
type recorder struct {
	mu   sync.Mutex
	sent []sent
	URL  string
}

func record(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.sent = append(rec.sent, sent{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (r *recorder) requests() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.sent...)
}

func stripeVia(t *testing.T, base string) *paymentprovider.Stripe {
	t.Helper()
	s, err := paymentprovider.NewStripe(paymentprovider.StripeConfig{APIKey: "sk_test_prism", APIBase: base, Currency: "EUR"})
	require.NoError(t, err)
	return s
}

// TestStripeChargeIsIdempotentByOrder: the charge is a PaymentIntent
// created and confirmed with the card at once, under an Idempotency-Key
// derived from the order; asking again (a redelivered command) sends the
// same key, which is what makes Stripe charge once.
func TestStripeChargeIsIdempotentByOrder(t *testing.T) {
	rec := record(t, approving.URL)
	s := stripeVia(t, rec.URL)
	order := uuid.NewString()
	res, err := s.Charge(t.Context(), order, 1234, "pm_card_visa")
	require.NoError(t, err)
	assert.True(t, res.Approved)
	assert.Regexp(t, `^pi_`, res.PaymentID)
	again, err := s.Charge(t.Context(), order, 1234, "pm_card_visa")
	require.NoError(t, err)
	assert.True(t, again.Approved)

	reqs := rec.requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, "POST", r.method)
		assert.Equal(t, "/v1/payment_intents", r.path)
		assert.Equal(t, "prism-charge-"+order, r.idempotencyKey, "the same key both times")
		assert.Equal(t, "1234", r.form.Get("amount"))
		assert.Equal(t, "eur", r.form.Get("currency"))
		assert.Equal(t, "true", r.form.Get("confirm"), "created and confirmed in one call")
		assert.Equal(t, "pm_card_visa", r.form.Get("payment_method"))
		assert.Equal(t, "never", r.form.Get("automatic_payment_methods[allow_redirects]"))
		assert.Equal(t, order, r.form.Get("metadata[prism_order_id]"))
	}

	other := uuid.NewString()
	_, err = s.Charge(t.Context(), other, 99, "pm_card_visa")
	require.NoError(t, err)
	assert.Equal(t, "prism-charge-"+other, rec.requests()[2].idempotencyKey, "another order, another key")
}

func TestStripeRefundByPaymentIntent(t *testing.T) {
	rec := record(t, approving.URL)
	s := stripeVia(t, rec.URL)
	order := uuid.NewString()
	require.NoError(t, s.Refund(t.Context(), order, "pi_123"))
	reqs := rec.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v1/refunds", reqs[0].path)
	assert.Equal(t, "pi_123", reqs[0].form.Get("payment_intent"))
	assert.Equal(t, "prism-refund-"+order, reqs[0].idempotencyKey)
	assert.Equal(t, apperr.Internal, apperr.KindOf(s.Refund(t.Context(), order, "")), "no payment id, no refund")
}

func TestStripeDeclineIsAnAnswer(t *testing.T) {
	s := stripeVia(t, declining.URL)
	res, err := s.Charge(t.Context(), uuid.NewString(), 500, "pm_card_chargeDeclined")
	require.NoError(t, err, "a decline is not a failure to retry")
	assert.False(t, res.Approved)
	assert.Contains(t, res.Reason, "generic_decline")
	assert.Contains(t, res.Reason, "Your card was declined.")
}

// stripeAnswering is Stripe's error answer for one case (the documented
// JSON of an error; stripe-mock cannot produce errors).
func stripeAnswering(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestStripeErrors(t *testing.T) {
	for name, c := range map[string]struct {
		status   int
		body     string
		approved bool
		reason   string
		kind     apperr.Kind
	}{
		"card declined (402)": {402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_1","object":"payment_intent","status":"requires_payment_method"}}}`,
			false, "insufficient_funds: Your card has insufficient funds.", ""},
		"unknown payment method": {400, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_ok'"}}`,
			false, "unknown payment method", ""},
		"stripe down":    {500, `{"error":{"type":"api_error","message":"Something went wrong"}}`, false, "", apperr.Unavailable},
		"rate limited":   {429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, false, "", apperr.Unavailable},
		"bad key":        {401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`, false, "", apperr.Internal},
		"key reused":     {400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`, false, "", apperr.Internal},
		"3-D Secure":     {200, `{"id":"pi_3ds","object":"payment_intent","status":"requires_action"}`, false, "authenticate", ""},
		"processing":     {200, `{"id":"pi_p","object":"payment_intent","status":"processing"}`, false, "", apperr.Unavailable},
		"approved (200)": {200, `{"id":"pi_ok","object":"payment_intent","status":"succeeded"}`, true, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			s := stripeVia(t, stripeAnswering(t, c.status, c.body))
			res, err := s.Charge(t.Context(), uuid.NewString(), 100, "pm_x")
			if c.kind != "" {
				require.Error(t, err)
				assert.Equal(t, c.kind, apperr.KindOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.approved, res.Approved)
			assert.Contains(t, res.Reason, c.reason)
		})
	}
	_, err := stripeVia(t, "http://127.0.0.1:1").Charge(t.Context(), "o", 1, "pm_x")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err), "stripe unreachable")
}
