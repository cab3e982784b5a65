package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

// EventLoader reads a range of a stream's events; *eventstore.TableStore is one.
type EventLoader interface {
	LoadRange(ctx context.Context, stream string, from, to int64) ([]envelope.Event, error)
}

// Owners answers who owns a cart or an order: the "owner" field of the data
// of the first event of its event-store stream (CartCreated, OrderPlaced).
// Owners never change, so answers are cached in a bounded LRU; "not found"
// is not cached (the aggregate may be created a moment later).
type Owners struct {
	events EventLoader
	cache  *lru.Cache[string, string]
}

// NewOwners returns Owners reading events, caching up to size owners.
func NewOwners(events EventLoader, size int) (*Owners, error) {
	cache, err := lru.New[string, string](max(size, 1))
	if err != nil {
		return nil, fmt.Errorf("owner cache: %w", err)
	}
	return &Owners{events: events, cache: cache}, nil
}

// Owner returns the owner of the aggregate, or a NotFound error when it has
// no events (or its first event names no owner).
func (o *Owners) Owner(ctx context.Context, aggregateType, id string) (string, error) {
	stream := envelope.StreamID(aggregateType, id)
	if owner, ok := o.cache.Get(stream); ok {
		return owner, nil
	}
	events, err := o.events.LoadRange(ctx, stream, 1, 1)
	if err != nil {
		return "", err
	}
	if len(events) == 0 {
		return "", apperr.New(apperr.NotFound, "no %s %s", aggregateType, id)
	}
	var data struct {
		Owner string `json:"owner"`
	}
	if err := json.Unmarshal(events[0].Data, &data); err != nil || data.Owner == "" {
		slog.WarnContext(ctx, "first event names no owner", "stream", stream, "eventType", events[0].Type, "err", err)
		return "", apperr.New(apperr.NotFound, "no %s %s", aggregateType, id)
	}
	o.cache.Add(stream, data.Owner)
	return data.Owner, nil
}
