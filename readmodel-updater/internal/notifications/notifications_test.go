package notifications_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/preferences"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// countingChannel records what it was asked to send, by notification id.
type countingChannel struct {
	mu   sync.Mutex
	sent map[string]int
	fail int // fail this many sends first
}

func (c *countingChannel) Send(_ context.Context, d notifications.Delivery, _ preferences.Preferences) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return assert.AnError
	}
	c.sent[d.Notification.ID]++
	return nil
}

func (c *countingChannel) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[id]
}

func orderEvent(id string, v int64, typ string, data any, user string) envelope.Event {
	b, _ := json.Marshal(data)
	return envelope.Event{EventID: uuid.NewString(), Type: typ, SchemaVersion: 1, AggregateType: "order", AggregateID: id, Version: v,
		OccurredAt: envelope.Now(), Data: b, Metadata: envelope.EventMetadata{CommandID: uuid.NewString(), UserID: user}}
}

// rig is a notification subscriber and deliverer on private tables and a
// private deliveries queue.
type rig struct {
	t          *testing.T
	acc        *storage.Account
	table      string
	events     *eventstore.TableStore
	prefs      *preferences.Store
	rdb        func() *notices.Reader
	sub        *notifications.Subscriber
	deliveries *queue.Queue
	pub        *notices.Publisher
}

func newRig(t *testing.T, admins ...string) *rig {
	t.Helper()
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	eventsTable, table := testenv.TableName("events"), testenv.TableName("notes")
	tables := append([]string{eventsTable, table, readmodel.CatalogTable, notifications.DeliveriesTable, "smssink"}, preferences.Tables...)
	require.NoError(t, acc.EnsureTables(ctx, tables...))
	deliveries := testenv.QueueName("deliveries")
	require.NoError(t, acc.EnsureQueues(ctx, deliveries))
	catalog := readmodel.NewCatalog(acc, time.Hour)
	require.NoError(t, catalog.Switch(ctx, readmodel.Notifications, table))
	rdb := env.Redis(t)
	r := &rig{t: t, acc: acc, table: table, events: eventstore.NewTableStore(acc, eventsTable, nil), prefs: preferences.NewStore(acc),
		deliveries: queue.Open(acc, deliveries, nil), pub: notices.NewPublisher(rdb, notices.Config{}),
		rdb: func() *notices.Reader { return notices.NewReader(rdb) }}
	r.sub = notifications.New(readmodel.NewStore(acc), catalog, r.events, r.pub, r.prefs, r.deliveries, admins)
	return r
}

func (r *rig) deliver(e envelope.Event) {
	r.t.Helper()
	b, _ := json.Marshal(e)
	require.NoError(r.t, r.sub.Handle(context.Background(), &queue.Message{Body: b}))
}

// place appends an order's OrderPlaced (the subscriber reads owner, lines
// and total from it).
func (r *rig) place(owner string) string {
	r.t.Helper()
	order := uuid.NewString()
	placed := orderEvent(order, 1, "OrderPlaced", map[string]any{"owner": owner, "cartId": "c", "totalCents": 2500,
		"lines": []map[string]any{{"sku": "MUG", "name": "Blue mug", "quantity": 2, "unitPriceCents": 1250}}}, owner)
	require.NoError(r.t, r.events.Append(context.Background(), placed.StreamID(), 0, []envelope.Event{placed}, placed.Metadata.CommandID))
	return order
}

// queued takes every message off the deliveries queue.
func (r *rig) queued() []*queue.Message {
	r.t.Helper()
	var out []*queue.Message
	for {
		msgs, err := r.deliveries.Receive(context.Background(), 32, time.Minute)
		require.NoError(r.t, err)
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			require.NoError(r.t, r.deliveries.Delete(context.Background(), m))
		}
		out = append(out, msgs...)
	}
}

