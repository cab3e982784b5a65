// Package settings serves the caller's notification settings (API.md "The
// mobile client"): GET/PUT /api/me/preferences (which channels each kind of
// notification goes through, the e-mail address and phone number) and
// POST/DELETE /api/me/push-subscriptions (web push, VAPID). They are
// settings, not commands: written at once (no queue, no Idempotency-Key; a
// PUT is idempotent by nature, a subscription is keyed by its endpoint).
package settings

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/preferences"
)

// Store is where settings live (preferences.Store).
type Store interface {
	Get(ctx context.Context, userID string) (preferences.Preferences, error)
	Put(ctx context.Context, userID string, p preferences.Preferences) (preferences.Preferences, error)
	AddSubscription(ctx context.Context, userID string, sub preferences.PushSubscription) (preferences.PushSubscription, bool, error)
	RemoveSubscription(ctx context.Context, userID, id string) error
}

// Service serves the routes.
type Service struct {
	Store Store
	// Channels are the notification settings (the default address domain,
	// whether http:// push endpoints are allowed).
	Channels preferences.Settings
}

// View is the answer of GET and PUT /api/me/preferences: the stored
// preferences plus the address e-mail goes to when Email is "".
type View struct {
	preferences.Preferences
	DefaultEmail string `json:"defaultEmail,omitempty"`
}

func (s *Service) view(user string, p preferences.Preferences) View {
	return View{Preferences: p, DefaultEmail: s.Channels.AddressOf(user, preferences.Preferences{})}
}

// unavailable answers 503 when the service has no store.
func (s *Service) unavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.Store != nil {
		return false
	}
	httpapi.WriteError(w, r, apperr.New(apperr.Unavailable, "notification settings are not available"))
	return true
}

// GetPreferences serves GET /api/me/preferences.
func (s *Service) GetPreferences() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.unavailable(w, r) {
			return
		}
		user := auth.Principal(r).UserID
		p, err := s.Store.Get(r.Context(), user)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, s.view(user, p))
	}
}

// PutPreferences serves PUT /api/me/preferences {"email"?, "phone"?,
// "channels"?: {kind: [channel…]}}: it replaces the settings (a kind left
// out keeps its default channels).
func (s *Service) PutPreferences() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.unavailable(w, r) {
			return
		}
		var req struct {
			Email    string              `json:"email"`
			Phone    string              `json:"phone"`
			Channels map[string][]string `json:"channels"`
		}
		err := readJSON(r, &req)
		var p preferences.Preferences
		if err == nil {
			p, err = preferences.Check(preferences.Preferences{Email: req.Email, Phone: req.Phone, Channels: req.Channels})
		}
		user := auth.Principal(r).UserID
		if err == nil {
			p, err = s.Store.Put(r.Context(), user, p)
		}
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, s.view(user, p))
	}
}

// AddPushSubscription serves POST /api/me/push-subscriptions with the JSON
// of the browser's PushSubscription: 201 with its id (200 when the endpoint
// was subscribed already).
func (s *Service) AddPushSubscription() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.unavailable(w, r) {
			return
		}
		var req struct {
			Endpoint       string   `json:"endpoint"`
			ExpirationTime *float64 `json:"expirationTime"`
			Keys           struct {
				P256DH string `json:"p256dh"`
				Auth   string `json:"auth"`
			} `json:"keys"`
		}
		err := readJSON(r, &req)
		var sub preferences.PushSubscription
		sub.Endpoint, sub.Keys.P256DH, sub.Keys.Auth = req.Endpoint, req.Keys.P256DH, req.Keys.Auth
		if err == nil {
			err = preferences.CheckSubscription(sub, s.Channels.InsecurePushEndpoints)
		}
		created := false
		if err == nil {
			sub, created, err = s.Store.AddSubscription(r.Context(), auth.Principal(r).UserID, sub)
		}
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		w.Header().Set("Location", "/api/me/push-subscriptions/"+sub.ID)
		httpapi.WriteJSON(w, status, struct {
			ID       string `json:"id"`
			Endpoint string `json:"endpoint"`
		}{sub.ID, sub.Endpoint})
	}
}

// RemovePushSubscription serves DELETE /api/me/push-subscriptions/{id}:
// 204, whether or not it existed.
func (s *Service) RemovePushSubscription() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.unavailable(w, r) {
			return
		}
		id := mux.Vars(r)["id"]
		if len(id) != 32 || !isHex(id) {
			httpapi.WriteError(w, r, apperr.Fields("invalid path", apperr.FieldError{Field: "id", Message: "must be a push subscription id (32 hex digits)"}))
			return
		}
		if err := s.Store.RemoveSubscription(r.Context(), auth.Principal(r).UserID, id); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// readJSON reads the request's JSON body into dst, strictly (httpapi).
func readJSON(r *http.Request, dst any) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	return httpapi.Decode(body, dst)
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
