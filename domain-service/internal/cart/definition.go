package cart

import (
	"context"
	"strconv"
	"time"

	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/envelope"
)

// Definition is the cart for the kit's aggregate handler: an open cart left
// untouched for ttl expires (ttl ≤ 0: never), AddItem is priced from the
// product's stream, and a checkout places the order.
func Definition(ttl time.Duration) aggregate.Definition[State, Command, Event] {
	return aggregate.Definition[State, Command, Event]{
		Type:         AggregateType,
		StateVersion: StateVersion,
		Commands:     []string{CmdCreate, CmdAddItem, CmdChangeQuantity, CmdRemoveItem, CmdCheckout, CmdExpire},
		New:          New,
		Exists:       func(s State) bool { return s.Exists },
		Parse: func(c envelope.Command) (Command, error) {
			return ParseCommand(c.Type, c.Payload, c.Metadata.UserID)
		},
		Prepare:       priceFromProduct,
		Decide:        Decide,
		Evolve:        Evolve,
		DecodeEvent:   DecodeEvent,
		SchemaVersion: SchemaVersion,
		React: func(e envelope.Event, ev Event) ([]aggregate.Reaction, error) {
			next, err := placeOrderOnCheckout(e, ev)
			if err != nil {
				return nil, err
			}
			expire, err := expireWhenIdle(ttl, e, ev)
			return append(next, expire...), err
		},
		Rearm: rearmExpiry(ttl),
	}
}

// expireWhenIdle sets a new cart's expiry deadline: an ExpireCart command
// sent ttl later (a delayed message, like the checkout's payment deadline),
// naming the version it was set at. A cart keeps one deadline at a time:
// when it finds the cart changed since, it sets itself again for the time
// left (rearmExpiry), rather than every change sending one (a delayed
// message per change is a send now, a receive and a delete later, and a
// message the queue holds all day). Its id is derived from (cart, version):
// a redelivery sends the same deadline again, and the event store drops
// the duplicate.
func expireWhenIdle(ttl time.Duration, e envelope.Event, ev Event) ([]aggregate.Reaction, error) {
	if _, ok := ev.(Created); !ok || ttl <= 0 {
		return nil, nil
	}
	c, err := aggregate.FollowUp(e, AggregateType, e.AggregateID, CmdExpire, expiryPayload(e.Version, ttl), e.AggregateID, "expire", strconv.FormatInt(e.Version, 10))
	return []aggregate.Reaction{{Command: c, Delay: ttl}}, err
}

// rearmExpiry is the cart's Rearm: an ExpireCart that found the open cart
// changed since it was set (so decided nothing) sets the next one, for the
// cart's current version, due ttl after its last change.
func rearmExpiry(ttl time.Duration) func(State, Command, envelope.Command, func() (time.Time, error)) ([]aggregate.Reaction, error) {
	return func(s State, c Command, cmd envelope.Command, lastChange func() (time.Time, error)) ([]aggregate.Reaction, error) {
		x, ok := c.(Expire)
		if !ok || ttl <= 0 || !s.Exists || s.Status != StatusOpen || s.Version == x.AfterVersion {
			return nil, nil
		}
		at, err := lastChange()
		if err != nil {
			return nil, err
		}
		next, err := aggregate.FollowUpOfCommand(cmd, AggregateType, s.ID, CmdExpire,
			expiryPayload(s.Version, ttl), s.ID, "expire", strconv.FormatInt(s.Version, 10))
		return []aggregate.Reaction{{Command: next, Delay: max(time.Until(at.Add(ttl)), time.Second)}}, err
	}
}

func expiryPayload(version int64, ttl time.Duration) ExpirePayload {
	return ExpirePayload{AfterVersion: version, IdleSeconds: int64(ttl / time.Second)}
}

// priceFromProduct fills AddItem's product name and price from the
// product's stream: prices come from the product, never from the client.
func priceFromProduct(ctx context.Context, _ State, c Command, lookup aggregate.Lookup) (Command, error) {
	add, ok := c.(AddItem)
	if !ok || !envelope.ValidID(add.SKU) {
		return c, nil
	}
	st, err := lookup(ctx, product.AggregateType, add.SKU, false)
	if err != nil {
		return nil, err
	}
	if p, ok := aggregate.As[product.State](st); ok && p.Exists {
		add.Product = ProductInfo{Exists: true, Name: p.Name, PriceCents: p.PriceCents}
	}
	return add, nil
}

// placeOrderOnCheckout turns CartCheckedOut into the PlaceOrder command of
// the order the API named, with an id derived from the order id.
func placeOrderOnCheckout(e envelope.Event, ev Event) ([]aggregate.Reaction, error) {
	co, ok := ev.(CheckedOut)
	if !ok {
		return nil, nil
	}
	lines := make([]order.Line, len(co.Lines))
	for i, l := range co.Lines {
		lines[i] = order.Line(l)
	}
	c, err := aggregate.FollowUp(e, order.AggregateType, co.OrderID, order.CmdPlace,
		order.PlacePayload{CartID: e.AggregateID, Owner: co.Owner, Lines: lines, TotalCents: co.TotalCents, PaymentToken: co.PaymentToken},
		co.OrderID, "place")
	return []aggregate.Reaction{{Command: c}}, err
}
