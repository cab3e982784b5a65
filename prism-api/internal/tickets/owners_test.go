package tickets

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// countingLoader counts event-store reads.
type countingLoader struct {
	EventLoader
	n int
}

func (c *countingLoader) LoadRange(ctx context.Context, stream string, from, to int64) ([]envelope.Event, error) {
	c.n++
	return c.EventLoader.LoadRange(ctx, stream, from, to)
}

func TestOwnersAreCached(t *testing.T) {
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	table := testenv.TableName("events")
	require.NoError(t, acc.EnsureTables(context.Background(), table))
	store := eventstore.NewTableStore(acc, table, nil)
	loads := &countingLoader{EventLoader: store}
	owners, err := NewOwners(loads, 10)
	require.NoError(t, err)

	cart, cmd := uuid.NewString(), uuid.NewString()
	ev := envelope.Event{
		EventID: uuid.NewString(), Type: "CartCreated", SchemaVersion: 1, AggregateType: "cart", AggregateID: cart,
		Version: 1, OccurredAt: envelope.Now(), Data: json.RawMessage(`{"owner":"alice"}`),
		Metadata: envelope.EventMetadata{CommandID: cmd, CorrelationID: "corr", UserID: "alice"},
	}
	require.NoError(t, store.Append(context.Background(), envelope.StreamID("cart", cart), 0, []envelope.Event{ev}, cmd))
	for range 3 {
		owner, err := owners.Owner(t.Context(), "cart", cart)
		require.NoError(t, err)
		assert.Equal(t, "alice", owner)
	}
	assert.Equal(t, 1, loads.n)
	for range 2 {
		_, err := owners.Owner(t.Context(), "cart", "unknown1")
		require.Error(t, err)
	}
	assert.Equal(t, 3, loads.n, "not found is not cached")
}
