package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prism-es/prism/e2e/stack"
)

// measureFanout connects many clients to the public products stream of one
// stream-service, restocks a product repeatedly, and measures POST→delivery
// for every client and event, plus the stream-service's memory.
func measureFanout(ctx context.Context, st *stack.Stack, s Settings) (Fanout, error) {
	sku := fmt.Sprintf("FAN-%d", time.Now().UnixNano())
	if err := defineProduct(ctx, st, sku, 1); err != nil {
		return Fanout{}, err
	}
	c := st.Client()
	admin, err := c.Token(ctx, "bench-admin", true)
	if err != nil {
		return Fanout{}, err
	}
	const events = 20
	var mu sync.Mutex
	sentAt := map[int64]time.Time{} // product version → POST time
	var lat []time.Duration
	delivered := 0
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg, connected sync.WaitGroup
	sem := make(chan struct{}, 64)
	var connErr error
	for range s.Clients {
		wg.Add(1)
		connected.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			evs, err := st.Subscribe(cctx, "/streams/products", "", "")
			<-sem
			if err != nil {
				mu.Lock()
				connErr = err
				mu.Unlock()
			}
			connected.Done() // after connErr is set: Wait then reads it
			if err != nil {
				return
			}
			got := 0
			for e := range evs {
				if e.Type != "product.updated" {
					continue
				}
				var p struct {
					SKU     string
					Version int64
				}
				if json.Unmarshal([]byte(e.Data), &p) != nil || p.SKU != sku {
					continue
				}
				now := time.Now()
				mu.Lock()
				if t, ok := sentAt[p.Version]; ok {
					lat = append(lat, now.Sub(t))
					delivered++
				}
				mu.Unlock()
				if got++; got == events {
					return
				}
			}
		}()
	}
	connected.Wait()
	mu.Lock()
	failed := connErr
	mu.Unlock()
	if failed != nil {
		return Fanout{}, failed
	}
	progress("  %d clients connected; sending %d updates…", s.Clients, events)
	version := int64(1)
	for range events {
		version++
		mu.Lock()
		sentAt[version] = time.Now()
		mu.Unlock()
		if _, err := c.Command(ctx, http.MethodPost, "/api/products/"+sku+"/restock", admin, map[string]any{"quantity": 1}); err != nil {
			return Fanout{}, err
		}
		time.Sleep(100 * time.Millisecond) // paced updates, as a shop's stock changes
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	f := Fanout{Clients: s.Clients, Events: events, Expected: s.Clients * events}
	if p := st.Process("stream-service"); p != nil {
		f.RSSMiB = rssMiB(p.Pid())
	}
	if heap, err := scrape(ctx, st.StreamsOps, "go_memstats_heap_inuse_bytes"); err == nil {
		f.HeapMiB = heap / (1 << 20)
	}
	cancel()
	mu.Lock()
	f.Delivered = delivered
	f.Latency = summarise(lat)
	mu.Unlock()
	return f, nil
}
