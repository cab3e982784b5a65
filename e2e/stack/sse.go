package stack

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Event is one SSE event.
type Event struct {
	ID, Type, Data string
}

// Subscribe opens an SSE stream (path like "/streams/carts/<id>") as a
// browser does: with a ticket bought with the token (POST
// /api/stream-tickets) when there is a token, and Last-Event-ID if set. It
// delivers events on the channel until ctx ends or the stream closes.
func (s *Stack) Subscribe(ctx context.Context, path, token, lastEventID string) (<-chan Event, error) {
	u := s.Streams + path
	if token != "" {
		t, err := s.Client().Ticket(ctx, token, path)
		if err != nil {
			return nil, err
		}
		u += "?ticket=" + url.QueryEscape(t)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("GET %s: HTTP %d", path, res.StatusCode)
	}
	out := make(chan Event, 1024)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev Event
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(data) > 0 {
					ev.Data = strings.Join(data, "\n")
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev, data = Event{}, nil
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id:"):
				ev.ID = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			case strings.HasPrefix(line, "event:"):
				ev.Type = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
	}()
	return out, nil
}
