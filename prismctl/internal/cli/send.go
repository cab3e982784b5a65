package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prism-es/prism/prismctl/internal/client"
)

// DefaultTimeout bounds the wait for a command's outcome.
const DefaultTimeout = 30 * time.Second

// waitFlags are the flags of every command-sending command.
type waitFlags struct {
	key     string
	noWait  bool
	timeout time.Duration
	quiet   bool
}

func (in *invocation) waitFlags() *waitFlags {
	w := &waitFlags{}
	in.fs.StringVar(&w.key, "key", "", "Idempotency-Key to send (default: a new UUID); the same `KEY` and body replays the first answer")
	in.fs.BoolVar(&w.noWait, "no-wait", false, "print the 202 and return without waiting for the outcome")
	in.fs.DurationVar(&w.timeout, "timeout", DefaultTimeout, "how long to wait for the outcome")
	in.fs.BoolVar(&w.quiet, "quiet", false, "print only the id of what the command made or changed (for scripts)")
	return w
}

const waitAbout = `

It sends an Idempotency-Key (a new UUID, or --key), prints the 202 (command id,
aggregate id) and then waits for the command's outcome by polling
GET /api/commands/{id}, up to --timeout; --no-wait skips the wait.`

// commandResult is what a command-sending command prints with --json: the
// 202 merged with the final (or last seen) status.
type commandResult struct {
	CommandID      string `json:"commandId"`
	Type           string `json:"type,omitempty"`
	AggregateID    string `json:"aggregateId"`
	OrderID        string `json:"orderId,omitempty"`
	CorrelationID  string `json:"correlationId,omitempty"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	Replayed       bool   `json:"replayed,omitempty"`
	Status         string `json:"status"`
	Reason         string `json:"reason,omitempty"`
	Version        int64  `json:"version,omitempty"`
	UpdatedAt      string `json:"updatedAt,omitempty"`
	// TimedOut is set when --timeout ran out with the command still pending.
	TimedOut bool `json:"timedOut,omitempty"`
}

func (r *commandResult) apply(s client.Status) {
	r.Status, r.Reason, r.Version, r.UpdatedAt = s.Status, s.Reason, s.Version, s.UpdatedAt
	if s.Type != "" {
		r.Type = s.Type
	}
}

// send sends cmd, waits for its outcome unless told not to, prints it and
// returns the exit: nil when it succeeded (or was not waited for), exit 2
// when rejected or failed, exit 3 when still pending at the deadline.
// label names the aggregate ("cart", "order", "product").
func (in *invocation) send(ctx context.Context, need auth, cmd client.Command, w *waitFlags, label string) error {
	c, err := in.api(ctx, need)
	if err != nil {
		return err
	}
	cmd.Key = w.key
	acc, err := c.Send(ctx, cmd)
	if err != nil {
		return explain(err)
	}
	res := commandResult{
		CommandID: acc.CommandID, Type: cmd.Name, AggregateID: acc.AggregateID, OrderID: acc.OrderID,
		CorrelationID: acc.CorrelationID, IdempotencyKey: acc.Key, Replayed: acc.Replayed, Status: acc.Status,
	}
	if !in.g.json && !w.quiet {
		in.printAccepted(res, label)
	}
	if !w.noWait {
		wctx, cancel := context.WithTimeout(ctx, w.timeout)
		st, err := c.Wait(wctx, acc.CommandID)
		cancel()
		switch {
		case err == nil:
			res.apply(st)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			res.apply(st)
			res.TimedOut = true
		case interrupted(ctx, err):
			in.note("interrupted while waiting; follow it with: prismctl status %s --wait", acc.CommandID)
			return err
		default:
			return fmt.Errorf("command %s was accepted, but its status could not be read: %w", acc.CommandID, explain(err))
		}
	}
	return in.finish(res, w, label, w.timeout)
}

// printAccepted prints the 202 part.
func (in *invocation) printAccepted(r commandResult, label string) {
	cmdLine := withType(r.CommandID, r.Type)
	if r.Replayed {
		cmdLine += "  replayed: this Idempotency-Key was used before; nothing new was queued"
	}
	kv := []string{"command", cmdLine, label, r.AggregateID}
	if r.OrderID != "" {
		kv = append(kv, "order", r.OrderID)
	}
	fields(in.Stdout, kv...)
}

// finish prints the outcome line (or JSON) and returns the exit.
func (in *invocation) finish(r commandResult, w *waitFlags, label string, timeout time.Duration) error {
	code := outcomeCode(r)
	switch {
	case in.g.json:
		if err := in.printJSON(r); err != nil {
			return err
		}
	case w != nil && w.quiet:
		if code == ExitOK {
			id := r.AggregateID
			if r.OrderID != "" {
				id = r.OrderID
			}
			fmt.Fprintln(in.Stdout, id)
		} else {
			fmt.Fprintln(in.Stderr, outcomeLine(r, timeout))
		}
	default:
		fmt.Fprintln(in.Stdout, outcomeLine(r, timeout))
	}
	if code != ExitOK {
		return exit(code)
	}
	return nil
}

func outcomeCode(r commandResult) int {
	switch {
	case r.Status == client.StatusRejected || r.Status == client.StatusFailed:
		return ExitRejected
	case r.TimedOut:
		return ExitPending
	}
	return ExitOK
}

// outcomeLine is the human line for a status.
func outcomeLine(r commandResult, timeout time.Duration) string {
	switch r.Status {
	case client.StatusSucceeded:
		if r.Version > 0 {
			return fmt.Sprintf("succeeded (version %d)", r.Version)
		}
		return "succeeded"
	case client.StatusRejected, client.StatusFailed:
		reason := r.Reason
		if reason == "" {
			reason = "(no reason given)"
		}
		return r.Status + ": " + reason
	case client.StatusPending:
		if r.TimedOut {
			return fmt.Sprintf("still pending after %s; follow it with: prismctl status %s --wait", timeout, r.CommandID)
		}
		return "pending; follow it with: prismctl status " + r.CommandID + " --wait"
	}
	return r.Status
}

// withType is "<commandId>  (<type>)", or the id alone when the type is unknown.
func withType(id, typ string) string {
	if typ == "" {
		return id
	}
	return id + "  (" + typ + ")"
}
