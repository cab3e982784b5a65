package commandapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/idempotency"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/tracing"
)

// Service accepts commands: what every command route shares.
type Service struct {
	// Idempotency claims and records Idempotency-Keys.
	Idempotency *idempotency.Store
	// Status records each accepted command as pending.
	Status *commandstatus.Store
	// Commands sends the command (a queue.Commands routes it to its shard).
	Commands queue.Sender
	// StatusPath is the path of the status route, before the command id
	// (default DefaultStatusPath).
	StatusPath string
}

// DefaultStatusPath is where the 202's status URL points by default.
const DefaultStatusPath = "/api/commands/"

// IdempotencyHeader is the header every command route requires.
const IdempotencyHeader = "Idempotency-Key"

// CommandIDKind is the kind of id a command's own id is named under
// (see [Request.NewID]).
const CommandIDKind = "command"

var idempotencyPattern = regexp.MustCompile(`^[\x21-\x7e][\x20-\x7e]{0,127}$`)

// draft is what a route makes of a valid request.
type draft struct {
	typ, aggregateType string
	cmd                Command
}

// builder validates a request and drafts its command.
type builder func(r *Request, body []byte) (draft, error)

// accept is the one flow every command route shares.
func (s *Service) accept(build builder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok || p.UserID == "" {
			httpapi.WriteError(w, r, apperr.New(apperr.Unauthenticated, "a bearer token is required"))
			return
		}
		user := p.UserID
		key := r.Header.Get(IdempotencyHeader)
		if !idempotencyPattern.MatchString(key) {
			msg := "is required (1-128 printable characters)"
			if key != "" {
				msg = "must be 1-128 printable characters"
			}
			httpapi.WriteError(w, r, apperr.Fields("missing or invalid Idempotency-Key", apperr.FieldError{Field: IdempotencyHeader, Message: msg}))
			return
		}
		body, err := httpapi.ReadBody(r)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		req := &Request{user: user, key: key}
		commandID := req.NewID(CommandIDKind)
		// A request without a correlation id of its own is correlated by
		// its command id: a retry carries the same, and the idempotency
		// record need not keep it.
		r = httpapi.WithCorrelationID(w, r, commandID)
		ctx := r.Context()
		req.Request = r
		d, err := build(req, body)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		fp := idempotency.Fingerprint(r.Method, r.URL.Path, body)
		outcome, prev, err := s.Idempotency.Begin(ctx, user, key, fp)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		switch outcome {
		case idempotency.Replay:
			replayedTotal.WithLabelValues("replay").Inc()
			w.Header().Set("Idempotent-Replayed", "true")
			if prev.Legacy != nil {
				writeAccepted(w, prev.Legacy.Status, prev.Legacy.Location, prev.Legacy.Body)
				return
			}
			// The same fingerprint is the same request, so the draft and the
			// ids it names are the first request's: the first 202, rebuilt.
			corr := prev.CorrelationID
			if corr == "" {
				corr = commandID
			}
			acc := s.accepted(commandID, corr, d)
			resp, _ := json.Marshal(acc)
			writeAccepted(w, http.StatusAccepted, acc.StatusURL, resp)
			return
		case idempotency.Mismatch:
			replayedTotal.WithLabelValues("mismatch").Inc()
			httpapi.WriteError(w, r, apperr.New(apperr.Mismatch, "this Idempotency-Key was used for a different request"))
			return
		case idempotency.InFlight:
			replayedTotal.WithLabelValues("in_flight").Inc()
			w.Header().Set("Retry-After", "1")
			httpapi.WriteError(w, r, apperr.New(apperr.Conflict, "a request with this Idempotency-Key is still being processed"))
			return
		}
		// Once the key is claimed, a client that goes away must not cut the
		// enqueue short: a send cancelled mid-flight may still have queued
		// the command, and releasing the key then would let a retry queue it
		// twice.
		enqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
		defer cancel()
		acc, err := s.enqueue(enqCtx, r, user, key, commandID, d)
		if err != nil {
			if aerr := s.Idempotency.Abandon(context.WithoutCancel(ctx), user, key, fp); aerr != nil {
				slog.WarnContext(ctx, "could not release the idempotency key", "err", aerr)
			}
			httpapi.WriteError(w, r, err)
			return
		}
		resp, _ := json.Marshal(acc)
		corr := acc.CorrelationID
		if corr == acc.CommandID {
			corr = "" // the record's one-byte "the command's own id"
		}
		if err := s.Idempotency.Complete(context.WithoutCancel(ctx), user, key, fp, corr); err != nil {
			slog.WarnContext(ctx, "command queued but its idempotency record was not completed", "commandId", acc.CommandID, "err", err)
		}
		writeAccepted(w, http.StatusAccepted, acc.StatusURL, resp)
	}
}

