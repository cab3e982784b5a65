package paymentprovider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/prism-es/prism/shared/apperr"
)

// StripeConfig is how to reach Stripe.
type StripeConfig struct {
	// APIKey is the secret key (sk_live_…, sk_test_…; stripe-mock takes any
	// sk_test_ key).
	APIKey string
	// Currency of the amounts, ISO 4217 lowercase (default "usd").
	Currency string
	// APIBase replaces https://api.stripe.com (stripe-mock in tests and in
	// dev: http://127.0.0.1:12111).
	APIBase string
	// HTTPClient makes the calls (nil: one with a 30 s timeout).
	HTTPClient *http.Client
}

// Stripe is the Provider of real payments: a PaymentIntent per order,
// created and confirmed at once with the card (PaymentMethod) the client
// gave as its payment token, under an Idempotency-Key derived from the
// order. A retry after a crash or a redelivery sends the same key, so
// Stripe answers what it answered the first time and charges once (Stripe
// keeps keys for 24 h, far longer than a command is retried; past that the
// payment's own stream already holds the outcome and Prism does not ask
// again).
type Stripe struct {
	client   *stripe.Client
	currency string
}

var _ Provider = (*Stripe)(nil)

// NewStripe returns the adapter. It does no I/O.
func NewStripe(cfg StripeConfig) (*Stripe, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("stripe: no API key")
	}
	if cfg.Currency == "" {
		cfg.Currency = "usd"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	backendCfg := &stripe.BackendConfig{
		HTTPClient:    cfg.HTTPClient,
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
		// The consumer loop retries (a redelivery) with the same key.
		MaxNetworkRetries: stripe.Int64(1),
	}
	if cfg.APIBase != "" {
		backendCfg.URL = stripe.String(cfg.APIBase)
	}
	backends := &stripe.Backends{
		API:         stripe.GetBackendWithConfig(stripe.APIBackend, backendCfg),
		Connect:     stripe.GetBackendWithConfig(stripe.ConnectBackend, backendCfg),
		Uploads:     stripe.GetBackendWithConfig(stripe.UploadsBackend, backendCfg),
		MeterEvents: stripe.GetBackendWithConfig(stripe.MeterEventsBackend, backendCfg),
	}
	return &Stripe{client: stripe.NewClient(cfg.APIKey, stripe.WithBackends(backends)), currency: strings.ToLower(cfg.Currency)}, nil
}

// ChargeKey is the Idempotency-Key of the charge of the order key.
func ChargeKey(key string) string { return "prism-charge-" + key }

// RefundKey is the Idempotency-Key of the refund of the order key.
func RefundKey(key string) string { return "prism-refund-" + key }

// Charge creates and confirms the order's PaymentIntent. A decline is an
// answer (Approved false, with Stripe's reason), not an error; Stripe being
// unreachable, rate-limiting or failing is apperr.Unavailable (the command
// is retried with the same key).
func (s *Stripe) Charge(ctx context.Context, key string, amountCents int64, token string) (Result, error) {
	params := &stripe.PaymentIntentCreateParams{
		Amount:        stripe.Int64(amountCents),
		Currency:      stripe.String(s.currency),
		PaymentMethod: stripe.String(token),
		Confirm:       stripe.Bool(true),
		// Confirmed on the server: only methods that need no redirect.
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled: stripe.Bool(true), AllowRedirects: stripe.String("never"),
		},
		Description: stripe.String("Prism order " + key),
	}
	params.AddMetadata("prism_order_id", key)
	params.SetIdempotencyKey(ChargeKey(key))
	params.Context = ctx
	pi, err := s.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) {
			if declined, reason := isDecline(se); declined {
				return Result{Reason: reason}, nil
			}
		}
		return Result{}, classify(err, "charge")
	}
	return outcome(pi)
}

// outcome reads a confirmed PaymentIntent.
func outcome(pi *stripe.PaymentIntent) (Result, error) {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return Result{Approved: true, PaymentID: pi.ID}, nil
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusCanceled:
		reason := "card declined"
		if e := pi.LastPaymentError; e != nil {
			reason = declineReason(e)
		}
		return Result{Reason: reason}, nil
	case stripe.PaymentIntentStatusRequiresAction:
		// 3-D Secure or another step by the customer: a server-side
		// confirmation cannot complete it.
		return Result{Reason: "the card needs the customer to authenticate the payment"}, nil
	}
	// processing, requires_capture, requires_confirmation: not an outcome
	// yet; the command is retried (same key, same PaymentIntent).
	return Result{}, apperr.New(apperr.Unavailable, "stripe: payment %s is %s", pi.ID, pi.Status)
}

// isDecline reports whether a Stripe error is the card (or the payment
// method given) being refused: a card_error (402), or a payment method
// Stripe does not know.
func isDecline(e *stripe.Error) (bool, string) {
	switch {
	case e.Type == stripe.ErrorTypeCard:
		return true, declineReason(e)
	case e.Type == stripe.ErrorTypeInvalidRequest && e.Param == "payment_method":
		return true, "unknown payment method"
	}
	return false, ""
}

func declineReason(e *stripe.Error) string {
	reason := string(e.DeclineCode)
	if reason == "" {
		reason = string(e.Code)
	}
	if reason == "" {
		reason = "declined"
	}
	if e.Msg != "" {
		reason += ": " + e.Msg
	}
	return reason
}

// classify turns a failed call into an apperr: Stripe down, slow or
// rate-limiting is Unavailable (retry); anything else (a bad key, an
// idempotency key reused with other parameters) is Internal.
func classify(err error, op string) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		if se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 || se.Type == stripe.ErrorTypeAPI {
			return apperr.Wrap(apperr.Unavailable, err, "stripe is unavailable (%s)", op)
		}
		slog.Error("stripe refused a request", "op", op, "type", se.Type, "code", se.Code, "status", se.HTTPStatusCode, "requestId", se.RequestID)
		return apperr.Wrap(apperr.Internal, err, "stripe refused %s: %s", op, se.Msg)
	}
	return apperr.Wrap(apperr.Unavailable, err, "stripe is unreachable (%s)", op)
}

// Refund gives the order's payment back in full, once (its own
// Idempotency-Key). paymentID is the PaymentIntent Charge answered.
func (s *Stripe) Refund(ctx context.Context, key, paymentID string) error {
	if paymentID == "" {
		return apperr.New(apperr.Internal, "stripe: refund of order %s without its payment id", key)
	}
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(paymentID)}
	params.AddMetadata("prism_order_id", key)
	params.SetIdempotencyKey(RefundKey(key))
	params.Context = ctx
	r, err := s.client.V1Refunds.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Code == stripe.ErrorCodeChargeAlreadyRefunded {
			return nil
		}
		return classify(err, "refund")
	}
	if r.Status == stripe.RefundStatusFailed || r.Status == stripe.RefundStatusCanceled {
		return apperr.New(apperr.Internal, "stripe: refund %s of order %s is %s", r.ID, key, r.Status)
	}
	return nil
}

// String names the provider in logs.
func (s *Stripe) String() string { return fmt.Sprintf("stripe (%s)", s.currency) }
