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
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// countingSender records what it was asked to send.
type countingSender struct {
	mu   sync.Mutex
	sent map[string]int
}

func (c *countingSender) Send(_ context.Context, _ string, n notifications.Notification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[n.ID]++
	return nil
}

func orderEvent(id string, v int64, typ string, data any, user string) envelope.Event {
	b, _ := json.Marshal(data)
	return envelope.Event{EventID: uuid.NewString(), Type: typ, SchemaVersion: 1, AggregateType: "order", AggregateID: id, Version: v,
		OccurredAt: time.Now().UTC(), Data: b, Metadata: envelope.EventMetadata{CommandID: uuid.NewString(), UserID: user}}
}

func TestOneNotificationPerEventEvenWhenDeliveredTwice(t *testing.T) {
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	eventsTable, table := testenv.TableName("events"), testenv.TableName("notes")
	require.NoError(t, acc.EnsureTables(ctx, eventsTable, table, readmodel.CatalogTable))
	catalog := readmodel.NewCatalog(acc, time.Hour)
	require.NoError(t, catalog.Switch(ctx, readmodel.Notifications, table))
	events := eventstore.NewTableStore(acc, eventsTable, nil)
	rdb := env.Redis(t)
	sender := &countingSender{sent: map[string]int{}}
	sub := notifications.New(readmodel.NewStore(acc), catalog, events, notices.NewPublisher(rdb, notices.Config{}), sender)

	owner, order := "u-"+uuid.NewString(), uuid.NewString()
	placed := orderEvent(order, 1, "OrderPlaced", map[string]any{"owner": owner, "cartId": "c", "lines": []any{}, "totalCents": 1}, owner)
	require.NoError(t, events.Append(ctx, placed.StreamID(), 0, []envelope.Event{placed}, placed.Metadata.CommandID))
	confirmed := orderEvent(order, 2, "OrderConfirmed", struct{}{}, owner)
	shipped := orderEvent(order, 3, "OrderShipped", struct{}{}, "admin") // sent by an admin: still the owner's
	cancelled := orderEvent(uuid.NewString(), 2, "OrderCancelled", map[string]string{"reason": "payment_declined"}, owner)
	placed2 := orderEvent(cancelled.AggregateID, 1, "OrderPlaced", map[string]any{"owner": owner}, owner)
	require.NoError(t, events.Append(ctx, placed2.StreamID(), 0, []envelope.Event{placed2}, placed2.Metadata.CommandID))

	deliver := func(e envelope.Event) {
		b, _ := json.Marshal(e)
		require.NoError(t, sub.Handle(ctx, &queue.Message{Body: b}))
	}
	for _, e := range []envelope.Event{placed, confirmed, confirmed, shipped, cancelled, shipped, cancelled} {
		deliver(e)
	}
	rows, _, err := readmodel.NewStore(acc).List(ctx, table, readmodel.NotificationsPartition(owner), 100, "")
	require.NoError(t, err)
	require.Len(t, rows, 3, "confirmed, shipped, cancelled: one each, none for OrderPlaced")
	kinds := map[string]string{}
	for _, r := range rows {
		var n notifications.Notification
		require.NoError(t, json.Unmarshal(r.Doc, &n))
		kinds[n.Kind] = n.Message
	}
	assert.Contains(t, kinds["order.cancelled"], "the payment was declined")
	assert.Contains(t, kinds, "order.shipped")
	assert.Contains(t, kinds, "order.confirmed")
	for _, e := range []envelope.Event{confirmed, shipped, cancelled} {
		assert.Equal(t, 1, sender.sent[e.EventID], "sent once: %s", e.Type)
	}
	live, err := notices.NewReader(rdb).Tail(ctx, notices.UserStream(owner), 100)
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
