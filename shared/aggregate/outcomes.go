package aggregate

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/tracing"
)

// Outcomes records how a command ended: its status for GET
// /api/commands/{id} and a command.completed notice on its user's stream.
type Outcomes struct {
	// Status keeps command statuses in Redis (commandstatus.New).
	Status *commandstatus.Store
	// Notices publishes command.completed on the user's stream.
	Notices *notices.Publisher
}

// FailedReason is what a client is told about a command given up on.
const FailedReason = "the command could not be processed and was set aside for an operator"

// Succeeded records success at the aggregate version the command left.
func (o Outcomes) Succeeded(ctx context.Context, cmd envelope.Command, version int64) error {
	return o.record(ctx, cmd, commandstatus.Succeeded, "", version)
}

// Rejected records a business-rule refusal with its reason.
func (o Outcomes) Rejected(ctx context.Context, cmd envelope.Command, reason string) error {
	return o.record(ctx, cmd, commandstatus.Rejected, reason, 0)
}

// Failed records that the command was moved to the poison queue.
func (o Outcomes) Failed(ctx context.Context, cmd envelope.Command) error {
	return o.record(ctx, cmd, commandstatus.Failed, FailedReason, 0)
}

// Completed is the data of a command.completed notice (API.md).
type Completed struct {
	CommandID   string `json:"commandId"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	AggregateID string `json:"aggregateId"`
	Version     int64  `json:"version,omitempty"`
}

// record keeps the outcome of a client's command. Commands the system sends
// itself (follow-ups and the saga's steps carry no Idempotency-Key) have no
// client waiting on them: their outcomes are only logged and counted.
func (o Outcomes) record(ctx context.Context, cmd envelope.Command, status, reason string, version int64) error {
	if cmd.Metadata.IdempotencyKey == "" {
		if status != commandstatus.Succeeded {
			slog.WarnContext(ctx, "system command did not succeed", "commandType", cmd.Type, "status", status, "reason", reason)
		}
		return nil
	}
	// Statuses only move forward: when an earlier outcome stands (a
	// redelivery, a replica that lost the message), announce that one.
	st, _, err := o.Status.Advance(ctx, commandstatus.Status{
		CommandID: cmd.CommandID, Type: cmd.Type, Status: status, Reason: reason,
		AggregateID: cmd.AggregateID, Version: version, UserID: cmd.Metadata.UserID,
	})
	if err != nil {
		return err
	}
	data, err := json.Marshal(Completed{CommandID: cmd.CommandID, Status: st.Status, Reason: st.Reason, AggregateID: cmd.AggregateID, Version: st.Version})
	if err != nil {
		return err
	}
	_, err = o.Notices.Publish(ctx, notices.Item{Stream: notices.UserStream(cmd.Metadata.UserID), Type: "command.completed", Data: data, Traceparent: tracing.Traceparent(ctx)})
	return err
}
