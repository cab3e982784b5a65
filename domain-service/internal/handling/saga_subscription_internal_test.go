package handling

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/process"
)

// TestSagaSubscriptionMatchesTheReactor keeps config.Subscriptions' "saga"
// entry true: it names exactly the events the reactor turns into commands.
func TestSagaSubscriptionMatchesTheReactor(t *testing.T) {
	sub := config.SubscriptionNamed("saga")
	pm := process.Of(checkout.Process(time.Second, time.Minute))
	for _, entry := range eventcatalog.Default().Entries() {
		e := envelope.Event{EventID: "e1", Type: entry.EventType, SchemaVersion: entry.SchemaVersion, AggregateType: entry.AggregateType,
			AggregateID: "order-1", Version: 1, OccurredAt: time.Now(), Data: json.RawMessage(`{"orderId":"order-1"}`),
			Metadata: envelope.EventMetadata{CommandID: "c1"}}
		_, reacts, err := pm.Hear(e)
		assert.NoError(t, err, entry.EventType)
		assert.Equal(t, reacts, sub.Wants(entry.AggregateType, entry.EventType), "%s: reactor and subscription disagree", entry.EventType)
	}
}
