package readmodel

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/prism-es/prism/shared/storage"
)

// CatalogTable holds one row per projection naming its live table.
const CatalogTable = "projections"

const catalogPartition = "projection"

// Catalog resolves which table is live for a projection. Until a rebuild
// has switched it, a projection's live table is its own name ("carts").
// Resolutions are cached for TTL, so a switch reaches every reader and
// writer within that time.
type Catalog struct {
	table *aztables.Client
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cachedTable
}

type cachedTable struct {
	name string
	at   time.Time
}

// DefaultCatalogTTL is how long a resolution is trusted.
const DefaultCatalogTTL = 2 * time.Second

// NewCatalog returns a catalog on the account (ttl 0: DefaultCatalogTTL).
func NewCatalog(account *storage.Account, ttl time.Duration) *Catalog {
	if ttl <= 0 {
		ttl = DefaultCatalogTTL
	}
	return &Catalog{table: account.Tables.NewClient(CatalogTable), ttl: ttl, cache: map[string]cachedTable{}}
}

// TTL is how long a resolution is cached.
func (c *Catalog) TTL() time.Duration { return c.ttl }

type catalogRow struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	Table        string `json:"Table"`
	SwitchedAt   string `json:"SwitchedAt"`
}

// Live returns the live table of projection.
func (c *Catalog) Live(ctx context.Context, projection string) (string, error) {
	c.mu.Lock()
	if e, ok := c.cache[projection]; ok && time.Since(e.at) < c.ttl {
		c.mu.Unlock()
		return e.name, nil
	}
	c.mu.Unlock()
	name := projection
	resp, err := c.table.GetEntity(ctx, catalogPartition, projection, nil)
	switch {
	case err == nil:
		var row catalogRow
		if json.Unmarshal(resp.Value, &row) == nil && row.Table != "" {
			name = row.Table
		}
	case storage.HasStatus(err, http.StatusNotFound):
	default:
		return "", storage.Classify(err, "resolve the live table of "+projection)
	}
	c.mu.Lock()
	c.cache[projection] = cachedTable{name: name, at: time.Now()}
	c.mu.Unlock()
	return name, nil
}

// Switch makes table the live table of projection.
func (c *Catalog) Switch(ctx context.Context, projection, table string) error {
	b, err := json.Marshal(catalogRow{PartitionKey: catalogPartition, RowKey: projection, Table: table, SwitchedAt: time.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	if _, err := c.table.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return storage.Classify(err, "switch the live table of "+projection)
	}
	c.mu.Lock()
	c.cache[projection] = cachedTable{name: table, at: time.Now()}
	c.mu.Unlock()
	return nil
}

// RebuildProgress is a projection rebuild's state: readmodel-updater keeps
// it while it runs and reports it (its admin route, the fleet); the
// operations console reads it.
type RebuildProgress struct {
	Projection string `json:"projection"`
	// From is the table that was live when it started; Table the new one
	// it switches to.
	From       string    `json:"from,omitempty"`
	Table      string    `json:"table"`
	Phase      string    `json:"phase"`
	Streams    int64     `json:"streams"`
	Events     int64     `json:"events"`
	CaughtUp   int64     `json:"caughtUp"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Error      string    `json:"error,omitempty"`
}
