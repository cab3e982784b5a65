package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// TestStreamsSpreadOverAccounts: on two accounts (two Azurites) each
// stream's events, command markers and snapshot live only in the account
// of its hash; the store reads them back from there, optimistic concurrency
// still holds, and listings cover both accounts.
func TestStreamsSpreadOverAccounts(t *testing.T) {
	two, err := testenv.StartAccounts(2)
	require.NoError(t, err)
	t.Cleanup(two.Stop)
	accs, err := storage.ConnectAll(two.Accounts, "")
	require.NoError(t, err)
	ctx := context.Background()
	for _, a := range accs {
		require.NoError(t, a.EnsureTables(ctx, "events", "snapshots"))
	}
	store := eventstore.NewTableStore(accs, "events", nil)
	snaps := eventstore.NewSnapshots(accs, "snapshots")
	single := []*eventstore.TableStore{eventstore.NewTableStore(accs[0], "events", nil), eventstore.NewTableStore(accs[1], "events", nil)}

	perAccount := map[int]int{}
	var ids []string
	for i := range 24 {
		id := fmt.Sprintf("s%02d", i)
		stream := envelope.StreamID("test", id)
		ids = append(ids, stream)
		require.NoError(t, store.Append(ctx, stream, 0, events(id, 1, 2, "c-"+id), "c-"+id))
		home := accs.IndexOf(stream)
		perAccount[home]++
		here, err := single[home].Load(ctx, stream, 1)
		require.NoError(t, err)
		assert.Len(t, here, 2, "%s lives in account %d", stream, home)
		there, err := single[1-home].Load(ctx, stream, 1)
		require.NoError(t, err)
		assert.Empty(t, there, "and not in the other")

		got, err := store.Load(ctx, stream, 1)
		require.NoError(t, err)
		assert.Len(t, got, 2)
		_, found, err := store.Recorded(ctx, stream, "c-"+id)
		require.NoError(t, err)
		assert.True(t, found)
		assert.True(t, eventstore.IsConflict(store.Append(ctx, stream, 1, events(id, 2, 1, "late"), "late")), "optimistic concurrency in the stream's account")

		require.NoError(t, snaps.Put(ctx, eventstore.Snapshot{Stream: stream, Version: 2, StateVersion: 1, State: json.RawMessage(`{"n":2}`), TakenAt: time.Now()}))
		snap, ok, err := snaps.Get(ctx, stream, 1)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, int64(2), snap.Version)
		_, elsewhere, err := eventstore.NewSnapshots(accs[1-home], "snapshots").Get(ctx, stream, 1)
		require.NoError(t, err)
		assert.False(t, elsewhere, "the snapshot is in the stream's account only")
	}
	assert.Len(t, perAccount, 2, "24 streams use both accounts: %v", perAccount)

	var listed []string
	require.NoError(t, store.ListStreams(ctx, "test", func(s string) error { listed = append(listed, s); return nil }))
	assert.ElementsMatch(t, ids, listed, "listing covers every account")
	var changed []string
	require.NoError(t, store.StreamsChangedSince(ctx, "test", time.Now().Add(-time.Minute), func(s string) error { changed = append(changed, s); return nil }))
	assert.ElementsMatch(t, ids, changed)
}
