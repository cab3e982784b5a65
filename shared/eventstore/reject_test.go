package eventstore_test

import (
	"context"
	"encoding/json"
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

func TestARejectionIsFinalForItsCommand(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)

	require.NoError(t, store.Reject(ctx, stream, "c-rejected", "unknown product NOPE"))
	// A later delivery on a state where the command would succeed cannot
	// apply it: the append meets the rejection.
	dup, ok := eventstore.AsDuplicate(store.Append(ctx, stream, 0, events(id, 1, 1, "c-rejected"), "c-rejected"))
	require.True(t, ok, "the append of a rejected command is a duplicate")
	assert.True(t, dup.Rejected)
	assert.Equal(t, "unknown product NOPE", dup.Reason)
	assert.Empty(t, dup.Events)
	loaded, err := store.Load(ctx, stream, 1)
	require.NoError(t, err)
	assert.Empty(t, loaded, "nothing was appended")

	// Rejecting again answers the first rejection.
	dup, ok = eventstore.AsDuplicate(store.Reject(ctx, stream, "c-rejected", "another reason"))
	require.True(t, ok)
	assert.True(t, dup.Rejected)
	assert.Equal(t, "unknown product NOPE", dup.Reason)
}

func TestRejectingAnAppliedCommandAnswersItsEvents(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	first := events(id, 1, 2, "c-applied")
	require.NoError(t, store.Append(ctx, stream, 0, first, "c-applied"))

	dup, ok := eventstore.AsDuplicate(store.Reject(ctx, stream, "c-applied", "already exists"))
	require.True(t, ok, "a rejection decided on the state the command itself made is a duplicate")
	assert.False(t, dup.Rejected)
	require.Len(t, dup.Events, 2)
	assert.Equal(t, first[0].EventID, dup.Events[0].EventID)
}

func TestRejectionAndAppendOfOneCommandRaceToOneOutcome(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	for range 20 {
		id := uuid.NewString()
		stream := envelope.StreamID("test", id)
		var wg sync.WaitGroup
		var appendErr, rejectErr error
		wg.Add(2)
		go func() { defer wg.Done(); appendErr = store.Append(ctx, stream, 0, events(id, 1, 1, "c"), "c") }()
		go func() { defer wg.Done(); rejectErr = store.Reject(ctx, stream, "c", "refused") }()
		wg.Wait()
		loaded, err := store.Load(ctx, stream, 1)
		require.NoError(t, err)
		if appendErr == nil {
			dup, ok := eventstore.AsDuplicate(rejectErr)
			require.True(t, ok, "%v", rejectErr)
			assert.False(t, dup.Rejected, "applied first: the rejection learns so")
			assert.Len(t, loaded, 1)
		} else {
			require.NoError(t, rejectErr)
			dup, ok := eventstore.AsDuplicate(appendErr)
			require.True(t, ok, "%v", appendErr)
			assert.True(t, dup.Rejected, "rejected first: the append learns so")
			assert.Empty(t, loaded)
		}
	}
}

func TestPropertiesAreCountedInUTF16(t *testing.T) {
	ctx := context.Background()
	// Unreachable account: a TooLarge answer proves the check ran first.
	acc, err := storage.Connect(testenv.ConnectionString(1, 1, 1))
	require.NoError(t, err)
	store := eventstore.NewTableStore(acc, "events", nil)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)

	// 40,000 ASCII characters: 40 KB in UTF-8 but 80 KB in UTF-16, over
	// Azure's 64 KiB per string property (Azurite would take it).
	wide := events(id, 1, 1, "c")
	wide[0].Data = json.RawMessage(`{"pad":"` + strings.Repeat("x", 40_000) + `"}`)
	err = store.Append(ctx, stream, 0, wide, "c")
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err), "%v", err)
	assert.Contains(t, err.Error(), "UTF-16")

	// 30,000 ASCII characters fit (60 KB in UTF-16): the request is sent.
	fits := events(id, 1, 1, "c")
	fits[0].Data = json.RawMessage(`{"pad":"` + strings.Repeat("x", 30_000) + `"}`)
	err = store.Append(ctx, stream, 0, fits, "c")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err), "%v", err)

	snaps := eventstore.NewSnapshots(acc, "snapshots")
	err = snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: 1, StateVersion: 1, State: json.RawMessage(`{"pad":"` + strings.Repeat("x", 40_000) + `"}`)})
	assert.Equal(t, apperr.TooLarge, apperr.KindOf(err), "%v", err)
}

func TestTimesFinerThanTheStoreKeepsAreRefused(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	fine := events(id, 1, 1, "c")
	fine[0].OccurredAt = time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	err := store.Append(ctx, stream, 0, fine, "c")
	assert.Equal(t, apperr.Invalid, apperr.KindOf(err), "%v", err)
}

func TestARepublishedEventIsByteIdenticalToTheFirstPublication(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	id := uuid.NewString()
	stream := envelope.StreamID("test", id)
	published := events(id, 1, 2, "c")
	published[0].OccurredAt = envelope.Now()
	published[1].OccurredAt = time.Date(2026, 11, 30, 12, 0, 0, 123456700, time.UTC)
	require.NoError(t, store.Append(ctx, stream, 0, published, "c"))

	dup, ok := eventstore.AsDuplicate(store.Append(ctx, stream, 0, published, "c"))
	require.True(t, ok)
	require.Len(t, dup.Events, 2)
	for i := range published {
		first, err := json.Marshal(published[i])
		require.NoError(t, err)
		again, err := json.Marshal(dup.Events[i])
		require.NoError(t, err)
		assert.Equal(t, string(first), string(again), "event %d", i)
	}
}

func TestAnOlderSnapshotNeverReplacesANewerOne(t *testing.T) {
	ctx := context.Background()
	name := testenv.TableName("snapshots")
	snaps := eventstore.NewSnapshots(newAccount(t, name), name)
	stream := "test-" + uuid.NewString()

	require.NoError(t, snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: 200, StateVersion: 1, State: json.RawMessage(`{"count":200}`)}))
	require.NoError(t, snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: 100, StateVersion: 1, State: json.RawMessage(`{"count":100}`)}))
	s, ok, err := snaps.Get(ctx, stream, 1)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(200), s.Version, "the slow writer's older snapshot was not stored")

	// Writers racing at different versions: the newest stands.
	var wg sync.WaitGroup
	for v := int64(300); v <= 1000; v += 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: v, StateVersion: 1, State: json.RawMessage(`{}`)}))
		}()
	}
	wg.Wait()
	s, ok, err = snaps.Get(ctx, stream, 1)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(1000), s.Version)
}
