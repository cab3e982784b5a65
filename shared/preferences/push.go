package preferences

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/readmodel"
)

// PushSubscription is a browser's web-push subscription (the JSON of
// PushSubscription.toJSON(), RFC 8030 / 8291): where to POST, and the keys
// the message is encrypted for.
type PushSubscription struct {
	// ID is derived from the endpoint (set by the Store).
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	Keys     struct {
		// P256DH is the browser's P-256 public key, base64url.
		P256DH string `json:"p256dh"`
		// Auth is the 16-byte authentication secret, base64url.
		Auth string `json:"auth"`
	} `json:"keys"`
	CreatedAt time.Time `json:"createdAt"`
}

// MaxPushSubscriptions bounds one user's subscriptions (devices).
const MaxPushSubscriptions = 20

// SubscriptionID is the id of the subscription with this endpoint.
func SubscriptionID(endpoint string) string {
	sum := sha256.Sum256([]byte(endpoint))
	return hex.EncodeToString(sum[:16])
}

// CheckSubscription validates a subscription sent by a client, naming each
// bad field. insecureOK allows http:// endpoints (tests, local push
// services); browsers' push services are https.
func CheckSubscription(s PushSubscription, insecureOK bool) error {
	var errs apperr.FieldErrors
	u, err := url.Parse(s.Endpoint)
	switch {
	case s.Endpoint == "" || err != nil || u.Host == "" || len(s.Endpoint) > 2048:
		errs.Add("endpoint", "must be the push service's absolute URL")
	case u.Scheme != "https" && !(insecureOK && u.Scheme == "http"):
		errs.Add("endpoint", "must be an https:// URL")
	}
	if key, err := decodeKey(s.Keys.P256DH); err != nil || len(key) != 65 {
		errs.Add("keys.p256dh", "must be an uncompressed P-256 public key, base64url (65 bytes)")
	} else if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		errs.Add("keys.p256dh", "is not a point on P-256")
	}
	if auth, err := decodeKey(s.Keys.Auth); err != nil || len(auth) != 16 {
		errs.Add("keys.auth", "must be 16 bytes, base64url")
	}
	return errs.Err("invalid push subscription")
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	return base64.RawURLEncoding.DecodeString(s)
}

// AddSubscription stores (or refreshes) one of the user's subscriptions and
// returns it with its id; created says it was new.
func (s *Store) AddSubscription(ctx context.Context, userID string, sub PushSubscription) (PushSubscription, bool, error) {
	sub.ID = SubscriptionID(sub.Endpoint)
	existing, err := s.Subscriptions(ctx, userID)
	if err != nil {
		return PushSubscription{}, false, err
	}
	created := true
	for _, e := range existing {
		if e.ID == sub.ID {
			created = false
		}
	}
	if created && len(existing) >= MaxPushSubscriptions {
		return PushSubscription{}, false, apperr.New(apperr.Conflict, "at most %d push subscriptions per user: remove one first", MaxPushSubscriptions)
	}
	sub.CreatedAt = time.Now().UTC()
	doc, err := json.Marshal(sub)
	if err != nil {
		return PushSubscription{}, false, err
	}
	err = s.rows.Upsert(ctx, PushSubscriptionsTable, readmodel.Row{PartitionKey: userPartition(userID), RowKey: sub.ID, Version: 1, Doc: doc})
	return sub, created, err
}

// Subscriptions lists the user's subscriptions.
func (s *Store) Subscriptions(ctx context.Context, userID string) ([]PushSubscription, error) {
	rows, _, err := s.rows.List(ctx, PushSubscriptionsTable, userPartition(userID), MaxPushSubscriptions+5, "")
	if err != nil {
		return nil, err
	}
	out := make([]PushSubscription, 0, len(rows))
	for _, r := range rows {
		var sub PushSubscription
		if json.Unmarshal(r.Doc, &sub) == nil {
			out = append(out, sub)
		}
	}
	return out, nil
}

// RemoveSubscription deletes one of the user's subscriptions (the push
// service said it is gone: 404 or 410). A missing one is fine.
func (s *Store) RemoveSubscription(ctx context.Context, userID, id string) error {
	return s.rows.Delete(ctx, PushSubscriptionsTable, userPartition(userID), id)
}
