package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prism-es/prism/prismctl/internal/client"
)

// DefaultRebuildInterval is how often `rebuild` polls progress.
const DefaultRebuildInterval = 500 * time.Millisecond

func runRebuild(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<projection>", minArgs: 1, maxArgs: 1, exitCodes: true, about: `
Rebuild a read-model projection (carts, orders or products) on readmodel-updater:
POST /admin/rebuilds/{projection}, then follow GET /admin/rebuilds/{projection}
every 500 ms, printing the phase (replaying, switching, catching-up) and the
streams and events replayed, until it is done or failed (exit 2). Readers keep
being served throughout. If a rebuild of that projection is already running, it
is followed instead. Needs an admin token (--token/$PRISM_TOKEN with the admin
role, or --user NAME to fetch one from the API in dev mode). With --json each
progress change is one JSON object per line.`,
		examples: `prismctl rebuild carts --user shopkeeper
prismctl rebuild orders --updater http://localhost:8083 --token "$ADMIN" --json`}
	noWait := in.fs.Bool("no-wait", false, "start it and return without following")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	if err := in.checkURL("updater", in.g.updater); err != nil {
		return err
	}
	token, err := in.token(ctx, authAdmin)
	if err != nil {
		return err
	}
	c := in.newClient(in.g.updater, "readmodel-updater", "updater")
	c.Token = token
	projection := pos[0]

	p, err := c.StartRebuild(ctx, projection)
	if client.HasStatus(err, http.StatusConflict) {
		in.note("%v; following it", err)
		p, err = c.RebuildProgress(ctx, projection)
	}
	if err != nil {
		return explain(err)
	}
	every := in.RebuildInterval
	if every <= 0 {
		every = DefaultRebuildInterval
	}
	var last client.RebuildProgress
	for first := true; ; first = false {
		if first || changed(last, p) {
			if err := in.printProgress(p); err != nil {
				return err
			}
			last = p
		}
		if p.Finished() || *noWait {
			break
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if p, err = c.RebuildProgress(ctx, projection); err != nil {
			return explain(err)
		}
	}
	if p.Phase == client.PhaseFailed {
		return exit(ExitRejected)
	}
	return nil
}

func changed(a, b client.RebuildProgress) bool {
	return a.Phase != b.Phase || a.Streams != b.Streams || a.Events != b.Events || a.CaughtUp != b.CaughtUp || a.Table != b.Table
}

// printProgress prints one progress line (or JSON object).
func (in *invocation) printProgress(p client.RebuildProgress) error {
	if in.g.json {
		var buf []byte
		if len(p.Raw) > 0 && json.Valid(p.Raw) {
			var v any
			_ = json.Unmarshal(p.Raw, &v)
			buf, _ = json.Marshal(v) // compact, one line
		} else {
			buf, _ = json.Marshal(p)
		}
		_, err := fmt.Fprintf(in.Stdout, "%s\n", buf)
		return err
	}
	var err error
	switch p.Phase {
	case client.PhaseDone:
		_, err = fmt.Fprintf(in.Stdout, "done in %s: %d streams, %d events, %d caught up; %s now reads from table %s\n",
			took(p), p.Streams, p.Events, p.CaughtUp, p.Projection, p.Table)
	case client.PhaseFailed:
		_, err = fmt.Fprintf(in.Stdout, "failed after %s (%d streams, %d events): %s\n", took(p), p.Streams, p.Events, p.Error)
	default:
		_, err = fmt.Fprintf(in.Stdout, "%-12s streams %d  events %d  caught up %d  (table %s)\n", p.Phase, p.Streams, p.Events, p.CaughtUp, p.Table)
	}
	return err
}

// took is how long the rebuild ran.
func took(p client.RebuildProgress) string {
	if p.StartedAt.IsZero() || p.FinishedAt.IsZero() {
		return "?"
	}
	return p.FinishedAt.Sub(p.StartedAt).Round(time.Millisecond).String()
}
