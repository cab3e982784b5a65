package cart

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate/codec"
)

// Command types on the wire.
const (
	CmdCreate         = "CreateCart"
	CmdAddItem        = "AddItem"
	CmdChangeQuantity = "ChangeQuantity"
	CmdRemoveItem     = "RemoveItem"
	CmdCheckout       = "CheckoutCart"
	CmdExpire         = "ExpireCart"
)

// ExpirePayload is the payload of ExpireCart (a system command).
type ExpirePayload struct {
	AfterVersion int64 `json:"afterVersion"`
	IdleSeconds  int64 `json:"idleSeconds"`
}

// ParseCommand decodes a command envelope's type and payload, by user by.
func ParseCommand(typ string, payload []byte, by string) (Command, error) {
	switch typ {
	case CmdCreate:
		_, err := codec.Payload[struct{}](payload)
		return CreateCart{By: by}, err
	case CmdAddItem:
		p, err := codec.Payload[struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}](payload)
		return AddItem{By: by, SKU: p.SKU, Quantity: p.Quantity}, err
	case CmdChangeQuantity:
		p, err := codec.Payload[struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}](payload)
		return ChangeQuantity{By: by, SKU: p.SKU, Quantity: p.Quantity}, err
	case CmdRemoveItem:
		p, err := codec.Payload[struct {
			SKU string `json:"sku"`
		}](payload)
		return RemoveItem{By: by, SKU: p.SKU}, err
	case CmdCheckout:
		p, err := codec.Payload[struct {
			OrderID      string `json:"orderId"`
			PaymentToken string `json:"paymentToken"`
		}](payload)
		return Checkout{By: by, OrderID: p.OrderID, PaymentToken: p.PaymentToken}, err
	case CmdExpire:
		p, err := codec.Payload[ExpirePayload](payload)
		return Expire{AfterVersion: p.AfterVersion, IdleSeconds: p.IdleSeconds}, err
	}
	return nil, fmt.Errorf("cart: unknown command type %q", typ)
}

// events are the cart's event types and their current schema versions.
// ItemAdded is at 2 (it gained name and unitPriceCents; v1 rows are upcast
// on read by the event catalog's upcasters).
var events = codec.NewEvents[Event]("cart",
	codec.Event[Event, Created](1),
	codec.Event[Event, ItemAdded](2),
	codec.Event[Event, QuantityChanged](1),
	codec.Event[Event, ItemRemoved](1),
	codec.Event[Event, CheckedOut](1),
	codec.Event[Event, Expired](1),
)

// DecodeEvent decodes stored event data of type typ (at its current schema).
func DecodeEvent(typ string, data []byte) (Event, error) { return events.Decode(typ, data) }

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(typ string) int { return events.SchemaVersion(typ) }
