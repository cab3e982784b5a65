package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/storage"
)

// measureRehydration times one command on a cold aggregate (every replica
// restarted gracefully, so no cache, and the shards shared out again before
// the clock starts) with 10 events, with N events and no snapshot, and
// with N events and a snapshot. The long streams are written straight into
// the event store (N commands through the API would take minutes); the
// snapshot one then gets 100 commands through the API, which crosses a
// snapshot boundary so domain-service writes the snapshot itself.
func measureRehydration(ctx context.Context, st *stack.Stack, s Settings) (Rehydration, error) {
	c := st.Client()
	admin, err := c.Token(ctx, "bench-admin", true)
	if err != nil {
		return Rehydration{}, err
	}
	stamp := time.Now().UnixNano()
	short, noSnap, snap := fmt.Sprintf("SHORT-%d", stamp), fmt.Sprintf("LONG-%d", stamp), fmt.Sprintf("SNAP-%d", stamp)
	restock := func(sku string) error {
		_, status, err := c.Run(ctx, http.MethodPost, "/api/products/"+sku+"/restock", admin, map[string]any{"quantity": 1})
		if err == nil && status.Status != "succeeded" {
			err = fmt.Errorf("restock %s: %+v", sku, status)
		}
		return err
	}
	if err := defineProduct(ctx, st, short, 1); err != nil {
		return Rehydration{}, err
	}
	for range 9 {
		if err := restock(short); err != nil {
			return Rehydration{}, err
		}
	}
	for _, sku := range []string{noSnap, snap} {
		if err := bulkProduct(ctx, st, sku, s.Events); err != nil {
			return Rehydration{}, err
		}
	}
	// Cross a multiple of the snapshot interval (100) on the snapshot stream.
	for range 100 {
		if err := restock(snap); err != nil {
			return Rehydration{}, err
		}
	}
	cold := func(sku string) (float64, error) {
		var times []time.Duration
		for range 5 {
			for _, p := range st.Replicas() {
				if err := p.Reload(); err != nil {
					return 0, err
				}
			}
			if err := st.WaitShardsBalanced(time.Minute); err != nil {
				return 0, err
			}
			start := time.Now()
			if err := restock(sku); err != nil {
				return 0, err
			}
			times = append(times, time.Since(start))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return float64(times[len(times)/2].Microseconds()) / 1000, nil
	}
	var r Rehydration
	r.Events = s.Events
	if r.Short, err = cold(short); err != nil {
		return r, err
	}
	if r.LongNoSnapshot, err = cold(noSnap); err != nil {
		return r, err
	}
	r.LongSnapshot, err = cold(snap)
	return r, err
}

// bulkProduct writes a product stream of n events (ProductDefined, then
// ProductRestocked) straight into the event store, 99 per transaction.
func bulkProduct(ctx context.Context, st *stack.Stack, sku string, n int) error {
	acc, err := storage.Connect(st.Env.ConnString)
	if err != nil {
		return err
	}
	store := eventstore.NewTableStore(acc, eventstore.DefaultTable, eventcatalog.Upcasters())
	stream := envelope.StreamID("product", sku)
	var v int64
	for v < int64(n) {
		cmd := "bench-bulk-" + uuid.NewString()
		var batch []envelope.Event
		for len(batch) < eventstore.MaxEventsPerAppend && v+int64(len(batch)) < int64(n) {
			next := v + int64(len(batch)) + 1
			typ, data := "ProductRestocked", map[string]any{"quantity": 1}
			if next == 1 {
				typ, data = "ProductDefined", map[string]any{"sku": sku, "name": "Long " + sku, "priceCents": 100, "stock": 1}
			}
			b, _ := json.Marshal(data)
			batch = append(batch, envelope.Event{EventID: uuid.NewString(), Type: typ, SchemaVersion: 1, AggregateType: "product", AggregateID: sku,
				Version: next, OccurredAt: envelope.Now(), Data: b, Metadata: envelope.EventMetadata{CommandID: cmd, UserID: "bench"}})
		}
		if err := store.Append(ctx, stream, v, batch, cmd); err != nil {
			return err
		}
		v += int64(len(batch))
	}
	return nil
}
