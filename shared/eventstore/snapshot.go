package eventstore

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/storage"
)

// DefaultSnapshotTable is the snapshot table's name (DESIGN.md).
const DefaultSnapshotTable = "snapshots"

// snapshotRowKey is the RowKey of a stream's one snapshot row.
const snapshotRowKey = "snapshot"

// Snapshot is an aggregate's folded state at a version. It is an optimisation
// only: the events are the truth, and a snapshot whose StateVersion differs
// from the code's is ignored.
type Snapshot struct {
	Stream       string
	Version      int64
	StateVersion int
	State        json.RawMessage
	TakenAt      time.Time
}

// Snapshots stores one snapshot per stream in a table, in the account of
// the stream (as TableStore).
type Snapshots struct {
	tables []*aztables.Client
}

// NewSnapshots returns the snapshot store over the named table of each
// account (one *storage.Account, or storage.Accounts).
func NewSnapshots(accounts storage.Spread, table string) *Snapshots {
	return &Snapshots{tables: tablesOf(accounts, table)}
}

type snapshotRow struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	Version      int64  `json:"Version,string"`
	VersionT     string `json:"Version@odata.type"`
	StateVersion int    `json:"StateVersion"`
	State        string `json:"State"`
	TakenAt      string `json:"TakenAt"`
	TakenAtT     string `json:"TakenAt@odata.type"`
}

// Get returns the stream's snapshot if one exists with the given state version.
func (s *Snapshots) Get(ctx context.Context, stream string, stateVersion int) (Snapshot, bool, error) {
	resp, err := tableOf(s.tables, stream).GetEntity(ctx, stream, snapshotRowKey, nil)
	if storage.HasStatus(err, http.StatusNotFound) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, storage.Classify(err, "read snapshot")
	}
	var row snapshotRow
	if err := json.Unmarshal(resp.Value, &row); err != nil {
		return Snapshot{}, false, nil // unreadable snapshot: ignore it, the events are the truth
	}
	if row.StateVersion != stateVersion || !json.Valid([]byte(row.State)) {
		return Snapshot{}, false, nil
	}
	at, _ := time.Parse(time.RFC3339Nano, row.TakenAt)
	return Snapshot{Stream: stream, Version: row.Version, StateVersion: row.StateVersion, State: json.RawMessage(row.State), TakenAt: at}, true, nil
}

// Put stores snap as the stream's snapshot unless the stored one is at least
// as new: the write is conditional on the row's ETag, so a slow writer never
// replaces a newer snapshot with an older one.
func (s *Snapshots) Put(ctx context.Context, snap Snapshot) error {
	if n := 2 * storage.UTF16Len(string(snap.State)); n > MaxPropertyBytes {
		return apperr.New(apperr.TooLarge, "snapshot state of %s is %d bytes in UTF-16; the limit is %d", snap.Stream, n, MaxPropertyBytes)
	}
	if snap.TakenAt.IsZero() {
		snap.TakenAt = time.Now()
	}
	b, err := json.Marshal(snapshotRow{
		PartitionKey: snap.Stream, RowKey: snapshotRowKey,
		Version: snap.Version, VersionT: "Edm.Int64",
		StateVersion: snap.StateVersion, State: string(snap.State),
		TakenAt: snap.TakenAt.UTC().Format(time.RFC3339Nano), TakenAtT: "Edm.DateTime",
	})
	if err != nil {
		return err
	}
	table := tableOf(s.tables, snap.Stream)
	// Each lost race means another writer's snapshot was stored, so with n
	// writers at most n-1 rounds are lost before this one is stored or
	// finds one as new: the bound is far above the replicas that could race.
	for range maxSnapshotRounds {
		resp, err := table.GetEntity(ctx, snap.Stream, snapshotRowKey, nil)
		switch {
		case storage.HasStatus(err, http.StatusNotFound):
			_, err = table.AddEntity(ctx, b, nil)
			if storage.HasStatus(err, http.StatusConflict) {
				continue // written meanwhile: compare with it
			}
			return storage.Classify(err, "write snapshot")
		case err != nil:
			return storage.Classify(err, "read snapshot")
		}
		var cur snapshotRow
		if json.Unmarshal(resp.Value, &cur) == nil && cur.Version >= snap.Version && cur.StateVersion >= snap.StateVersion {
			return nil // the stored snapshot is as new: keep it
		}
		etag := resp.ETag
		_, err = table.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace, IfMatch: &etag})
		if storage.HasStatus(err, http.StatusPreconditionFailed) {
			continue // replaced meanwhile: compare again
		}
		return storage.Classify(err, "write snapshot")
	}
	return nil // that many writers raced; one of the newer snapshots stands
}

// maxSnapshotRounds bounds Put's read-compare-write rounds.
const maxSnapshotRounds = 64
