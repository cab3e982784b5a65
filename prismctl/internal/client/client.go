// Package client is a typed HTTP client for Prism's API (docs/api.md):
// commands with Idempotency-Keys, command status polling, queries, dev
// tokens, and the readmodel-updater's rebuild routes. Failures are typed:
// *Problem when the server answered with an error, *TransportError when it
// could not be reached.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultHint follows a transport error.
const DefaultHint = "is the stack running? Start it with `make up`"

// maxBody bounds a response body read into memory.
const maxBody = 8 << 20

// Client talks to one Prism HTTP service.
type Client struct {
	// BaseURL is the service's root, e.g. http://localhost:8080.
	BaseURL string
	// Token is the bearer token sent with every request ("" sends none).
	Token string
	// HTTP makes the requests (default: a client with a 30 s timeout).
	HTTP *http.Client
	// Service names the server in errors (default "the API").
	Service string
	// Hint follows transport errors (default DefaultHint).
	Hint string
	// NewKey makes Idempotency-Keys for commands sent without one
	// (default: a random UUID).
	NewKey func() string
	// PollInterval is the first delay between status polls (default
	// 100 ms); it doubles up to MaxPollInterval (default 1 s).
	PollInterval, MaxPollInterval time.Duration
	// MaxRetryAfter caps how long a command send waits when the server
	// says to retry (409 key in flight, 503); default 5 s.
	MaxRetryAfter time.Duration
}

// New returns a client of the service at baseURL using token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token}
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

func (c *Client) service() string {
	if c.Service != "" {
		return c.Service
	}
	return "the API"
}

func (c *Client) newKey() string {
	if c.NewKey != nil {
		return c.NewKey()
	}
	return uuid.NewString()
}

// request is one call.
type request struct {
	method string
	path   string // escaped path, from the service's root
	query  url.Values
	body   any // marshalled as JSON when non-nil
	header http.Header
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// URL returns the absolute URL of path (escaped) on the service.
func (c *Client) URL(path string, query url.Values) string {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// do sends r and returns a 2xx answer, or a *Problem, *TransportError or
// the context's error.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	u := c.URL(r.path, r.query)
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return response{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return response{}, fmt.Errorf("bad URL %q (check --api and friends): %w", u, err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		return response{}, c.transportError(r.method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		return response{}, c.transportError(r.method, u, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return response{}, ParseProblem(resp.StatusCode, resp.Header, b)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (c *Client) transportError(method, u string, err error) *TransportError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	hint := c.Hint
	if hint == "" {
		hint = DefaultHint
	}
	return &TransportError{Service: c.service(), Method: method, URL: u, Err: err, Hint: hint}
}

// decode unmarshals a JSON answer into out, naming the call on failure.
func decode(r response, what string, out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("%s: unexpected answer (%v): %.200s", what, err, r.body)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }
