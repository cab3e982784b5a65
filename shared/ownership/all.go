package ownership

import (
	"context"
	"sync"
)

// All runs work for every name at once, without leases, until ctx ends:
// every replica consumes every shard (competing consumers, no affinity). It
// is the fallback when ownership is switched off, and shows that
// correctness never depends on ownership.
func All(ctx context.Context, names []string, work Work) {
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		ownedGauge.Inc()
		ownedByName.WithLabelValues(n).Set(1)
		go func() {
			defer wg.Done()
			defer ownedGauge.Dec()
			defer ownedByName.WithLabelValues(n).Set(0)
			work(ctx, n)
		}()
	}
	wg.Wait()
}
