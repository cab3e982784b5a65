package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prism-es/prism/e2e/stack"
)

func defineProduct(ctx context.Context, st *stack.Stack, sku string, stock int) error {
	c := st.Client()
	admin, err := c.Token(ctx, "bench-admin", true)
	if err != nil {
		return err
	}
	_, s, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": sku, "name": "Bench " + sku, "priceCents": 100, "stock": stock})
	if err == nil && s.Status != "succeeded" {
		err = fmt.Errorf("define %s: %+v", sku, s)
	}
	return err
}

// measurePipeline: closed-loop users for the full-load figures and storage
// round trips, then commands paced at half that rate for the half-load
// latency.
func measurePipeline(ctx context.Context, st *stack.Stack, s Settings) (Pipeline, error) {
	sku := fmt.Sprintf("BENCH-%d", time.Now().UnixNano())
	if err := defineProduct(ctx, st, sku, 1); err != nil {
		return Pipeline{}, err
	}
	users, err := newUsers(ctx, st, s.Users, sku)
	if err != nil {
		return Pipeline{}, err
	}
	defer closeUsers(users)

	// Warm up (caches, connections), then measure.
	closedLoop(ctx, users, 2*time.Second)
	before, err := storageRequests(ctx, st)
	if err != nil {
		return Pipeline{}, err
	}
	profiled := startProfiles(ctx, st, s.Profile, s.Duration)
	cpuBefore := sampleCPU(st)
	lat, errs, took := closedLoop(ctx, users, s.Duration)
	cpuAfter := sampleCPU(st)
	if err := profiled(); err != nil {
		return Pipeline{}, fmt.Errorf("profiles: %w", err)
	}
	after, err := storageRequests(ctx, st)
	if err != nil {
		return Pipeline{}, err
	}
	p := Pipeline{Commands: len(lat), CommandsPerSec: float64(len(lat)) / took.Seconds(), Full: summarise(lat), Errors: errs,
		FullCPU: cpuPerCommand(cpuBefore, cpuAfter, len(lat))}
	if len(lat) > 0 {
		p.RoundTripsPerCommand = (after.total() - before.total()) / float64(len(lat))
		p.RoundTripsBy = perCommand(before, after, len(lat))
	}

	p.HalfRatePerSec = p.CommandsPerSec / 2
	if s.LatencyRate > 0 {
		p.HalfRatePerSec = s.LatencyRate
	}
	tb, err := readTimings(ctx, st)
	if err != nil {
		return Pipeline{}, err
	}
	cpuBefore = sampleCPU(st)
	half, herrs := paced(ctx, users, p.HalfRatePerSec, s.Duration)
	p.HalfCPU = cpuPerCommand(cpuBefore, sampleCPU(st), len(half))
	p.Half = summarise(half)
	ta, err := readTimings(ctx, st)
	if err != nil {
		return Pipeline{}, err
	}
	p.HalfTimeSpent = spent(tb, ta)
	p.Errors += herrs
	return p, nil
}

// paced issues commands at rate per second for d, each by an idle user.
func paced(ctx context.Context, users []*user, rate float64, d time.Duration) ([]time.Duration, int) {
	if rate <= 0 {
		return nil, 0
	}
	idle := make(chan *user, len(users))
	for _, u := range users {
		idle <- u
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.After(d)
loop:
	for {
		select {
		case <-end:
			break loop
		case <-ctx.Done():
			break loop
		case <-tick.C:
			var u *user
			select {
			case u = <-idle:
			default:
				continue // every user busy: the arrival is dropped (the half-load count shows fewer commands)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := u.step(ctx)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, l)
				}
				mu.Unlock()
				idle <- u
			}()
		}
	}
	wg.Wait()
	return lat, errs
}
