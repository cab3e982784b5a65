package checkout

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate/codec"
)

// Command types on the wire. The saga's reactor sends them to itself.
const (
	CmdStart                  = "StartCheckout"
	CmdNoteReserved           = "NoteStockReserved"
	CmdNoteReservationFailed  = "NoteStockReservationFailed"
	CmdNoteOrderStockReserved = "NoteOrderStockReserved"
	CmdNoteCharged            = "NotePaymentCharged"
	CmdNoteDeclined           = "NotePaymentDeclined"
	CmdExpirePayment          = "ExpirePayment"
	CmdExpire                 = "ExpireCheckoutStep"
	CmdNoteOrderPaid          = "NoteOrderPaid"
	CmdNoteOrderConfirmed     = "NoteOrderConfirmed"
	CmdNoteOrderCancelled     = "NoteOrderCancelled"
	CmdNoteOrderShipped       = "NoteOrderShipped"
	CmdNoteRefunded           = "NotePaymentRefunded"
)

// StartPayload is the payload of StartCheckout.
type StartPayload struct {
	Owner        string `json:"owner"`
	Lines        []Line `json:"lines"`
	TotalCents   int64  `json:"totalCents"`
	PaymentToken string `json:"paymentToken"`
}

// NotePayload is the payload of every Note… command (fields as relevant)
// and of ExpireCheckoutStep (Phase).
type NotePayload struct {
	SKU       string `json:"sku,omitempty"`
	PaymentID string `json:"paymentId,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Phase     string `json:"phase,omitempty"`
}

// ParseCommand decodes a command envelope's type and payload.
func ParseCommand(typ string, payload []byte) (Command, error) {
	if typ == CmdStart {
		p, err := codec.Payload[StartPayload](payload)
		return Start{Owner: p.Owner, Lines: p.Lines, TotalCents: p.TotalCents, PaymentToken: p.PaymentToken}, err
	}
	p, err := codec.Payload[NotePayload](payload)
	var c Command
	switch typ {
	case CmdNoteReserved:
		c = NoteReserved{SKU: p.SKU}
	case CmdNoteReservationFailed:
		c = NoteReservationFailed{SKU: p.SKU}
	case CmdNoteOrderStockReserved:
		c = NoteOrderStockReserved{}
	case CmdNoteCharged:
		c = NoteCharged{PaymentID: p.PaymentID}
	case CmdNoteDeclined:
		c = NoteDeclined{Reason: p.Reason}
	case CmdExpirePayment:
		c = Expire{Phase: PhaseCharging}
	case CmdExpire:
		c = Expire{Phase: p.Phase}
	case CmdNoteOrderPaid:
		c = NoteOrderPaid{}
	case CmdNoteOrderConfirmed:
		c = NoteOrderConfirmed{}
	case CmdNoteOrderCancelled:
		c = NoteOrderCancelled{Reason: p.Reason}
	case CmdNoteOrderShipped:
		c = NoteOrderShipped{}
	case CmdNoteRefunded:
		c = NoteRefunded{}
	default:
		return nil, fmt.Errorf("checkout: unknown command type %q", typ)
	}
	return c, err
}

// events are the checkout's event types and their current schema versions.
var events = codec.NewEvents[Event]("checkout",
	codec.Event[Event, Started](1),
	codec.Event[Event, LineReserved](1),
	codec.Event[Event, ReservationCompleted](1),
	codec.Event[Event, PaymentRequested](1),
	codec.Event[Event, PaymentSucceeded](1),
	codec.Event[Event, ConfirmRequested](1),
	codec.Event[Event, Confirmed](1),
	codec.Event[Event, Failed](1),
	codec.Event[Event, Cancelled](1),
	codec.Event[Event, ReleaseRequested](1),
	codec.Event[Event, LatePaymentReceived](1),
	codec.Event[Event, StockCommitRequested](1),
	codec.Event[Event, RefundCompleted](1),
	codec.Event[Event, DeadlineSet](1),
	codec.Event[Event, CancelRequested](1),
)

// DecodeEvent decodes stored event data of type typ (at its current schema).
func DecodeEvent(typ string, data []byte) (Event, error) { return events.Decode(typ, data) }

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(typ string) int { return events.SchemaVersion(typ) }
