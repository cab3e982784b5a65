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

var decoders = codec.Decoders[Event]{
	Started{}.EventType():              codec.As[Event, Started](),
	LineReserved{}.EventType():         codec.As[Event, LineReserved](),
	ReservationCompleted{}.EventType(): codec.As[Event, ReservationCompleted](),
	PaymentRequested{}.EventType():     codec.As[Event, PaymentRequested](),
	PaymentSucceeded{}.EventType():     codec.As[Event, PaymentSucceeded](),
	ConfirmRequested{}.EventType():     codec.As[Event, ConfirmRequested](),
	Confirmed{}.EventType():            codec.As[Event, Confirmed](),
	Failed{}.EventType():               codec.As[Event, Failed](),
	Cancelled{}.EventType():            codec.As[Event, Cancelled](),
	ReleaseRequested{}.EventType():     codec.As[Event, ReleaseRequested](),
	LatePaymentReceived{}.EventType():  codec.As[Event, LatePaymentReceived](),
	StockCommitRequested{}.EventType(): codec.As[Event, StockCommitRequested](),
	RefundCompleted{}.EventType():      codec.As[Event, RefundCompleted](),
	DeadlineSet{}.EventType():          codec.As[Event, DeadlineSet](),
	CancelRequested{}.EventType():      codec.As[Event, CancelRequested](),
}

// DecodeEvent decodes stored event data of type typ.
func DecodeEvent(typ string, data []byte) (Event, error) {
	return decoders.Decode("checkout", typ, data)
}

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(string) int { return 1 }
