package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// measureRaw drives the storage emulator directly through the kit, with the
// same concurrency the pipeline uses: single-entity table inserts, then
// queue send + receive + delete per message.
func measureRaw(ctx context.Context, st *stack.Stack, s Settings) (Raw, error) {
	acc, err := storage.Connect(st.Env.ConnString)
	if err != nil {
		return Raw{}, err
	}
	table, qname := testenv.TableName("rawbench"), testenv.QueueName("rawbench")
	if err := acc.EnsureTables(ctx, table); err != nil {
		return Raw{}, err
	}
	if err := acc.EnsureQueues(ctx, qname); err != nil {
		return Raw{}, err
	}
	store := readmodel.NewStore(acc)
	doc, _ := json.Marshal(map[string]any{"sku": "RAW-1", "name": "a row the size of an event", "quantity": 1, "unitPriceCents": 100, "pad": uuid.NewString()})

	var inserts atomic.Int64
	elapsed, err := forDuration(ctx, s.Concurrency, s.Duration, func(ctx context.Context) error {
		_, err := store.Put(ctx, table, readmodel.Row{PartitionKey: uuid.NewString(), RowKey: "r", Version: 1, Doc: doc})
		if err == nil {
			inserts.Add(1)
		}
		return err
	})
	if err != nil {
		return Raw{}, err
	}
	insertRate := float64(inserts.Load()) / elapsed.Seconds()

	q := queue.Open(acc, qname, nil)
	var msgs atomic.Int64
	qElapsed, err := forDuration(ctx, s.Concurrency, s.Duration, func(ctx context.Context) error {
		if err := q.Send(ctx, doc); err != nil {
			return err
		}
		got, err := q.Receive(ctx, 1, 30*time.Second)
		if err != nil {
			return err
		}
		for _, m := range got {
			if err := q.Delete(ctx, m); err != nil {
				return err
			}
			msgs.Add(1)
		}
		return nil
	})
	if err != nil {
		return Raw{}, err
	}
	msgRate := float64(msgs.Load()) / qElapsed.Seconds()
	// Drop what the measurement wrote: Azurite keeps its tables in memory and
	// saves them to disk periodically, and tens of thousands of leftover rows
	// make those saves stall the later measurements.
	if _, err := acc.Tables.DeleteTable(ctx, table, nil); err != nil {
		progress("  could not drop the raw table: %v", err)
	}
	if _, err := acc.Queues.DeleteQueue(ctx, qname, nil); err != nil {
		progress("  could not drop the raw queue: %v", err)
	}
	requests := float64(inserts.Load()) + 3*float64(msgs.Load())
	return Raw{TableInsertsPerSec: insertRate, QueueMessagesPerSec: msgRate, RequestsPerSec: requests / (elapsed + qElapsed).Seconds()}, nil
}

// forDuration runs op in n loops for d and returns the time taken. The first
// error stops everything.
func forDuration(ctx context.Context, n int, d time.Duration, op func(context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := op(ctx); err != nil {
					once.Do(func() { first = fmt.Errorf("%w", err); cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}
