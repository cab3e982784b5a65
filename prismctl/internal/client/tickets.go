package client

import (
	"context"
	"net/http"
)

// StreamTicket is the answer of POST /api/stream-tickets.
type StreamTicket struct {
	Ticket    string `json:"ticket"`
	ExpiresAt string `json:"expiresAt"`
	Stream    string `json:"stream"`
}

// StreamTicket buys a single-use ticket that opens stream (a path such as
// "/streams/me") on stream-service with ?ticket=: a token never goes in a
// URL.
func (c *Client) StreamTicket(ctx context.Context, stream string) (StreamTicket, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/api/stream-tickets", body: map[string]string{"stream": stream}})
	if err != nil {
		return StreamTicket{}, err
	}
	var t StreamTicket
	return t, decode(resp, "stream ticket", &t)
}
