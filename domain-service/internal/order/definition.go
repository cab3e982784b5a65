package order

import (
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/envelope"
)

// Definition is the order for the kit's aggregate handler.
func Definition() aggregate.Definition[State, Command, Event] {
	return aggregate.Definition[State, Command, Event]{
		Type:         AggregateType,
		StateVersion: StateVersion,
		Commands:     []string{CmdPlace, CmdCancel, CmdMarkStockReserved, CmdMarkPaid, CmdConfirm, CmdShip, CmdDeliver},
		New:          New,
		Exists:       func(s State) bool { return s.Exists },
		Parse: func(c envelope.Command) (Command, error) {
			return ParseCommand(c.Type, c.Payload, c.Metadata.UserID)
		},
		Decide:        Decide,
		Evolve:        Evolve,
		DecodeEvent:   DecodeEvent,
		SchemaVersion: SchemaVersion,
	}
}
