// Package paymentprovider is the port to the payment provider, with two
// adapters: Stripe (real payments) and a local simulator (dev and tests).
// Providers are idempotent by key (the order id): asking twice charges
// once, as real providers' idempotency keys guarantee.
package paymentprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Result is a provider's answer to a charge.
type Result struct {
	Approved  bool   `json:"approved"`
	PaymentID string `json:"paymentId,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Provider charges and refunds, idempotently by key.
type Provider interface {
	Charge(ctx context.Context, key string, amountCents int64, token string) (Result, error)
	// Refund gives back the charge of key; paymentID is the PaymentID its
	// Charge answered (a real provider refunds by it).
	Refund(ctx context.Context, key, paymentID string) error
}

// Tokens the simulator understands (API.md).
const (
	TokenOK       = "pm_ok"
	TokenDeclined = "pm_declined"
	TokenSlow     = "pm_slow"
)

// Simulator is a Provider for local development and tests: pm_ok is
// approved, pm_declined declined, pm_slow approved only after SlowDelay
// (longer than the saga's payment deadline), anything else declined as an
// unknown payment method. It keeps its ledger in Redis so every replica
// shares it, and counts charges and refunds per key so tests can assert
// "charged exactly once". It is the stand-in for an external system, which
// is why it talks to Redis itself rather than through a kit port.
type Simulator struct {
	rdb       *redis.Client
	SlowDelay time.Duration
}

var _ Provider = (*Simulator)(nil)

// NewSimulator returns a simulator whose pm_slow answers after slowDelay.
func NewSimulator(rdb *redis.Client, slowDelay time.Duration) *Simulator {
	return &Simulator{rdb: rdb, SlowDelay: slowDelay}
}

func ledgerKey(key string) string  { return "paysim:charge:" + key }
func chargesKey(key string) string { return "paysim:charges:" + key }
func refundKey(key string) string  { return "paysim:refund:" + key }
func refundsKey(key string) string { return "paysim:refunds:" + key }

// Charge answers the charge for key, the first answer forever after.
func (s *Simulator) Charge(ctx context.Context, key string, amountCents int64, token string) (Result, error) {
	if prev, ok, err := s.answered(ctx, key); err != nil || ok {
		return prev, err
	}
	var res Result
	switch token {
	case TokenOK, "":
		res = Result{Approved: true, PaymentID: "pay_" + uuid.NewString()[:12]}
	case TokenDeclined:
		res = Result{Reason: "card declined"}
	case TokenSlow:
		select {
		case <-time.After(s.SlowDelay):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		res = Result{Approved: true, PaymentID: "pay_" + uuid.NewString()[:12]}
	default:
		res = Result{Reason: fmt.Sprintf("unknown payment method %q", token)}
	}
	b, _ := json.Marshal(res)
	won, err := s.rdb.SetNX(ctx, ledgerKey(key), b, 0).Result()
	if err != nil {
		return Result{}, redisconn.Classify(err, "payment simulator")
	}
	if !won { // a concurrent call answered first: its answer stands
		prev, _, err := s.answered(ctx, key)
		return prev, err
	}
	if res.Approved {
		if err := s.rdb.Incr(ctx, chargesKey(key)).Err(); err != nil {
			return Result{}, redisconn.Classify(err, "payment simulator")
		}
	}
	return res, nil
}

func (s *Simulator) answered(ctx context.Context, key string) (Result, bool, error) {
	b, err := s.rdb.Get(ctx, ledgerKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, redisconn.Classify(err, "payment simulator")
	}
	var r Result
	return r, true, json.Unmarshal(b, &r)
}

// Refund refunds key's charge once (the simulator needs no payment id).
func (s *Simulator) Refund(ctx context.Context, key, _ string) error {
	won, err := s.rdb.SetNX(ctx, refundKey(key), "1", 0).Result()
	if err != nil {
		return redisconn.Classify(err, "payment simulator")
	}
	if won {
		return redisconn.Classify(s.rdb.Incr(ctx, refundsKey(key)).Err(), "payment simulator")
	}
	return nil
}

// Charges is how many times money was actually taken for key.
func (s *Simulator) Charges(ctx context.Context, key string) (int, error) {
	return s.count(ctx, chargesKey(key))
}

// Refunds is how many times money was actually given back for key.
func (s *Simulator) Refunds(ctx context.Context, key string) (int, error) {
	return s.count(ctx, refundsKey(key))
}

func (s *Simulator) count(ctx context.Context, k string) (int, error) {
	n, err := s.rdb.Get(ctx, k).Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, redisconn.Classify(err, "payment simulator")
}
