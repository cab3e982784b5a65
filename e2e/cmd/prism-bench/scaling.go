package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prism-es/prism/e2e/stack"
)

// measureScaling runs the same closed-loop load with 1, 2 and 3
// domain-service replicas.
func measureScaling(ctx context.Context, st *stack.Stack, s Settings) ([]ScalePoint, error) {
	sku := fmt.Sprintf("SCALE-%d", time.Now().UnixNano())
	if err := defineProduct(ctx, st, sku, 1); err != nil {
		return nil, err
	}
	users, err := newUsers(ctx, st, s.Users, sku)
	if err != nil {
		return nil, err
	}
	defer closeUsers(users)
	for len(st.Replicas()) > 1 {
		reps := st.Replicas()
		st.StopReplica(reps[len(reps)-1].Name)
	}
	var out []ScalePoint
	for n := 1; n <= 3; n++ {
		for len(st.Replicas()) < n {
			if _, err := st.AddReplica(fmt.Sprintf("domain-scale-%d", len(st.Replicas())+1)); err != nil {
				return out, err
			}
		}
		closedLoop(ctx, users, 2*time.Second) // warm the new replica's cache
		before, err := storageRequests(ctx, st)
		if err != nil {
			return out, err
		}
		lat, _, took := closedLoop(ctx, users, s.Duration)
		after, err := storageRequests(ctx, st)
		if err != nil {
			return out, err
		}
		p := ScalePoint{Replicas: n, CommandsPerSec: float64(len(lat)) / took.Seconds()}
		if len(lat) > 0 {
			p.RoundTripsPerCommand = (after.total() - before.total()) / float64(len(lat))
		}
		out = append(out, p)
		progress("  %d replica(s): %.1f commands/s, %.2f storage round trips per command", n, p.CommandsPerSec, p.RoundTripsPerCommand)
	}
	return out, nil
}
