package product

import (
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/envelope"
)

// Definition is the product (a SKU's catalog entry and stock) for the kit's
// aggregate handler.
func Definition() aggregate.Definition[State, Command, Event] {
	return aggregate.Definition[State, Command, Event]{
		Type:          AggregateType,
		StateVersion:  StateVersion,
		Commands:      []string{CmdDefine, CmdRestock, CmdReserve, CmdRelease, CmdCommit},
		New:           New,
		Exists:        func(s State) bool { return s.Exists },
		Parse:         func(c envelope.Command) (Command, error) { return ParseCommand(c.Type, c.Payload) },
		Decide:        Decide,
		Evolve:        Evolve,
		DecodeEvent:   DecodeEvent,
		SchemaVersion: SchemaVersion,
	}
}
