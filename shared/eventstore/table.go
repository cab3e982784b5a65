package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/shard"
	"github.com/prism-es/prism/shared/storage"
)

// DefaultTable is the event table's name (DESIGN.md).
const DefaultTable = "events"

// commandRowPrefix starts the RowKey of a command's marker row. It sorts after
// every zero-padded version, so version ranges never see marker rows.
const commandRowPrefix = "cmd-"

// batchOverheadBytes is a generous per-action allowance for the multipart
// headers around each entity in a transaction body.
const batchOverheadBytes = 512

// TableStore is the Store on Azure Table Storage: PartitionKey = stream id,
// RowKey = version zero-padded to 10 digits, plus one "cmd-<commandId>" row
// per applied command. Over several accounts, each stream lives in the
// table of account shard.Of(stream, accounts) (DESIGN.md "Accounts").
type TableStore struct {
	tables    []*aztables.Client
	upcasters *Upcasters
}

var _ Store = (*TableStore)(nil)

// NewTableStore returns a store over the named table of each account (one
// *storage.Account, or storage.Accounts). upcasters may be nil.
func NewTableStore(accounts storage.Spread, table string, upcasters *Upcasters) *TableStore {
	if upcasters == nil {
		upcasters = NewUpcasters()
	}
	return &TableStore{tables: tablesOf(accounts, table), upcasters: upcasters}
}

// tablesOf opens the named table in every account.
func tablesOf(accounts storage.Spread, table string) []*aztables.Client {
	var out []*aztables.Client
	for _, acc := range accounts.Spread() {
		out = append(out, acc.Tables.NewClient(table))
	}
	return out
}

// tableOf is the table holding stream's rows.
func tableOf(tables []*aztables.Client, stream string) *aztables.Client {
	return tables[shard.Of(stream, len(tables))]
}

// RowKey is the RowKey of the event at version v.
func RowKey(v int64) string { return fmt.Sprintf("%010d", v) }

type eventRow struct {
	PartitionKey  string `json:"PartitionKey"`
	RowKey        string `json:"RowKey"`
	EventID       string `json:"EventId"`
	EventType     string `json:"EventType"`
	SchemaVersion int    `json:"SchemaVersion"`
	AggregateType string `json:"AggregateType"`
	AggregateID   string `json:"AggregateId"`
	Data          string `json:"Data"`
	Metadata      string `json:"Metadata"`
	OccurredAt    string `json:"OccurredAt"`
	OccurredAtT   string `json:"OccurredAt@odata.type,omitempty"`
}

// commandRow marks a command as applied. Int64 properties travel as strings
// with an Edm.Int64 annotation.
type commandRow struct {
	PartitionKey  string `json:"PartitionKey"`
	RowKey        string `json:"RowKey"`
	FirstVersion  int64  `json:"FirstVersion,string"`
	FirstVersionT string `json:"FirstVersion@odata.type"`
	LastVersion   int64  `json:"LastVersion,string"`
	LastVersionT  string `json:"LastVersion@odata.type"`
	EventCount    int    `json:"EventCount"`
	AppliedAt     string `json:"AppliedAt"`
	AppliedAtT    string `json:"AppliedAt@odata.type"`
	// Outcome is "rejected" for a command refused by a rule (no events);
	// empty for one applied.
	Outcome string `json:"Outcome,omitempty"`
	// Reason is why a rejected command was refused.
	Reason string `json:"Reason,omitempty"`
}

// outcomeRejected marks the cmd- row of a rejected command.
const outcomeRejected = "rejected"

// maxReasonChars bounds the rejection reason kept in a marker row.
const maxReasonChars = 1024

func (r commandRow) size(encoded int) rowSize {
	sz := newRowSize(r.PartitionKey, r.RowKey, encoded)
	sz.fixed("FirstVersion", 8)
	sz.fixed("LastVersion", 8)
	sz.fixed("EventCount", 4)
	sz.fixed("AppliedAt", 8)
	if r.Outcome != "" {
		sz.str("Outcome", r.Outcome)
		sz.str("Reason", r.Reason)
	}
	return sz
}

func (r eventRow) size(encoded int) rowSize {
	sz := newRowSize(r.PartitionKey, r.RowKey, encoded)
	for name, v := range map[string]string{"EventId": r.EventID, "EventType": r.EventType, "AggregateType": r.AggregateType,
		"AggregateId": r.AggregateID, "Data": r.Data, "Metadata": r.Metadata} {
		sz.str(name, v)
	}
	sz.fixed("SchemaVersion", 4)
	sz.fixed("OccurredAt", 8)
	return sz
}

