// Package handling runs the shop's commands: it registers the shop's
// aggregates (cart, product, order, payment) and its checkout saga with the
// kit's aggregate handler (shared/aggregate, shared/process), one line each.
// Everything else, the load → decide → append → publish loop included, is
// the kit's; the rules and their wiring are in each aggregate's package.
package handling

import (
	"time"

	"github.com/prism-es/prism/domain-service/internal/cart"
	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/payment"
	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/process"
)

// Config tunes the shop's handler. Zero fields take the defaults.
type Config struct {
	aggregate.Config
	// PaymentDeadline is how long the checkout waits for the payment
	// provider before it cancels and compensates (default 10s).
	PaymentDeadline time.Duration
	// StepDeadline is how long the checkout waits for any other step (a
	// reservation, the order's records) before it looks at the facts and,
	// if the step did not happen, compensates (default 10m).
	StepDeadline time.Duration
	// CartTTL is how long an open cart may stay untouched before it expires
	// (default DefaultCartTTL; negative: never).
	CartTTL time.Duration
}

// DefaultCartTTL is how long an untouched open cart lives by default.
const DefaultCartTTL = 24 * time.Hour

// MaxCartTTL is the longest cart TTL: a Storage Queue keeps a message
// hidden for at most 7 days.
const MaxCartTTL = 7 * 24 * time.Hour

// Deps are the ports the shop's handler works through.
type Deps struct {
	aggregate.Deps
	// Payments is the payment provider the checkout charges through.
	Payments paymentprovider.Provider
}

// New returns the kit's handler for the shop's aggregates and saga. Its
// Handle consumes the command queues, Events(checkout.Subscriber) the
// saga's event queue.
func New(deps Deps, cfg Config) *aggregate.Handler {
	if cfg.PaymentDeadline == 0 {
		cfg.PaymentDeadline = 10 * time.Second
	}
	if cfg.StepDeadline == 0 {
		cfg.StepDeadline = 10 * time.Minute
	}
	if cfg.CartTTL == 0 {
		cfg.CartTTL = DefaultCartTTL
	}
	cfg.Notifications = config.SubscriptionNamed("notifications")
	return aggregate.New(deps.Deps, cfg.Config, Registry(deps.Payments, cfg))
}

// Registry registers the shop's aggregates and its saga: the one line each
// needs outside its own package.
func Registry(payments paymentprovider.Provider, cfg Config) *aggregate.Registry {
	var reg aggregate.Registry
	reg.Add(aggregate.Of(cart.Definition(cfg.CartTTL)))
	reg.Add(aggregate.Of(product.Definition()))
	reg.Add(aggregate.Of(order.Definition()))
	reg.Add(aggregate.Of(payment.Definition(payments)))
	reg.Add(process.Of(checkout.Process(cfg.PaymentDeadline, cfg.StepDeadline)))
	return &reg
}
