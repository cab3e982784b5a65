package notifications_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
)

// TestSubscriptionMatchesWhatIsNotified keeps config.Subscriptions'
// "notifications" entry true: exactly the events that make a notification.
func TestSubscriptionMatchesWhatIsNotified(t *testing.T) {
	sub := config.SubscriptionNamed("notifications")
	for _, entry := range eventcatalog.Default().Entries() {
		e := envelope.Event{EventID: "e1", Type: entry.EventType, SchemaVersion: entry.SchemaVersion, AggregateType: entry.AggregateType,
			AggregateID: "o1", Version: 1, OccurredAt: time.Now(), Data: json.RawMessage(`{"reason":"customer"}`)}
		_, notified := notifications.For(e)
		assert.Equal(t, notified, sub.Wants(entry.AggregateType, entry.EventType), entry.EventType)
	}
}
