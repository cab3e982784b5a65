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

var decoders = codec.Decoders[Event]{
	Charged{}.EventType():  codec.As[Event, Charged](),
	Declined{}.EventType(): codec.As[Event, Declined](),
	Refunded{}.EventType(): codec.As[Event, Refunded](),
}

// DecodeEvent decodes stored event data of type typ.
func DecodeEvent(typ string, data []byte) (Event, error) {
	return decoders.Decode("payment", typ, data)
}

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(string) int { return 1 }