func deliveriesOf(t *testing.T, msgs []*queue.Message) []notifications.Delivery {
	out := make([]notifications.Delivery, len(msgs))
	for i, m := range msgs {
		require.NoError(t, json.Unmarshal(m.Body, &out[i]))
	}
	return out
}

// TestOneNotificationPerEventEvenWhenDeliveredTwice: each event is one
// notification row, announced on the owner's stream, with one delivery
// queued per channel of its kind, however often the event arrives.
func TestOneNotificationPerEventEvenWhenDeliveredTwice(t *testing.T) {
	r := newRig(t)
	owner := "u-" + uuid.NewString()
	order := r.place(owner)
	confirmed := orderEvent(order, 2, "OrderConfirmed", struct{}{}, owner)
	shipped := orderEvent(order, 3, "OrderShipped", map[string]string{"trackingNumber": "TRK-1"}, "admin") // sent by an admin: still the owner's
	declinedOrder := r.place(owner)
	declined := orderEvent(declinedOrder, 2, "OrderCancelled", map[string]string{"reason": "payment_declined"}, owner)
	placedAgain := orderEvent(order, 1, "OrderPlaced", map[string]any{"owner": owner}, owner)

	for _, e := range []envelope.Event{placedAgain, confirmed, confirmed, shipped, declined, shipped, declined} {
		r.deliver(e)
	}
	rows, _, err := readmodel.NewStore(r.acc).List(context.Background(), r.table, readmodel.NotificationsPartition(owner), 100, "")
	require.NoError(t, err)
	require.Len(t, rows, 3, "confirmed, shipped, payment failed: one each, none for OrderPlaced")
	kinds := map[string]notifications.Notification{}
	for _, row := range rows {
		var n notifications.Notification
		require.NoError(t, json.Unmarshal(row.Doc, &n))
		kinds[n.Kind] = n
	}
	assert.Contains(t, kinds[preferences.PaymentFailed].Message, "the payment was declined")
	assert.Equal(t, "TRK-1", kinds[preferences.OrderShipped].TrackingNumber)
	assert.Contains(t, kinds[preferences.OrderShipped].Message, "tracking number TRK-1")
	assert.Contains(t, kinds, preferences.OrderConfirmed)

	// The shop design's channels: confirmed → e-mail; shipped → e-mail +
	// SMS; payment failed → e-mail + SMS. Once each.
	got := map[string][]string{}
	for _, d := range deliveriesOf(t, r.queued()) {
		assert.Equal(t, owner, d.UserID)
		got[d.Notification.Kind] = append(got[d.Notification.Kind], d.Channel)
		if d.Notification.Kind == preferences.OrderConfirmed {
			require.NotNil(t, d.Order)
			assert.Equal(t, int64(2500), d.Order.TotalCents)
			assert.Equal(t, "Blue mug", d.Order.Lines[0].Name)
		}
	}
	assert.Equal(t, map[string][]string{
		preferences.OrderConfirmed: {"email"},
		preferences.OrderShipped:   {"email", "sms"},
		preferences.PaymentFailed:  {"email", "sms"},
	}, got)

	live, err := r.rdb().Tail(context.Background(), notices.UserStream(owner), 100)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, n := range live {
		assert.Equal(t, "notification", n.Type)
		var d notifications.Notification
		require.NoError(t, json.Unmarshal(n.Data, &d))
		ids[d.ID] = true
	}
	assert.Len(t, ids, 3, "every notification reached the owner's stream (repeats allowed, keyed by id)")
}

// TestPreferencesChooseTheChannels: a user who turns push on for confirmed
// orders and e-mail off gets exactly that.
func TestPreferencesChooseTheChannels(t *testing.T) {
	r := newRig(t)
	owner := "u-" + uuid.NewString()
	p, err := preferences.Check(preferences.Preferences{Channels: map[string][]string{preferences.OrderConfirmed: {"push", "sms", "push"}}})
	require.NoError(t, err)
	_, err = r.prefs.Put(context.Background(), owner, p)
	require.NoError(t, err)
	order := r.place(owner)
	r.deliver(orderEvent(order, 2, "OrderConfirmed", struct{}{}, owner))
	var channels []string
	for _, d := range deliveriesOf(t, r.queued()) {
		channels = append(channels, d.Channel)
	}
	assert.Equal(t, []string{"sms", "push"}, channels, "in channel order, each once")
}