// enqueueTimeout bounds an enqueue that no longer follows the request's context.
const enqueueTimeout = 15 * time.Second

// enqueue records the command as pending and puts it on the queue; if the
// queue refuses, the pending status is removed again (nothing half-done).
func (s *Service) enqueue(ctx context.Context, r *http.Request, user, key, commandID string, d draft) (Accepted, error) {
	ctx, span := tracing.Start(ctx, "enqueue "+d.typ, attribute.String("prism.aggregate_id", d.cmd.AggregateID))
	defer span.End()
	payload := d.cmd.Payload
	if payload == nil {
		payload = struct{}{}
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return Accepted{}, err
	}
	cmd := envelope.Command{
		CommandID: commandID, Type: d.typ, AggregateType: d.aggregateType, AggregateID: d.cmd.AggregateID, Payload: raw,
		Metadata: envelope.CommandMetadata{
			CorrelationID: httpapi.CorrelationID(r), UserID: user, IdempotencyKey: key,
			Traceparent: tracing.Traceparent(ctx), IssuedAt: time.Now().UTC(),
		},
	}
	if err := cmd.Validate(); err != nil {
		return Accepted{}, err
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return Accepted{}, err
	}
	if err := s.Status.Set(ctx, commandstatus.Status{CommandID: cmd.CommandID, Type: cmd.Type, Status: commandstatus.Pending, AggregateID: cmd.AggregateID, UserID: user}); err != nil {
		return Accepted{}, err
	}
	if err := s.Commands.Send(ctx, body); err != nil {
		if derr := s.Status.Withdraw(context.WithoutCancel(ctx), cmd.CommandID); derr != nil {
			slog.WarnContext(ctx, "could not remove the pending status of an unqueued command", "commandId", cmd.CommandID, "err", derr)
		}
		return Accepted{}, err
	}
	acceptedTotal.WithLabelValues(cmd.Type).Inc()
	slog.InfoContext(ctx, "command accepted", "commandId", cmd.CommandID, "commandType", cmd.Type, "aggregateId", cmd.AggregateID)
	return s.accepted(cmd.CommandID, cmd.Metadata.CorrelationID, d), nil
}

// accepted is the 202 of the command commandID drafted as d: everything in
// it but the correlation id follows from the request, so a replay rebuilds
// it byte for byte from the idempotency record's correlation id.
func (s *Service) accepted(commandID, correlationID string, d draft) Accepted {
	return Accepted{
		CommandID: commandID, CorrelationID: correlationID, AggregateID: d.cmd.AggregateID,
		Status: commandstatus.Pending, StatusURL: s.statusPath() + commandID, Also: d.cmd.Also,
	}
}

func (s *Service) statusPath() string {
	if s.StatusPath == "" {
		return DefaultStatusPath
	}
	return s.StatusPath
}

func writeAccepted(w http.ResponseWriter, status int, location string, body []byte) {
	w.Header().Set("Location", location)
	httpapi.WriteRawJSON(w, status, body)
}
