package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/prism-es/prism/prismctl/internal/client"
)

// auth says what a command needs from the token.
type auth int

const (
	authOptional auth = iota // public: send a token if there is one, fetch none
	authUser                 // a user's token
	authAdmin                // a token with the admin role
)

// checkURL refuses what is not an http(s) URL.
func (in *invocation) checkURL(flagName, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef(in.path, "--%s %q: want a URL like http://localhost:8080", flagName, raw)
	}
	return nil
}

// newClient returns a client of the service at baseURL with no token yet.
func (in *invocation) newClient(baseURL, service, flagName string) *client.Client {
	c := client.New(baseURL, "")
	c.HTTP = in.HTTP
	c.Service = service
	c.Hint = client.DefaultHint + " (or point --" + flagName + " at it)"
	c.PollInterval = in.PollInterval
	return c
}

// api returns a client of prism-api carrying the token need asks for.
func (in *invocation) api(ctx context.Context, need auth) (*client.Client, error) {
	if err := in.checkURL("api", in.g.api); err != nil {
		return nil, err
	}
	c := in.newClient(in.g.api, "the API", "api")
	tok, err := in.token(ctx, need)
	c.Token = tok
	return c, err
}

// token finds the bearer token, in this order: --token; --user (a dev token
// fetched from the API); $PRISM_TOKEN; $PRISM_USER (fetched likewise). So
// what is on the command line beats the environment. For admin commands a
// fetched token has the admin role.
func (in *invocation) token(ctx context.Context, need auth) (string, error) {
	if in.g.token != "" {
		return in.g.token, nil
	}
	if need != authOptional && in.g.user != "" {
		t, err := in.devToken(ctx, in.g.user, need == authAdmin)
		return t.Token, err
	}
	if t := in.env("PRISM_TOKEN"); t != "" {
		return t, nil
	}
	if u := in.env("PRISM_USER"); need != authOptional && u != "" {
		t, err := in.devToken(ctx, u, need == authAdmin)
		return t.Token, err
	}
	if need == authOptional {
		return "", nil
	}
	what := "a token"
	if need == authAdmin {
		what = "an admin token"
	}
	return "", usagef(in.path, "this command needs %s: pass --token, set PRISM_TOKEN, or give --user NAME to fetch a dev token (dev mode)", what)
}

// devToken fetches a development token from the API.
func (in *invocation) devToken(ctx context.Context, user string, admin bool) (client.DevToken, error) {
	if err := in.checkURL("api", in.g.api); err != nil {
		return client.DevToken{}, err
	}
	c := in.newClient(in.g.api, "the API", "api")
	var roles []string
	if admin {
		roles = []string{client.AdminRole}
	}
	t, err := c.DevToken(ctx, user, roles...)
	if err != nil {
		return client.DevToken{}, devTokenError(err, user, in.g.api)
	}
	return t, nil
}

func devTokenError(err error, user, api string) error {
	if client.HasStatus(err, http.StatusNotFound) {
		return hint(err, fmt.Sprintf("the API at %s issues no dev tokens (it is not in dev mode); pass --token or set PRISM_TOKEN", api))
	}
	if _, ok := client.AsProblem(err); ok {
		return fmt.Errorf("dev token for %q: %w", user, err)
	}
	return err
}

// explain adds advice to errors whose cause is usually the token.
func explain(err error) error {
	p, ok := client.AsProblem(err)
	if !ok {
		return err
	}
	switch p.Status {
	case http.StatusUnauthorized:
		return hint(err, "the token is missing, expired or invalid: get one with `prismctl token <user>`, or pass --user NAME (dev mode)")
	case http.StatusForbidden:
		return hint(err, "this needs an admin token: `prismctl token <user> --admin`, or pass --user NAME (dev mode)")
	}
	return err
}

// hinted is an error followed by advice on its own line.
type hinted struct {
	err  error
	hint string
}

func hint(err error, h string) error { return &hinted{err: err, hint: h} }

func (h *hinted) Error() string { return h.err.Error() + "\n  " + h.hint }
func (h *hinted) Unwrap() error { return h.err }

// interrupted reports whether err is the end of ctx because of a signal.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, context.Canceled)
}
