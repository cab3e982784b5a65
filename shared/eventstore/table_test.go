package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

func newStore(t *testing.T) (*eventstore.TableStore, string) {
	t.Helper()
	name := testenv.TableName("events")
	acc := newAccount(t, name)
	return eventstore.NewTableStore(acc, name, nil), name
}

// events builds n events for stream test-<id> at versions from, from+1, …
func events(id string, from int64, n int, commandID string) []envelope.Event {
	out := make([]envelope.Event, n)
	for i := range out {
		out[i] = envelope.Event{
			EventID: uuid.NewString(), Type: "Counted", SchemaVersion: 1,
			AggregateType: "test", AggregateID: id, Version: from + int64(i),
			OccurredAt: envelope.Now(),
			Data:       json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+int64(i))),
			Metadata:   envelope.EventMetadata{CommandID: commandID, CorrelationID: "corr", UserID: "u1"},
		}
	}
	return out
}

func TestAppendAndLoad(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)

	require.NoError(t, store.Append(ctx, stream, 0, events(id, 1, 3, "c1"), "c1"))
	require.NoError(t, store.Append(ctx, stream, 3, events(id, 4, 2, "c2"), "c2"))

	got, err := store.Load(ctx, stream, 1)
	require.NoError(t, err)
	require.Len(t, got, 5)
	for i, e := range got {
		assert.Equal(t, int64(i+1), e.Version)
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i+1), string(e.Data))
		assert.Equal(t, "test", e.AggregateType)
		assert.Equal(t, id, e.AggregateID)
		assert.Equal(t, "corr", e.Metadata.CorrelationID)
	}
	assert.Equal(t, "c1", got[0].Metadata.CommandID)
	assert.Equal(t, "c2", got[4].Metadata.CommandID)

	tail, err := store.Load(ctx, stream, 4)
	require.NoError(t, err)
	require.Len(t, tail, 2)
	assert.Equal(t, int64(4), tail[0].Version)

	empty, err := store.Load(ctx, envelope.StreamID("test", "nobody"), 1)
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func TestConcurrentAppendsAtSameVersionExactlyOneWins(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	require.NoError(t, store.Append(ctx, stream, 0, events(id, 1, 1, "seed"), "seed"))

	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cmd := fmt.Sprintf("racer-%d", i)
			errs[i] = store.Append(ctx, stream, 1, events(id, 2, 2, cmd), cmd)
		}()
	}
	close(start)
	wg.Wait()

	wins, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case eventstore.IsConflict(err):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, wins)
	assert.Equal(t, racers-1, conflicts)
	got, err := store.Load(ctx, stream, 1)
	require.NoError(t, err)
	assert.Len(t, got, 3)
}

func TestReappendingACommandIsADuplicateWithItsEvents(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	first := events(id, 1, 2, "cmd-a")
	require.NoError(t, store.Append(ctx, stream, 0, first, "cmd-a"))
	require.NoError(t, store.Append(ctx, stream, 2, events(id, 3, 1, "cmd-b"), "cmd-b"))

	// Same command, stale expected version (as a redelivered message would be).
	err := store.Append(ctx, stream, 0, events(id, 1, 2, "cmd-a"), "cmd-a")
	dup, ok := eventstore.AsDuplicate(err)
	require.True(t, ok, "want duplicate, got %v", err)
	require.Len(t, dup.Events, 2)
	assert.Equal(t, first[0].EventID, dup.Events[0].EventID)
	assert.Equal(t, first[1].EventID, dup.Events[1].EventID)

	// Same command at the current version: still a duplicate, not a second apply.
	err = store.Append(ctx, stream, 3, events(id, 4, 2, "cmd-a"), "cmd-a")
	_, ok = eventstore.AsDuplicate(err)
	require.True(t, ok, "want duplicate, got %v", err)
	got, err := store.Load(ctx, stream, 1)
	require.NoError(t, err)
	assert.Len(t, got, 3)

	rec, found, err := store.Recorded(ctx, stream, "cmd-b")
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, rec, 1)
	assert.Equal(t, int64(3), rec[0].Version)
	_, found, err = store.Recorded(ctx, stream, "never-sent")
	require.NoError(t, err)
	assert.False(t, found)
}

func TestCommandWithoutEventsIsRecorded(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	stream := envelope.StreamID("test", uuid.NewString())
	require.NoError(t, store.Append(ctx, stream, 0, nil, "noop"))
	dup, ok := eventstore.AsDuplicate(store.Append(ctx, stream, 0, nil, "noop"))
	require.True(t, ok)
	assert.Empty(t, dup.Events)
}

