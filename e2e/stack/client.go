package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Client speaks to a stack's public HTTP API as a client application would.
type Client struct {
	API  string
	HTTP *http.Client
}

// Client returns a client of the stack's API.
func (s *Stack) Client() *Client {
	return &Client{API: s.API, HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
}

// Response is an HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// Do sends a request; body nil sends none. Headers are name, value pairs.
func (c *Client) Do(ctx context.Context, method, path, token string, body any, headers ...string) (Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.API+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}, err
}

// Token gets a dev token for user (admin role when admin).
func (c *Client) Token(ctx context.Context, user string, admin bool) (string, error) {
	body := map[string]any{"userId": user}
	if admin {
		body["roles"] = []string{"admin"}
	}
	res, err := c.Do(ctx, http.MethodPost, "/api/dev/token", "", body)
	if err != nil {
		return "", err
	}
	var t struct{ Token string }
	if err := res.JSON(&t); err != nil || t.Token == "" {
		return "", fmt.Errorf("dev token: HTTP %d %s", res.Status, res.Body)
	}
	return t.Token, nil
}

// Ticket buys a single-use ticket that opens stream (POST /api/stream-tickets).
func (c *Client) Ticket(ctx context.Context, token, stream string) (string, error) {
	res, err := c.Do(ctx, http.MethodPost, "/api/stream-tickets", token, map[string]string{"stream": stream})
	if err != nil {
		return "", err
	}
	var t struct{ Ticket string }
	if err := res.JSON(&t); err != nil || res.Status != http.StatusOK || t.Ticket == "" {
		return "", fmt.Errorf("stream ticket for %s: HTTP %d %s", stream, res.Status, res.Body)
	}
	return t.Ticket, nil
}

// Accepted is a command's 202 body.
type Accepted struct {
	CommandID   string `json:"commandId"`
	AggregateID string `json:"aggregateId"`
	OrderID     string `json:"orderId"`
	StatusURL   string `json:"statusUrl"`
}

// Command sends a command with a fresh Idempotency-Key and expects 202.
func (c *Client) Command(ctx context.Context, method, path, token string, body any) (Accepted, error) {
	res, err := c.Do(ctx, method, path, token, body, "Idempotency-Key", uuid.NewString())
	if err != nil {
		return Accepted{}, err
	}
	if res.Status != http.StatusAccepted {
		return Accepted{}, fmt.Errorf("%s %s: HTTP %d %s", method, path, res.Status, res.Body)
	}
	var a Accepted
	return a, res.JSON(&a)
}

// Status is a command's status.
type Status struct {
	CommandID string `json:"commandId"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Version   int64  `json:"version"`
}

// Settle polls a command's status until it is final or ctx ends.
func (c *Client) Settle(ctx context.Context, token, commandID string) (Status, error) {
	var last Status
	for {
		res, err := c.Do(ctx, http.MethodGet, "/api/commands/"+commandID, token, nil)
		if err == nil && res.Status == http.StatusOK && res.JSON(&last) == nil && last.Status != "pending" {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("command %s did not settle (last %+v): %w", commandID, last, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Run sends a command and waits for its final status.
func (c *Client) Run(ctx context.Context, method, path, token string, body any) (Accepted, Status, error) {
	a, err := c.Command(ctx, method, path, token, body)
	if err != nil {
		return a, Status{}, err
	}
	st, err := c.Settle(ctx, token, a.CommandID)
	return a, st, err
}