// TestLowStockAlertGoesToEachAdmin: one notification per admin, in their
// own list, with its own id (so deliveries are per admin too).
func TestLowStockAlertGoesToEachAdmin(t *testing.T) {
	a1, a2 := "admin-"+uuid.NewString(), "admin-"+uuid.NewString()
	r := newRig(t, a1, a2)
	alert := envelope.Event{EventID: uuid.NewString(), Type: "LowStockAlert", SchemaVersion: 1, AggregateType: "product", AggregateID: "TEA-1",
		Version: 9, OccurredAt: envelope.Now(), Data: json.RawMessage(`{"sku":"TEA-1","available":2,"threshold":3}`),
		Metadata: envelope.EventMetadata{CommandID: uuid.NewString()}}
	r.deliver(alert)
	r.deliver(alert)
	ids := map[string]bool{}
	for _, admin := range []string{a1, a2} {
		rows, _, err := readmodel.NewStore(r.acc).List(context.Background(), r.table, readmodel.NotificationsPartition(admin), 10, "")
		require.NoError(t, err)
		require.Len(t, rows, 1, admin)
		var n notifications.Notification
		require.NoError(t, json.Unmarshal(rows[0].Doc, &n))
		assert.Equal(t, preferences.StockLow, n.Kind)
		assert.Equal(t, "TEA-1", n.SKU)
		assert.Contains(t, n.Message, "TEA-1 has 2 left")
		ids[n.ID] = true
	}
	assert.Len(t, ids, 2)
	ds := deliveriesOf(t, r.queued())
	require.Len(t, ds, 2, "stock.low → e-mail, once per admin")
	for _, d := range ds {
		assert.Equal(t, "email", d.Channel)
	}
}

// TestEachDeliveryOnceAndRetriedOnItsOwn: the Deliverer sends a delivery
// once however often it arrives; a channel that fails is retried without
// resending what another channel already sent.
func TestEachDeliveryOnceAndRetriedOnItsOwn(t *testing.T) {
	r := newRig(t)
	owner := "u-" + uuid.NewString()
	order := r.place(owner)
	r.deliver(orderEvent(order, 3, "OrderShipped", map[string]string{"trackingNumber": "TRK-9"}, owner))
	msgs := r.queued()
	require.Len(t, msgs, 2)
	mail := &countingChannel{sent: map[string]int{}}
	text := &countingChannel{sent: map[string]int{}, fail: 2}
	d := notifications.NewDeliverer(readmodel.NewStore(r.acc), r.prefs, map[string]notifications.Channel{"email": mail, "sms": text})
	ctx := context.Background()
	var failures int
	for range 4 { // the queue redelivers what failed
		for _, m := range msgs {
			if d.Handle(ctx, m) != nil {
				failures++
			}
		}
	}
	id := deliveriesOf(t, msgs)[0].Notification.ID
	assert.Equal(t, 2, failures, "the SMS failed twice")
	assert.Equal(t, 1, mail.count(id), "the e-mail went once, not again with each SMS retry")
	assert.Equal(t, 1, text.count(id), "the SMS went once it worked")
	for _, ch := range []string{"email", "sms"} {
		row, ok, err := readmodel.NewStore(r.acc).Get(ctx, notifications.DeliveriesTable, id, ch)
		require.NoError(t, err)
		require.True(t, ok, ch)
		var rec notifications.DeliveryRecord
		require.NoError(t, json.Unmarshal(row.Doc, &rec))
		assert.Equal(t, notifications.StatusSent, rec.Status, ch)
	}
}