func toRow(e envelope.Event) (eventRow, error) {
	meta, err := json.Marshal(e.Metadata)
	if err != nil {
		return eventRow{}, err
	}
	return eventRow{
		PartitionKey:  e.StreamID(),
		RowKey:        RowKey(e.Version),
		EventID:       e.EventID,
		EventType:     e.Type,
		SchemaVersion: e.SchemaVersion,
		AggregateType: e.AggregateType,
		AggregateID:   e.AggregateID,
		Data:          string(e.Data),
		Metadata:      string(meta),
		OccurredAt:    e.OccurredAt.UTC().Format(time.RFC3339Nano),
		OccurredAtT:   "Edm.DateTime",
	}, nil
}

func fromRow(r eventRow) (envelope.Event, error) {
	v, err := strconv.ParseInt(r.RowKey, 10, 64)
	if err != nil {
		return envelope.Event{}, fmt.Errorf("row %s/%s: bad version: %w", r.PartitionKey, r.RowKey, err)
	}
	at, err := time.Parse(time.RFC3339Nano, r.OccurredAt)
	if err != nil {
		return envelope.Event{}, fmt.Errorf("row %s/%s: bad OccurredAt: %w", r.PartitionKey, r.RowKey, err)
	}
	e := envelope.Event{
		EventID:       r.EventID,
		Type:          r.EventType,
		SchemaVersion: r.SchemaVersion,
		AggregateType: r.AggregateType,
		AggregateID:   r.AggregateID,
		Version:       v,
		OccurredAt:    at,
		Data:          json.RawMessage(r.Data),
	}
	if e.SchemaVersion == 0 {
		e.SchemaVersion = 1
	}
	if r.Metadata != "" {
		if err := json.Unmarshal([]byte(r.Metadata), &e.Metadata); err != nil {
			return envelope.Event{}, fmt.Errorf("row %s/%s: bad Metadata: %w", r.PartitionKey, r.RowKey, err)
		}
	}
	return e, nil
}

// Append implements Store. The command's marker row goes first in the batch, so
// a failure at index 0 means "already applied" and any later index means
// "version taken" (DESIGN.md "Known pitfalls").
func (s *TableStore) Append(ctx context.Context, stream string, expectedVersion int64, events []envelope.Event, commandID string) error {
	if err := validateAppend(stream, expectedVersion, events, commandID); err != nil {
		return err
	}
	marker := newMarker(stream, commandID, expectedVersion, len(events))
	actions := make([]aztables.TransactionAction, 0, len(events)+1)
	sizes := make([]rowSize, 0, len(events)+1)
	mb, err := json.Marshal(marker)
	if err != nil {
		return err
	}
	actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: mb})
	sizes = append(sizes, marker.size(len(mb)))
	for _, e := range events {
		row, err := toRow(e)
		if err != nil {
			return err
		}
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: b})
		sizes = append(sizes, row.size(len(b)))
	}
	if err := checkEntitySizes(sizes); err != nil {
		return err
	}

	start := time.Now()
	_, err = tableOf(s.tables, stream).SubmitTransaction(ctx, actions, nil)
	appendSeconds.Observe(time.Since(start).Seconds())
	if err == nil {
		return nil
	}
	return s.transactionError(ctx, stream, expectedVersion, commandID, err)
}

// newMarker is the cmd- row of commandID, which produced events
// expectedVersion+1 … expectedVersion+count.
func newMarker(stream, commandID string, expectedVersion int64, count int) commandRow {
	return commandRow{
		PartitionKey: stream, RowKey: commandRowPrefix + commandID,
		FirstVersion: expectedVersion + 1, FirstVersionT: "Edm.Int64",
		LastVersion: expectedVersion + int64(count), LastVersionT: "Edm.Int64",
		EventCount: count, AppliedAt: time.Now().UTC().Format(time.RFC3339Nano), AppliedAtT: "Edm.DateTime",
	}
}

