package handling

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/prism-es/prism/domain-service/internal/cart"
	"github.com/prism-es/prism/domain-service/internal/order"
	"github.com/prism-es/prism/domain-service/internal/product"
	"github.com/prism-es/prism/shared/envelope"
)

// followUp is a command the system sends in reaction to event e, with an id
// derived from idParts so that reacting twice sends the same command.
func followUp(e envelope.Event, aggregateType, aggregateID, typ string, payload any, idParts ...string) (envelope.Command, error) {
	return followUpOf(e.EventID, e.Metadata.CorrelationID, e.Metadata.UserID, e.Metadata.Traceparent, aggregateType, aggregateID, typ, payload, idParts...)
}

// followUpOf is followUp for a cause given by its id and metadata (an event,
// or a command that re-arms itself).
func followUpOf(causationID, correlationID, userID, traceparent, aggregateType, aggregateID, typ string, payload any, idParts ...string) (envelope.Command, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return envelope.Command{}, err
	}
	return envelope.Command{
		CommandID: envelope.DerivedID(idParts...), Type: typ,
		AggregateType: aggregateType, AggregateID: aggregateID, Payload: p,
		Metadata: envelope.CommandMetadata{
			CorrelationID: correlationID, CausationID: causationID, UserID: userID,
			Traceparent: traceparent, IssuedAt: time.Now().UTC(),
		},
	}, nil
}

func cartDefinition(ttl time.Duration) aggregate {
	return Definition[cart.State, cart.Command, cart.Event]{
		Type:         cart.AggregateType,
		StateVersion: cart.StateVersion,
		New:          cart.New,
		Exists:       func(s cart.State) bool { return s.Exists },
		Parse: func(c envelope.Command) (cart.Command, error) {
			return cart.ParseCommand(c.Type, c.Payload, c.Metadata.UserID)
		},
		Prepare:       priceFromProduct,
		Decide:        cart.Decide,
		Evolve:        cart.Evolve,
		DecodeEvent:   cart.DecodeEvent,
		SchemaVersion: cart.SchemaVersion,
		React: func(e envelope.Event, ev cart.Event) ([]Reaction, error) {
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
func expireWhenIdle(ttl time.Duration, e envelope.Event, ev cart.Event) ([]Reaction, error) {
	if _, ok := ev.(cart.Created); !ok || ttl <= 0 {
		return nil, nil
	}
	c, err := followUp(e, cart.AggregateType, e.AggregateID, cart.CmdExpire, expiryPayload(e.Version, ttl), e.AggregateID, "expire", strconv.FormatInt(e.Version, 10))
	return []Reaction{{Command: c, Delay: ttl}}, err
}

// rearmExpiry is the cart's Rearm: an ExpireCart that found the open cart
// changed since it was set (so decided nothing) sets the next one, for the
// cart's current version, due ttl after its last change.
func rearmExpiry(ttl time.Duration) func(cart.State, cart.Command, envelope.Command, func() (time.Time, error)) ([]Reaction, error) {
	return func(s cart.State, c cart.Command, cmd envelope.Command, lastChange func() (time.Time, error)) ([]Reaction, error) {
		x, ok := c.(cart.Expire)
		if !ok || ttl <= 0 || !s.Exists || s.Status != cart.StatusOpen || s.Version == x.AfterVersion {
			return nil, nil
		}
		at, err := lastChange()
		if err != nil {
			return nil, err
		}
		m := cmd.Metadata
		next, err := followUpOf(cmd.CommandID, m.CorrelationID, m.UserID, m.Traceparent, cart.AggregateType, s.ID, cart.CmdExpire,
			expiryPayload(s.Version, ttl), s.ID, "expire", strconv.FormatInt(s.Version, 10))
		return []Reaction{{Command: next, Delay: max(time.Until(at.Add(ttl)), time.Second)}}, err
	}
}

func expiryPayload(version int64, ttl time.Duration) cart.ExpirePayload {
	return cart.ExpirePayload{AfterVersion: version, IdleSeconds: int64(ttl / time.Second)}
}

// priceFromProduct fills AddItem's product name and price from the
// product's stream: prices come from the product, never from the client.
func priceFromProduct(ctx context.Context, _ cart.State, c cart.Command, lookup Lookup) (cart.Command, error) {
	add, ok := c.(cart.AddItem)
	if !ok || !envelope.ValidID(add.SKU) {
		return c, nil
	}
	st, err := lookup(ctx, product.AggregateType, add.SKU, false)
	if err != nil {
		return nil, err
	}
	if p, ok := st.(product.State); ok && p.Exists {
		add.Product = cart.ProductInfo{Exists: true, Name: p.Name, PriceCents: p.PriceCents}
	}
	return add, nil
}

// placeOrderOnCheckout turns CartCheckedOut into the PlaceOrder command of
// the order the API named, with an id derived from the order id.
func placeOrderOnCheckout(e envelope.Event, ev cart.Event) ([]Reaction, error) {
	co, ok := ev.(cart.CheckedOut)
	if !ok {
		return nil, nil
	}
	lines := make([]order.Line, len(co.Lines))
	for i, l := range co.Lines {
		lines[i] = order.Line(l)
	}
	c, err := followUp(e, order.AggregateType, co.OrderID, order.CmdPlace,
		order.PlacePayload{CartID: e.AggregateID, Owner: co.Owner, Lines: lines, TotalCents: co.TotalCents, PaymentToken: co.PaymentToken},
		co.OrderID, "place")
	return []Reaction{{Command: c}}, err
}

func productDefinition() aggregate {
	return Definition[product.State, product.Command, product.Event]{
		Type:          product.AggregateType,
		StateVersion:  product.StateVersion,
		New:           product.New,
		Exists:        func(s product.State) bool { return s.Exists },
		Parse:         func(c envelope.Command) (product.Command, error) { return product.ParseCommand(c.Type, c.Payload) },
		Decide:        product.Decide,
		Evolve:        product.Evolve,
		DecodeEvent:   product.DecodeEvent,
		SchemaVersion: product.SchemaVersion,
	}
}

func orderDefinition() aggregate {
	return Definition[order.State, order.Command, order.Event]{
		Type:         order.AggregateType,
		StateVersion: order.StateVersion,
		New:          order.New,
		Exists:       func(s order.State) bool { return s.Exists },
		Parse: func(c envelope.Command) (order.Command, error) {
			return order.ParseCommand(c.Type, c.Payload, c.Metadata.UserID)
		},
		Decide:        order.Decide,
		Evolve:        order.Evolve,
		DecodeEvent:   order.DecodeEvent,
		SchemaVersion: order.SchemaVersion,
	}
}
