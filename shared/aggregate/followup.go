package aggregate

import (
	"encoding/json"
	"time"

	"github.com/prism-es/prism/shared/envelope"
)

// FollowUp is a command the system sends in reaction to event e (a React, a
// process manager's next step), with an id derived from idParts
// (envelope.DerivedID) so that reacting twice sends the same command, which
// the event store then drops as a duplicate. It carries e's correlation,
// user and trace on, and e as its cause.
func FollowUp(e envelope.Event, aggregateType, aggregateID, typ string, payload any, idParts ...string) (envelope.Command, error) {
	return followUpOf(e.EventID, e.Metadata.CorrelationID, e.Metadata.UserID, e.Metadata.Traceparent, aggregateType, aggregateID, typ, payload, idParts...)
}

// FollowUpOfCommand is FollowUp for a command caused by another command (a
// deadline that re-arms itself in Rearm).
func FollowUpOfCommand(cmd envelope.Command, aggregateType, aggregateID, typ string, payload any, idParts ...string) (envelope.Command, error) {
	m := cmd.Metadata
	return followUpOf(cmd.CommandID, m.CorrelationID, m.UserID, m.Traceparent, aggregateType, aggregateID, typ, payload, idParts...)
}

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