// Reject implements Store: it records that commandID was refused by a rule,
// so no later delivery of the same command can apply it.
func (s *TableStore) Reject(ctx context.Context, stream, commandID, reason string) error {
	if !envelope.ValidID(commandID) {
		return apperr.Fields("invalid rejection", apperr.FieldError{Field: "commandId", Message: "must be a valid id"})
	}
	marker := newMarker(stream, commandID, 0, 0)
	marker.Outcome, marker.Reason = outcomeRejected, truncateChars(reason, maxReasonChars)
	b, err := json.Marshal(marker)
	if err != nil {
		return err
	}
	if err := checkEntitySizes([]rowSize{marker.size(len(b))}); err != nil {
		return err
	}
	_, err = tableOf(s.tables, stream).AddEntity(ctx, b, nil)
	switch {
	case err == nil:
		return nil
	case storage.HasStatus(err, http.StatusConflict):
		return s.duplicate(ctx, stream, 0, commandID)
	}
	return storage.Classify(err, "record rejection in "+stream)
}

// truncateChars cuts s to at most n characters.
func truncateChars(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

var (
	failedIndexPattern = regexp.MustCompile(`"value"\s*:\s*"(\d+):`)
	errorCodePattern   = regexp.MustCompile(`"code"\s*:\s*"([A-Za-z]+)"`)
	innerStatusPattern = regexp.MustCompile(`HTTP/1\.[01] (\d{3})`)
)

// transactionFailure is what a failed entity-group transaction says about itself.
type transactionFailure struct {
	status int    // inner status of the failing action, or the outer one
	code   string // storage error code, e.g. EntityAlreadyExists
	index  int    // index of the failing action, -1 when not given
}

// decodeTransactionFailure reads the failing action's index, code and status
// from the response body. Azurite answers 202 with an empty ErrorCode and
// carries them only in the multipart body; Azure does the same.
func decodeTransactionFailure(err error) (transactionFailure, bool) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return transactionFailure{}, false
	}
	f := transactionFailure{status: re.StatusCode, code: re.ErrorCode, index: -1}
	if re.RawResponse != nil {
		if body, perr := runtime.Payload(re.RawResponse); perr == nil {
			text := string(body)
			if m := innerStatusPattern.FindStringSubmatch(text); m != nil {
				f.status, _ = strconv.Atoi(m[1])
			}
			if m := errorCodePattern.FindStringSubmatch(text); m != nil {
				f.code = m[1]
			}
			if m := failedIndexPattern.FindStringSubmatch(text); m != nil {
				f.index, _ = strconv.Atoi(m[1])
			}
		}
	}
	return f, true
}

func (s *TableStore) transactionError(ctx context.Context, stream string, expectedVersion int64, commandID string, err error) error {
	f, ok := decodeTransactionFailure(err)
	if !ok {
		return storage.Classify(err, "append to "+stream)
	}
	if f.code != "EntityAlreadyExists" && f.status != http.StatusConflict {
		return storage.Classify(fmt.Errorf("transaction failed (status %d, code %q, index %d): %w", f.status, f.code, f.index, err), "append to "+stream)
	}
	if f.index > 0 {
		appendConflicts.Inc()
		return &ConflictError{Stream: stream, ExpectedVersion: expectedVersion}
	}
	// Index 0 is the cmd-<id> marker; with no index in the body, ask the
	// table which row was there.
	return s.duplicate(ctx, stream, expectedVersion, commandID)
}

// duplicate answers an append whose command marker may already exist: the
// command's recorded outcome if it was applied or rejected, else a conflict
// (the marker vanished between the failed append and this read, which only
// a deleted table does, or an event row clashed). A failed read is returned
// as it is, never as a conflict.
func (s *TableStore) duplicate(ctx context.Context, stream string, expectedVersion int64, commandID string) error {
	rec, found, err := s.record(ctx, stream, commandID)
	if err != nil {
		return err
	}
	if !found {
		appendConflicts.Inc()
		return &ConflictError{Stream: stream, ExpectedVersion: expectedVersion}
	}
	appendDuplicates.Inc()
	return &DuplicateCommandError{Stream: stream, CommandID: commandID, Events: rec.events, Rejected: rec.rejected, Reason: rec.reason}
}

// recorded is what a cmd- row says about its command.
type recorded struct {
	events   []envelope.Event
	rejected bool
	reason   string
}

// Recorded reports whether commandID was applied to stream and, if so,
// returns the events it recorded. A rejected command counts as recorded,
// with no events; Append and Reject tell the two apart.
func (s *TableStore) Recorded(ctx context.Context, stream, commandID string) ([]envelope.Event, bool, error) {
	rec, found, err := s.record(ctx, stream, commandID)
	return rec.events, found, err
}

