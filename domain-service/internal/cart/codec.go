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

var decoders = codec.Decoders[Event]{
	Created{}.EventType():         codec.As[Event, Created](),
	ItemAdded{}.EventType():       codec.As[Event, ItemAdded](),
	QuantityChanged{}.EventType(): codec.As[Event, QuantityChanged](),
	ItemRemoved{}.EventType():     codec.As[Event, ItemRemoved](),
	CheckedOut{}.EventType():      codec.As[Event, CheckedOut](),
	Expired{}.EventType():         codec.As[Event, Expired](),
}

// DecodeEvent decodes stored event data of type typ (at its current schema).
func DecodeEvent(typ string, data []byte) (Event, error) {
	return decoders.Decode("cart", typ, data)
}

// SchemaVersion is the current schema version of each event type.
// ItemAdded is at 2 (it gained name and unitPriceCents; v1 rows are upcast
// on read by the event catalog's upcasters).
func SchemaVersion(typ string) int {
	if typ == (ItemAdded{}).EventType() {
		return 2
	}
	return 1
}
