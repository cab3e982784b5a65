package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prism-es/prism/prismctl/internal/client"
	"github.com/prism-es/prism/prismctl/internal/sse"
)

// ResetEvent is the event type a stream sends when it cannot resume.
const ResetEvent = "reset"

// streamPath maps a watch target to its route and whether it needs a token.
func streamPath(target string) (path string, needsToken bool, ok bool) {
	switch target {
	case "me":
		return "/streams/me", true, true
	case "products":
		return "/streams/products", false, true
	}
	kind, id, found := strings.Cut(target, "/")
	if !found || id == "" || strings.Contains(id, "/") {
		return "", false, false
	}
	switch kind {
	case "cart", "carts":
		return "/streams/carts/" + url.PathEscape(id), true, true
	case "order", "orders":
		return "/streams/orders/" + url.PathEscape(id), true, true
	}
	return "", false, false
}

func runWatch(ctx context.Context, in *invocation, args []string) error {
	s := spec{args: "<stream>", minArgs: 1, maxArgs: 1, about: `
Follow a live stream of stream-service (Server-Sent Events) and print each event
as it arrives: time, type, id and data (with --json, one JSON object per line).
<stream> is one of:
  me             everything of yours: cart.updated, order.updated, notification,
                 command.completed
  products       product.updated (public, no token needed)
  cart/<id>      cart.updated of one of your carts
  order/<id>     order.updated of one of your orders
With a token, each connection opens with a single-use stream ticket bought from
the API (POST /api/stream-tickets, so --api must reach it); the token itself
never goes in a URL. When the connection drops, watch reconnects
with growing delays and sends Last-Event-ID, so it resumes right after the last
event it printed: nothing missed, nothing twice. If the server's history no
longer reaches that far back it sends a "reset" event, printed as a line of its
own: refetch your state (e.g. ` + "`prismctl cart show`" + `). Ctrl-C stops (exit 0).`,
		examples: `prismctl watch me
prismctl watch products --json
prismctl watch order/$ORDER --last-event-id 1732358400000-0`}
	lastID := in.fs.String("last-event-id", "", "resume after this event `ID` instead of starting live")
	pos, err := in.parse(s, args)
	if err != nil {
		return err
	}
	path, needsToken, ok := streamPath(pos[0])
	if !ok {
		return usagef(in.path, "unknown stream %q: want me, products, cart/<id> or order/<id>", pos[0])
	}
	if err := in.checkURL("streams", in.g.streams); err != nil {
		return err
	}
	need := authOptional
	if needsToken {
		need = authUser
	}
	api, err := in.api(ctx, need)
	if err != nil {
		return err
	}
	token := api.Token
	base := strings.TrimRight(in.g.streams, "/") + path
	w := &sse.Watcher{URL: base, LastEventID: *lastID, MinBackoff: in.StreamBackoff, Client: in.streamClient()}
	if token != "" {
		w.URLFor = func(ctx context.Context) (string, error) { return ticketURL(ctx, api, base, path) }
	}
	w.OnEvent = in.printEvent
	w.OnConnect = func(from string, reconnect bool) {
		switch {
		case reconnect && from != "":
			in.note("reconnected; resuming after %s", from)
		case reconnect:
			in.note("reconnected")
		default:
			in.note("watching %s (Ctrl-C to stop)", base)
		}
	}
	w.OnDrop = func(err error, wait time.Duration) {
		in.note("connection lost (%s); reconnecting in %s", redact(err, token), wait.Round(time.Millisecond))
	}
	err = w.Run(ctx)
	if interrupted(ctx, err) {
		return nil
	}
	return watchError(err, base, token)
}

// ticketURL is the stream's URL with a new ticket. A refusal that asking
// again will not change (a bad token, not your cart) ends the watch.
func ticketURL(ctx context.Context, api *client.Client, base, path string) (string, error) {
	t, err := api.StreamTicket(ctx, path)
	if err != nil {
		var p *client.Problem
		if errors.As(err, &p) && p.Status >= 400 && p.Status < 500 && p.Status != http.StatusTooManyRequests && p.Status != http.StatusRequestTimeout {
			return "", sse.Stop(err)
		}
		return "", err
	}
	return base + "?" + url.Values{"ticket": {t.Ticket}}.Encode(), nil
}

// streamClient is the HTTP client for streams: the App's, if set.
func (in *invocation) streamClient() *http.Client {
	if in.HTTP != nil {
		return in.HTTP
	}
	return sse.DefaultClient
}

// eventLine is an event as printed with --json.
type eventLine struct {
	Time  string          `json:"time"`
	ID    string          `json:"id,omitempty"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// printEvent prints one event.
func (in *invocation) printEvent(ev sse.Event) error {
	now := in.now()
	if in.g.json {
		data := json.RawMessage(ev.Data)
		if !json.Valid(data) {
			data, _ = json.Marshal(ev.Data)
		}
		b, err := json.Marshal(eventLine{Time: now.UTC().Format(time.RFC3339Nano), ID: ev.ID, Event: ev.Type, Data: data})
		if err != nil {
			return err
		}
		if ev.Type == ResetEvent {
			in.note("reset: %s", resetReason(ev))
		}
		_, err = fmt.Fprintf(in.Stdout, "%s\n", b)
		return err
	}
	stamp := now.Format("15:04:05")
	if ev.Type == ResetEvent {
		from := "live events"
		if ev.ID != "" {
			from = ev.ID
		}
		_, err := fmt.Fprintf(in.Stdout, "%s ---- reset: %s; resuming from %s ----\n", stamp, resetReason(ev), from)
		return err
	}
	_, err := fmt.Fprintf(in.Stdout, "%s %s id=%s %s\n", stamp, ev.Type, ev.ID, oneLine(ev.Data, 10000))
	return err
}

func resetReason(ev sse.Event) string {
	var d struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(ev.Data), &d) == nil && d.Reason != "" {
		return d.Reason
	}
	return "the stream cannot resume where it left off; refetch your state"
}

// watchError turns the watcher's end into a message, without the token.
func watchError(err error, base, token string) error {
	var re *sse.ResponseError
	var p *client.Problem
	switch {
	case errors.As(err, &re):
		p = client.ParseProblem(re.StatusCode, re.Header, re.Body)
	case errors.As(err, &p): // the API refused the stream ticket
	}
	if p != nil {
		switch p.Status {
		case http.StatusUnauthorized:
			return hint(p, "the token is missing, expired or invalid: get one with `prismctl token <user>`, or pass --user NAME (dev mode)")
		case http.StatusNotFound:
			return hint(p, "there is no such stream, or it is not yours (someone else's cart or order is 404 too)")
		}
		return fmt.Errorf("%s: %w", base, p)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &client.TransportError{Service: "the stream service", Method: http.MethodGet, URL: base, Err: ue.Err,
			Hint: client.DefaultHint + " (or point --streams at it)"}
	}
	if err == nil {
		return nil
	}
	return errors.New(redact(err, token))
}

// redact removes the token from an error message (URLs carry it).
func redact(err error, token string) string {
	s := err.Error()
	if token != "" {
		s = strings.ReplaceAll(s, url.QueryEscape(token), "REDACTED")
		s = strings.ReplaceAll(s, token, "REDACTED")
	}
	return s
}
