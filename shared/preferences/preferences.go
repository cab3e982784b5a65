// Package preferences keeps each user's notification settings: which
// channels (e-mail, SMS, web push) each kind of notification goes through,
// the e-mail address and phone number to use, and the user's web-push
// subscriptions. prism-api writes them (GET/PUT /api/me/preferences, POST
// /api/me/push-subscriptions); the notification subscriber reads them.
//
// They are settings, not domain facts: stored as documents in two tables
// through the kit's read-model store, not event-sourced.
package preferences

import (
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"time"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
)

// Tables of this package.
const (
	PreferencesTable       = "preferences"
	PushSubscriptionsTable = "pushsubscriptions"
)

// Channels a notification can go through.
const (
	Email = "email"
	SMS   = "sms"
	Push  = "push"
)

// AllChannels lists the channels.
var AllChannels = []string{Email, SMS, Push}

// Kinds of notification (Notification.Kind).
const (
	OrderConfirmed = "order.confirmed"
	OrderShipped   = "order.shipped"
	OrderDelivered = "order.delivered"
	OrderCancelled = "order.cancelled"
	PaymentFailed  = "payment.failed"
	StockLow       = "stock.low"
)

// DefaultChannels are the shop design's channels per kind: what a user who
// never changed a setting gets.
func DefaultChannels() map[string][]string {
	return map[string][]string{
		OrderConfirmed: {Email},
		OrderShipped:   {Email, SMS},
		OrderDelivered: {Email, Push},
		OrderCancelled: {Email},
		PaymentFailed:  {Email, SMS},
		StockLow:       {Email},
	}
}

// Preferences are one user's notification settings.
type Preferences struct {
	// Email is where e-mail goes ("": the default address, if any).
	Email string `json:"email"`
	// Phone is where SMS go, in E.164 form ("": no SMS).
	Phone string `json:"phone"`
	// Channels maps every kind to the channels it goes through.
	Channels map[string][]string `json:"channels"`
	// UpdatedAt is when they were last saved (zero: never).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Defaults are the preferences of a user who never saved any.
func Defaults() Preferences { return Preferences{Channels: DefaultChannels()} }

// Wants reports whether notifications of kind go through channel.
func (p Preferences) Wants(kind, channel string) bool {
	return slices.Contains(p.Channels[kind], channel)
}

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Check validates preferences sent by a client, naming each bad field, and
// returns them with every kind present (a kind left out keeps its default).
func Check(p Preferences) (Preferences, error) {
	var errs apperr.FieldErrors
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || len(p.Email) > 254 {
			errs.Add("email", "must be a plain e-mail address (name@example.com)")
		}
	}
	if p.Phone != "" && !phonePattern.MatchString(p.Phone) {
		errs.Add("phone", "must be a phone number in E.164 form (+ and 7-15 digits)")
	}
	out := Preferences{Email: p.Email, Phone: p.Phone, Channels: DefaultChannels()}
	for kind, channels := range p.Channels {
		if _, known := out.Channels[kind]; !known {
			errs.Add("channels."+kind, "is not a kind of notification")
			continue
		}
		clean := []string{}
		for _, c := range channels {
			if !slices.Contains(AllChannels, c) {
				errs.Add("channels."+kind, "%q is not a channel (email, sms, push)", c)
				continue
			}
			if !slices.Contains(clean, c) {
				clean = append(clean, c)
			}
		}
		out.Channels[kind] = clean
	}
	return out, errs.Err("invalid preferences")
}

// Store reads and writes preferences and push subscriptions.
type Store struct {
	rows *readmodel.Store
}

// NewStore returns a Store on the account; Provision creates its tables.
func NewStore(account *storage.Account) *Store { return &Store{rows: readmodel.NewStore(account)} }

// Tables are the tables a service using the Store provisions.
var Tables = []string{PreferencesTable, PushSubscriptionsTable}

func userPartition(userID string) string { return "user:" + userID }

// Get returns the user's preferences, or the defaults.
func (s *Store) Get(ctx context.Context, userID string) (Preferences, error) {
	row, found, err := s.rows.Get(ctx, PreferencesTable, userPartition(userID), "preferences")
	if err != nil || !found {
		return Defaults(), err
	}
	var p Preferences
	if err := json.Unmarshal(row.Doc, &p); err != nil {
		return Defaults(), err
	}
	// Kinds added after they were saved get their defaults.
	for kind, channels := range DefaultChannels() {
		if _, ok := p.Channels[kind]; !ok {
			if p.Channels == nil {
				p.Channels = map[string][]string{}
			}
			p.Channels[kind] = channels
		}
	}
	return p, nil
}

// Put saves the user's preferences (checked with Check) and returns them
// as stored.
func (s *Store) Put(ctx context.Context, userID string, p Preferences) (Preferences, error) {
	p.UpdatedAt = time.Now().UTC()
	doc, err := json.Marshal(p)
	if err != nil {
		return Preferences{}, err
	}
	err = s.rows.Upsert(ctx, PreferencesTable, readmodel.Row{PartitionKey: userPartition(userID), RowKey: "preferences", Version: 1, Doc: doc})
	return p, err
}

// ErrNotFound says a push subscription does not exist.
var ErrNotFound = errors.New("preferences: no such push subscription")