func TestOversizeAppendRejectedBeforeAnyRequest(t *testing.T) {
	ctx := context.Background()
	// A store on an unreachable account: any request would fail as Unavailable,
	// so a TooLarge/Invalid answer proves validation happened first.
	acc, err := storage.Connect(testenv.ConnectionString(1, 1, 1))
	require.NoError(t, err)
	store := eventstore.NewTableStore(acc, "events", nil)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)

	tooMany := events(id, 1, eventstore.MaxEventsPerAppend+1, "c")
	err = store.Append(ctx, stream, 0, tooMany, "c")
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err), "%v", err)

	// 99 events of ~50 KiB each: every event fits, the batch exceeds 4 MiB.
	big := events(id, 1, 99, "c")
	for i := range big {
		big[i].Data = json.RawMessage(`{"pad":"` + strings.Repeat("x", 50*1024) + `"}`)
	}
	err = store.Append(ctx, stream, 0, big, "c")
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err), "%v", err)

	// One event over the envelope limit.
	huge := events(id, 1, 1, "c")
	huge[0].Data = json.RawMessage(`{"pad":"` + strings.Repeat("x", 70*1024) + `"}`)
	err = store.Append(ctx, stream, 0, huge, "c")
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err), "%v", err)

	mixed := events(id, 1, 2, "c")
	mixed[1].AggregateID = "other"
	err = store.Append(ctx, stream, 0, mixed, "c")
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "%v", err)

	gap := events(id, 1, 2, "c")
	gap[1].Version = 3
	err = store.Append(ctx, stream, 0, gap, "c")
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "%v", err)

	// The same call against an unreachable account is Unavailable, proving the
	// checks above never reached the network.
	err = store.Append(ctx, stream, 0, events(id, 1, 1, "c"), "c")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err), "%v", err)
}

func TestLoadPagesPast1000Rows(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	const total = 2500
	var v int64
	for v < total {
		n := min(eventstore.MaxEventsPerAppend, int(total-v))
		cmd := fmt.Sprintf("bulk-%d", v)
		require.NoError(t, store.Append(ctx, stream, v, events(id, v+1, n, cmd), cmd))
		v += int64(n)
	}
	got, err := store.Load(ctx, stream, 1)
	require.NoError(t, err)
	require.Len(t, got, total)
	for i, e := range got {
		require.Equal(t, int64(i+1), e.Version)
	}
	rng, err := store.LoadRange(ctx, stream, 999, 1001)
	require.NoError(t, err)
	require.Len(t, rng, 3)
	assert.Equal(t, int64(999), rng[0].Version)
}

func TestListStreams(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	ids := []string{uuid.NewString(), uuid.NewString()}
	for _, id := range ids {
		require.NoError(t, store.Append(ctx, envelope.StreamID("test", id), 0, events(id, 1, 2, "c"), "c"))
	}
	other := envelope.Event{EventID: uuid.NewString(), Type: "Other", SchemaVersion: 1, AggregateType: "tester", AggregateID: "x",
		Version: 1, OccurredAt: envelope.Now(), Data: json.RawMessage(`{}`), Metadata: envelope.EventMetadata{CommandID: "c"}}
	require.NoError(t, store.Append(ctx, "tester-x", 0, []envelope.Event{other}, "c"))

	var seen []string
	require.NoError(t, store.ListStreams(ctx, "test", func(s string) error { seen = append(seen, s); return nil }))
	assert.ElementsMatch(t, []string{"test-" + ids[0], "test-" + ids[1]}, seen)
}

func TestStreamsChangedSince(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	old, fresh := uuid.NewString(), uuid.NewString()
	past := events(old, 1, 2, "c")
	for i := range past {
		past[i].OccurredAt = envelope.Now().Add(-time.Hour)
	}
	require.NoError(t, store.Append(ctx, "test-"+old, 0, past, "c"))
	require.NoError(t, store.Append(ctx, "test-"+fresh, 0, events(fresh, 1, 3, "c"), "c"))
	var got []string
	require.NoError(t, store.StreamsChangedSince(ctx, "test", time.Now().Add(-time.Minute), func(s string) error { got = append(got, s); return nil }))
	assert.Equal(t, []string{"test-" + fresh}, got, "once per stream, only recent ones")
}
