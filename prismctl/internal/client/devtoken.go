package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// AdminRole is the role admin routes require.
const AdminRole = "admin"

// DevToken is the answer of POST /api/dev/token.
type DevToken struct {
	Token     string   `json:"token"`
	TokenType string   `json:"tokenType"`
	ExpiresAt string   `json:"expiresAt"`
	UserID    string   `json:"userId"`
	Roles     []string `json:"roles"`
	// Raw is the answer as sent.
	Raw json.RawMessage `json:"-"`
}

// DevToken asks the API (in dev mode only) for a token for userID with
// roles. Outside dev mode the route does not exist: a 404 Problem.
func (c *Client) DevToken(ctx context.Context, userID string, roles ...string) (DevToken, error) {
	if roles == nil {
		roles = []string{}
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/api/dev/token",
		body: map[string]any{"userId": userID, "roles": roles}})
	if err != nil {
		return DevToken{}, err
	}
	t := DevToken{Raw: json.RawMessage(resp.body)}
	return t, decode(resp, "dev token", &t)
}
