package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Watcher defaults.
const (
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 15 * time.Second
	DefaultIdleTimeout = 45 * time.Second // three missed 15 s heartbeats
)

// Watcher follows one event stream: it connects, hands each event to
// OnEvent and, when the connection drops, reconnects with growing delays,
// sending Last-Event-ID so the server resumes right after the last event
// delivered (no gap, no duplicate).
type Watcher struct {
	// URL is the stream's full URL (with any query parameters).
	URL string
	// URLFor, when set, gives the URL of each connection instead of URL:
	// a stream opened with a single-use ticket needs a new one each time.
	// An error wrapped by Stop ends Run; any other is retried like a
	// failed connection.
	URLFor func(ctx context.Context) (string, error)
	// Client makes the requests. It must not have an overall Timeout (a
	// stream lasts); nil uses a client with a response-header timeout.
	Client *http.Client
	// LastEventID is where the next connection resumes ("" = live only);
	// Run keeps it up to date.
	LastEventID string
	// MinBackoff and MaxBackoff bound the delay before a reconnect; it
	// doubles with every attempt that received nothing. A retry: field or a
	// Retry-After header from the server raises the first delay.
	MinBackoff, MaxBackoff time.Duration
	// IdleTimeout drops a connection that has sent nothing (not even a
	// heartbeat comment) for that long, and reconnects. Negative: never.
	IdleTimeout time.Duration
	// RetryFirst makes Run retry when the very first connection fails;
	// otherwise that failure is returned (the server is probably not there).
	RetryFirst bool

	// OnEvent receives each event; an error stops Run, which returns it.
	OnEvent func(Event) error
	// OnConnect, when set, is told of each established connection.
	OnConnect func(resumeFrom string, reconnect bool)
	// OnDrop, when set, is told why a connection ended and when the next
	// attempt will be.
	OnDrop func(err error, wait time.Duration)

	serverRetry time.Duration
}

// ResponseError is a non-stream answer to a stream request.
type ResponseError struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// URL is the stream requested.
	URL string
}

// Error names the stream and the status.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Temporary reports whether trying again later may help (5xx, 408, 429).
func (e *ResponseError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests
}

// ErrIdle ends a connection on which nothing arrived for IdleTimeout.
var ErrIdle = errors.New("no data or heartbeat within the idle timeout")

// ErrServerClosed ends a connection the server closed.
var ErrServerClosed = errors.New("the server closed the stream")

// stopError carries OnEvent's (or URLFor's) error out of Run.
type stopError struct{ err error }

func (s stopError) Error() string { return s.err.Error() }

func (s stopError) Unwrap() error { return s.err }

// Stop marks an error of URLFor as final: Run returns it instead of
// retrying.
func Stop(err error) error { return stopError{err} }

// Run follows the stream until ctx ends (returning ctx's error), OnEvent
// fails, the server answers something that retrying cannot fix (a 4xx, or
// not an event stream), or the first connection fails and RetryFirst is off.
func (w *Watcher) Run(ctx context.Context) error {
	if w.OnEvent == nil {
		return errors.New("sse: Watcher.OnEvent is nil")
	}
	minB, maxB := w.MinBackoff, w.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB < minB {
		maxB = max(DefaultMaxBackoff, minB)
	}
	connected := false
	delay := minB
	for {
		progressed, established, err := w.once(ctx, connected)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var stop stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		var re *ResponseError
		if errors.As(err, &re) && !re.Temporary() {
			return err
		}
		if !connected && !established && !w.RetryFirst {
			return err
		}
		connected = connected || established
		if progressed {
			delay = minB
		}
		wait := max(delay, w.serverRetry)
		if re != nil {
			if ra := retryAfter(re.Header); ra > wait {
				wait = min(ra, maxB)
			}
		}
		delay = min(delay*2, maxB)
		if w.OnDrop != nil {
			w.OnDrop(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// once makes one connection and reads it until it ends. progressed says
// whether anything arrived on it; established whether the server answered
// with an event stream.
func (w *Watcher) once(ctx context.Context, reconnect bool) (progressed, established bool, err error) {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := w.URL
	if w.URLFor != nil {
		if u, err = w.URLFor(connCtx); err != nil {
			return false, false, err
		}
	}
	req, err := http.NewRequestWithContext(connCtx, http.MethodGet, u, nil)
	if err != nil {
		return false, false, stopError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if w.LastEventID != "" {
		req.Header.Set("Last-Event-ID", w.LastEventID)
	}
	resp, err := w.client().Do(req)
	if err != nil {
		return false, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return false, false, &ResponseError{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, URL: redactQuery(u)}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, false, stopError{fmt.Errorf("%s is not an event stream (Content-Type %q)", redactQuery(u), resp.Header.Get("Content-Type"))}
	}
	if w.OnConnect != nil {
		w.OnConnect(w.LastEventID, reconnect)
	}

	var body io.Reader = resp.Body
	if idle := w.idleTimeout(); idle > 0 {
		timer := time.AfterFunc(idle, func() { cancel(ErrIdle) })
		defer timer.Stop()
		body = activityReader{r: resp.Body, touch: func() { timer.Reset(idle) }}
	}
	rd := NewReader(body)
	rd.SetLastEventID(w.LastEventID)
	rd.OnComment = func(string) { progressed = true }
	for {
		ev, err := rd.Next()
		w.LastEventID = rd.LastEventID()
		if r := rd.Retry(); r > 0 {
			w.serverRetry = r
		}
		if err != nil {
			if cause := context.Cause(connCtx); cause != nil && ctx.Err() == nil {
				err = cause
			} else if errors.Is(err, io.EOF) {
				err = ErrServerClosed
			}
			return progressed, true, err
		}
		progressed = true
		if err := w.OnEvent(ev); err != nil {
			return progressed, true, stopError{err}
		}
	}
}

// redactQuery drops a URL's query (it may carry a ticket) for messages.
func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func (w *Watcher) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return DefaultClient
}

func (w *Watcher) idleTimeout() time.Duration {
	if w.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return w.IdleTimeout
}

// DefaultClient is a client for streams: no overall timeout, but the
// server must answer the request within 30 s.
var DefaultClient = &http.Client{Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}()}

// activityReader calls touch after every read that returned data.
type activityReader struct {
	r     io.Reader
	touch func()
}

func (a activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}
