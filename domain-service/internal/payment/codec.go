package payment

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate/codec"
)

// Command types on the wire.
const (
	CmdCharge = "ChargePayment"
	CmdRefund = "RefundPayment"
)

// ChargePayload is the payload of ChargePayment.
type ChargePayload struct {
	AmountCents int64  `json:"amountCents"`
	Token       string `json:"token"`
}

// ParseCommand decodes a command envelope's type and payload.
func ParseCommand(typ string, payload []byte) (Command, error) {
	switch typ {
	case CmdCharge:
		p, err := codec.Payload[ChargePayload](payload)
		return Charge{AmountCents: p.AmountCents, Token: p.Token}, err
	case CmdRefund:
		_, err := codec.Payload[struct{}](payload)
		return Refund{}, err
	}
	return nil, fmt.Errorf("payment: unknown command type %q", typ)
}

// events are the payment's event types and their current schema versions.
var events = codec.NewEvents[Event]("payment",
	codec.Event[Event, Charged](1),
	codec.Event[Event, Declined](1),
	codec.Event[Event, Refunded](1),
)

// DecodeEvent decodes stored event data of type typ (at its current schema).
func DecodeEvent(typ string, data []byte) (Event, error) { return events.Decode(typ, data) }

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(typ string) int { return events.SchemaVersion(typ) }
