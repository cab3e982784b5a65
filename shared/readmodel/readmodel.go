// Package readmodel stores read-model rows in Azure Table Storage: each row
// is a JSON document plus the aggregate version it reflects, updated only
// with an ETag condition so concurrent updaters never overwrite each other.
// A catalog row per projection names the table that is live, so a rebuild
// can fill a fresh table and switch readers over without downtime.
package readmodel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/storage"
)

// MaxDocBytes bounds a row's document (Azure: 64 KiB per string property).
const MaxDocBytes = 60 * 1024

// Row is one read-model row.
type Row struct {
	PartitionKey string
	RowKey       string
	// Version is the aggregate version the document reflects.
	Version int64
	// Doc is the JSON document queries return as stored.
	Doc json.RawMessage
	// UpdatedAt is when the row was last written.
	UpdatedAt time.Time
	// ETag is the row's current ETag ("" for a row not yet stored).
	ETag string
}

// ErrPreconditionFailed says the row changed (or appeared) since it was read.
var ErrPreconditionFailed = errors.New("readmodel: row changed since it was read")

type wireRow struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	Version      int64  `json:"Version,string"`
	VersionT     string `json:"Version@odata.type"`
	Doc          string `json:"Doc"`
	UpdatedAt    string `json:"UpdatedAt"`
	UpdatedAtT   string `json:"UpdatedAt@odata.type"`
}

// Store reads and writes read-model rows in any table of an account.
type Store struct {
	svc *aztables.ServiceClient
}

// NewStore returns a Store on the account.
func NewStore(account *storage.Account) *Store { return &Store{svc: account.Tables} }

// Get returns the row, or ok=false when it does not exist.
func (s *Store) Get(ctx context.Context, table, pk, rk string) (Row, bool, error) {
	resp, err := s.svc.NewClient(table).GetEntity(ctx, pk, rk, nil)
	if storage.HasStatus(err, http.StatusNotFound) {
		return Row{}, false, nil
	}
	if err != nil {
		return Row{}, false, storage.Classify(err, "read "+table)
	}
	row, err := decode(resp.Value)
	if err != nil {
		return Row{}, false, err
	}
	row.ETag = string(resp.ETag)
	return row, true, nil
}

// Put writes row: as a new row when row.ETag is "" (ErrPreconditionFailed if
// it exists by now), otherwise only if the stored row still has that ETag.
// It returns the row as stored, with its new ETag.
func (s *Store) Put(ctx context.Context, table string, row Row) (Row, error) {
	b, err := encode(row)
	if err != nil {
		return Row{}, err
	}
	c := s.svc.NewClient(table)
	if row.ETag == "" {
		resp, err := c.AddEntity(ctx, b, nil)
		if storage.HasStatus(err, http.StatusConflict) {
			return Row{}, ErrPreconditionFailed
		}
		if err != nil {
			return Row{}, storage.Classify(err, "insert into "+table)
		}
		row.ETag = string(resp.ETag)
		return row, nil
	}
	etag := azcore.ETag(row.ETag)
	resp, err := c.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	if storage.HasStatus(err, http.StatusPreconditionFailed, http.StatusNotFound) {
		return Row{}, ErrPreconditionFailed
	}
	if err != nil {
		return Row{}, storage.Classify(err, "update "+table)
	}
	row.ETag = string(resp.ETag)
	return row, nil
}

// Upsert writes row unconditionally (rebuilds write into a table nobody
// else writes to).
func (s *Store) Upsert(ctx context.Context, table string, row Row) error {
	b, err := encode(row)
	if err != nil {
		return err
	}
	_, err = s.svc.NewClient(table).UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return storage.Classify(err, "upsert into "+table)
}

// Delete removes a row (missing rows are fine).
func (s *Store) Delete(ctx context.Context, table, pk, rk string) error {
	_, err := s.svc.NewClient(table).DeleteEntity(ctx, pk, rk, nil)
	if storage.HasStatus(err, http.StatusNotFound) {
		return nil
	}
	return storage.Classify(err, "delete from "+table)
}

// List returns up to limit rows of partition pk in RowKey order, starting
// after cursor (an opaque value from a previous page; "" for the first). The
// returned cursor is "" on the last page.
func (s *Store) List(ctx context.Context, table, pk string, limit int, cursor string) ([]Row, string, error) {
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !validRowKey(b) {
			return nil, "", apperr.Fields("invalid cursor", apperr.FieldError{Field: "cursor", Message: "is not a cursor this API gave out"})
		}
		after = string(b)
	}
	filter := fmt.Sprintf("PartitionKey eq '%s' and RowKey gt '%s'", storage.ODataString(pk), storage.ODataString(after))
	top := int32(limit + 1)
	pager := s.svc.NewClient(table).NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top})
	var rows []Row
	for pager.More() && len(rows) <= limit {
		page, err := pager.NextPage(ctx)
		if storage.HasStatus(err, http.StatusNotFound) {
			return nil, "", nil // the table is not there yet: nothing to list
		}
		if err != nil {
			return nil, "", storage.Classify(err, "list "+table)
		}
		for _, raw := range page.Entities {
			r, err := decode(raw)
			if err != nil {
				return nil, "", err
			}
			rows = append(rows, r)
		}
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(rows[limit-1].RowKey))
	}
	return rows, next, nil
}

// maxRowKeyBytes is Table Storage's limit on a RowKey.
const maxRowKeyBytes = 1024

// validRowKey reports whether a decoded cursor could be a RowKey this API
// gave out: short enough and free of control characters (a forged one would
// otherwise reach storage and come back as a 4xx it does not expect).
func validRowKey(b []byte) bool {
	if len(b) > maxRowKeyBytes || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func encode(row Row) ([]byte, error) {
	if len(row.Doc) > MaxDocBytes {
		return nil, apperr.New(apperr.TooLarge, "read-model document is %d bytes; the limit is %d", len(row.Doc), MaxDocBytes)
	}
	if !json.Valid(row.Doc) {
		return nil, fmt.Errorf("readmodel: document of %s/%s is not JSON", row.PartitionKey, row.RowKey)
	}
	at := row.UpdatedAt
	if at.IsZero() {
		at = time.Now()
	}
	return json.Marshal(wireRow{
		PartitionKey: row.PartitionKey, RowKey: row.RowKey,
		Version: row.Version, VersionT: "Edm.Int64", Doc: string(row.Doc),
		UpdatedAt: at.UTC().Format(time.RFC3339Nano), UpdatedAtT: "Edm.DateTime",
	})
}

func decode(raw []byte) (Row, error) {
	var w wireRow
	if err := json.Unmarshal(raw, &w); err != nil {
		return Row{}, fmt.Errorf("readmodel: undecodable row: %w", err)
	}
	at, _ := time.Parse(time.RFC3339Nano, w.UpdatedAt)
	return Row{PartitionKey: w.PartitionKey, RowKey: w.RowKey, Version: w.Version, Doc: json.RawMessage(w.Doc), UpdatedAt: at}, nil
}
