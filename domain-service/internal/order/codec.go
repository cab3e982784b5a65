package order

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate/codec"
)

// Command types on the wire.
const (
	CmdPlace             = "PlaceOrder"
	CmdCancel            = "CancelOrder"
	CmdMarkStockReserved = "MarkOrderStockReserved"
	CmdMarkPaid          = "MarkOrderPaid"
	CmdConfirm           = "ConfirmOrder"
	CmdShip              = "ShipOrder"
	CmdDeliver           = "DeliverOrder"
)

// PlacePayload is the payload of PlaceOrder.
type PlacePayload struct {
	CartID       string `json:"cartId"`
	Owner        string `json:"owner"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken,omitempty"`
}

// CancelPayload is the payload of CancelOrder. Reason is set by the saga;
// a customer's cancel (system=false) is always ReasonCustomer.
type CancelPayload struct {
	Reason string `json:"reason,omitempty"`
	System bool   `json:"system,omitempty"`
}

// ShipPayload is the payload of ShipOrder.
type ShipPayload struct {
	TrackingNumber string `json:"trackingNumber,omitempty"`
}

// ParseCommand decodes a command envelope's type and payload, sent by user by.
func ParseCommand(typ string, payload []byte, by string) (Command, error) {
	switch typ {
	case CmdPlace:
		p, err := codec.Payload[PlacePayload](payload)
		return Place{Owner: p.Owner, CartID: p.CartID, Lines: p.Lines, TotalCents: p.TotalCents, PaymentToken: p.PaymentToken}, err
	case CmdCancel:
		p, err := codec.Payload[CancelPayload](payload)
		if p.System {
			return Cancel{Reason: p.Reason}, err
		}
		return Cancel{By: by, Reason: ReasonCustomer}, err
	case CmdMarkStockReserved:
		_, err := codec.Payload[struct{}](payload)
		return MarkStockReserved{}, err
	case CmdMarkPaid:
		p, err := codec.Payload[struct {
			PaymentID string `json:"paymentId"`
		}](payload)
		return MarkPaid{PaymentID: p.PaymentID}, err
	case CmdConfirm:
		_, err := codec.Payload[struct{}](payload)
		return Confirm{}, err
	case CmdShip:
		p, err := codec.Payload[ShipPayload](payload)
		return Ship{TrackingNumber: p.TrackingNumber}, err
	case CmdDeliver:
		_, err := codec.Payload[struct{}](payload)
		return Deliver{}, err
	}
	return nil, fmt.Errorf("order: unknown command type %q", typ)
}

// events are the order's event types and their current schema versions.
// OrderShipped is at 2 (it gained the optional trackingNumber; v1 rows are
// upcast on read by the event catalog's upcasters).
var events = codec.NewEvents[Event]("order",
	codec.Event[Event, Placed](1),
	codec.Event[Event, StockReserved](1),
	codec.Event[Event, Paid](1),
	codec.Event[Event, Confirmed](1),
	codec.Event[Event, Shipped](2),
	codec.Event[Event, Delivered](1),
	codec.Event[Event, Cancelled](1),
)

// DecodeEvent decodes stored event data of type typ (at its current schema).
func DecodeEvent(typ string, data []byte) (Event, error) { return events.Decode(typ, data) }

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(typ string) int { return events.SchemaVersion(typ) }