func (s *TableStore) record(ctx context.Context, stream, commandID string) (recorded, bool, error) {
	resp, err := tableOf(s.tables, stream).GetEntity(ctx, stream, commandRowPrefix+commandID, nil)
	if storage.HasStatus(err, http.StatusNotFound) {
		return recorded{}, false, nil
	}
	if err != nil {
		return recorded{}, false, storage.Classify(err, "read command marker")
	}
	var row commandRow
	if err := json.Unmarshal(resp.Value, &row); err != nil {
		return recorded{}, false, fmt.Errorf("command marker %s/%s: %w", stream, commandID, err)
	}
	if row.Outcome == outcomeRejected {
		return recorded{rejected: true, reason: row.Reason}, true, nil
	}
	if row.EventCount == 0 {
		return recorded{}, true, nil
	}
	events, err := s.LoadRange(ctx, stream, row.FirstVersion, row.LastVersion)
	return recorded{events: events}, true, err
}

// Load implements Store.
func (s *TableStore) Load(ctx context.Context, stream string, fromVersion int64) ([]envelope.Event, error) {
	return s.LoadRange(ctx, stream, fromVersion, 0)
}

// LoadRange returns the stream's events with from <= Version <= to (to = 0:
// no upper bound), following continuation tokens past the 1,000-row pages.
func (s *TableStore) LoadRange(ctx context.Context, stream string, from, to int64) ([]envelope.Event, error) {
	if from < 1 {
		from = 1
	}
	upper := "9999999999"
	if to > 0 {
		upper = RowKey(to)
	}
	filter := fmt.Sprintf("PartitionKey eq '%s' and RowKey ge '%s' and RowKey le '%s'", storage.ODataString(stream), RowKey(from), upper)
	pager := tableOf(s.tables, stream).NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	var events []envelope.Event
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, storage.Classify(err, "load "+stream)
		}
		for _, raw := range page.Entities {
			var row eventRow
			if err := json.Unmarshal(raw, &row); err != nil {
				return nil, fmt.Errorf("decode event row of %s: %w", stream, err)
			}
			e, err := fromRow(row)
			if err != nil {
				return nil, err
			}
			if e, err = s.upcasters.Upcast(e); err != nil {
				return nil, err
			}
			events = append(events, e)
		}
	}
	return events, nil
}

// ListStreams calls fn with the id of every stream whose aggregate type is
// aggregateType, in PartitionKey order within each account (account by
// account). It reads each stream's first row only via a filtered scan;
// rebuilds use it to find what to replay.
func (s *TableStore) ListStreams(ctx context.Context, aggregateType string, fn func(stream string) error) error {
	return s.eachStream(ctx, aggregateType, fmt.Sprintf("RowKey eq '%s'", RowKey(1)), "list streams", fn)
}

// StreamsChangedSince calls fn once with the id of every stream of
// aggregateType that recorded an event at or after since. Rebuilds use it to
// catch up on what moved while they ran.
func (s *TableStore) StreamsChangedSince(ctx context.Context, aggregateType string, since time.Time, fn func(stream string) error) error {
	return s.eachStream(ctx, aggregateType, fmt.Sprintf("OccurredAt ge datetime'%s'", since.UTC().Format(time.RFC3339Nano)), "list changed streams", fn)
}

// eachStream calls fn once per stream of aggregateType (its partitions
// only: "<type>-…") holding a row that matches filter, account by account,
// in PartitionKey order within each.
func (s *TableStore) eachStream(ctx context.Context, aggregateType, filter, what string, fn func(stream string) error) error {
	full := fmt.Sprintf("PartitionKey ge '%s' and PartitionKey lt '%s' and %s",
		storage.ODataString(aggregateType+"-"), storage.ODataString(aggregateType+"."), filter)
	for _, t := range s.tables {
		if err := eachPartition(ctx, t, full, what, fn); err != nil {
			return err
		}
	}
	return nil
}

// eachPartition calls fn once per partition of t holding a row that
// matches filter, in PartitionKey order.
func eachPartition(ctx context.Context, t *aztables.Client, filter, what string, fn func(stream string) error) error {
	sel := "PartitionKey"
	pager := t.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	last := ""
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return storage.Classify(err, what)
		}
		for _, raw := range page.Entities {
			var row struct{ PartitionKey string }
			if err := json.Unmarshal(raw, &row); err != nil {
				return err
			}
			if row.PartitionKey == last {
				continue // rows come in key order: a stream's rows are adjacent
			}
			last = row.PartitionKey
			if err := fn(row.PartitionKey); err != nil {
				return err
			}
		}
	}
	return nil
}
