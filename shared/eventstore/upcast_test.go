package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/testenv"
)

// renameQty is a v1→v2 step: {"qty":n} becomes {"quantity":n}.
func renameQty(data json.RawMessage) (json.RawMessage, error) {
	var v1 struct {
		Qty int `json:"qty"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]int{"quantity": v1.Qty})
}

// addUnit is a v2→v3 step adding a default unit.
func addUnit(data json.RawMessage) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	m["unit"] = "piece"
	return json.Marshal(m)
}

func TestUpcastersChainSteps(t *testing.T) {
	u := eventstore.NewUpcasters()
	u.Register("Counted", 1, renameQty)
	u.Register("Counted", 2, addUnit)

	e, err := u.Upcast(envelope.Event{Type: "Counted", SchemaVersion: 1, Data: json.RawMessage(`{"qty":3}`)})
	require.NoError(t, err)
	assert.Equal(t, 3, e.SchemaVersion)
	assert.JSONEq(t, `{"quantity":3,"unit":"piece"}`, string(e.Data))

	current, err := u.Upcast(envelope.Event{Type: "Counted", SchemaVersion: 3, Data: json.RawMessage(`{"quantity":1,"unit":"kg"}`)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"quantity":1,"unit":"kg"}`, string(current.Data))

	other, err := u.Upcast(envelope.Event{Type: "Other", SchemaVersion: 1, Data: json.RawMessage(`{"qty":1}`)})
	require.NoError(t, err)
	assert.Equal(t, 1, other.SchemaVersion)

	u.Register("Broken", 1, func(json.RawMessage) (json.RawMessage, error) { return nil, errors.New("boom") })
	_, err = u.Upcast(envelope.Event{Type: "Broken", SchemaVersion: 1, Data: json.RawMessage(`{}`)})
	assert.ErrorContains(t, err, "boom")

	assert.Panics(t, func() { u.Register("Counted", 1, renameQty) })
}

// TestV1RowsAreUpcastOnLoad writes rows the way an older release did (schema
// version 1, and one row from before SchemaVersion existed) straight into the
// table, then loads them through a store that knows the v2 shape.
func TestV1RowsAreUpcastOnLoad(t *testing.T) {
	ctx := context.Background()
	name := testenv.TableName("events")
	acc := newAccount(t, name)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	raw := acc.Tables.NewClient(name)
	for i, row := range []map[string]any{
		{"SchemaVersion": 1, "Data": `{"qty":2}`},
		{"Data": `{"qty":5}`}, // written before SchemaVersion was stored
	} {
		row["PartitionKey"] = stream
		row["RowKey"] = eventstore.RowKey(int64(i + 1))
		row["EventId"] = uuid.NewString()
		row["EventType"] = "Counted"
		row["AggregateType"] = "test"
		row["AggregateId"] = id
		row["Metadata"] = `{"commandId":"old"}`
		row["OccurredAt"] = time.Now().UTC().Format(time.RFC3339Nano)
		row["OccurredAt@odata.type"] = "Edm.DateTime"
		b, err := json.Marshal(row)
		require.NoError(t, err)
		_, err = raw.AddEntity(ctx, b, &aztables.AddEntityOptions{})
		require.NoError(t, err)
	}

	up := eventstore.NewUpcasters()
	up.Register("Counted", 1, renameQty)
	store := eventstore.NewTableStore(acc, name, up)
	got, err := store.Load(ctx, stream, 1)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, 2, got[0].SchemaVersion)
	assert.JSONEq(t, `{"quantity":2}`, string(got[0].Data))
	assert.Equal(t, 2, got[1].SchemaVersion)
	assert.JSONEq(t, `{"quantity":5}`, string(got[1].Data))

	// The next append continues after the old rows.
	next := events(id, 3, 1, "new")
	next[0].SchemaVersion = 2
	require.NoError(t, store.Append(ctx, stream, 2, next, "new"))
}

func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	name := testenv.TableName("snapshots")
	snaps := eventstore.NewSnapshots(newAccount(t, name), name)
	stream := "test-" + uuid.NewString()

	_, ok, err := snaps.Get(ctx, stream, 1)
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: 100, StateVersion: 1, State: json.RawMessage(`{"count":100}`)}))
	require.NoError(t, snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: 200, StateVersion: 1, State: json.RawMessage(`{"count":200}`)}))
	s, ok, err := snaps.Get(ctx, stream, 1)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(200), s.Version)
	assert.JSONEq(t, `{"count":200}`, string(s.State))

	// A snapshot of another state shape is ignored, never misread.
	_, ok, err = snaps.Get(ctx, stream, 2)
	require.NoError(t, err)
	assert.False(t, ok)
}
