package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prism-es/prism/e2e/stack"
)

// scaleReplicas are the replica counts of the scaling phase, over the same
// command shards.
var scaleReplicas = []int{1, 2, 4}

// idleWindow is how long the scaling phase watches the replicas idle.
const idleWindow = 5 * time.Second

// measureScaling runs the same load with 1, 2 and 4 domain-service replicas
// over the same shards: a closed loop for throughput, then the same offered
// rate at every replica count (half of what one replica sustained, over a
// window twice the phase duration) for the
// per-command costs that must not grow with the replica count (fleet CPU,
// storage requests), the cache hit ratio and append conflicts. Costs are
// read at a fixed rate because at saturation this machine's two CPUs are
// shared by every process, and more processes contending for them cost
// every process more CPU per unit of work (the other services' too), which
// says nothing about the design.
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
	rate := 0.0
	for _, n := range scaleReplicas {
		for len(st.Replicas()) < n {
			if _, err := st.AddReplica(fmt.Sprintf("domain-scale-%d", len(st.Replicas())+1)); err != nil {
				return out, err
			}
		}
		if err := st.WaitShardsBalanced(time.Minute); err != nil {
			return out, err
		}
		closedLoop(ctx, users, 2*time.Second) // warm the new owners' caches
		fullBefore, err := storageRequests(ctx, st)
		if err != nil {
			return out, err
		}
		cpuBefore := sampleCPU(st)
		lat, _, took := closedLoop(ctx, users, s.Duration)
		cpuAfter := sampleCPU(st)
		fullAfter, err := storageRequests(ctx, st)
		if err != nil {
			return out, err
		}
		p := ScalePoint{Replicas: n, Shards: st.CommandShards(), CommandsPerSec: float64(len(lat)) / took.Seconds(),
			FullLoadCPU: cpuPerCommand(cpuBefore, cpuAfter, len(lat))}
		if len(lat) > 0 {
			p.FullLoadRoundTripsPerCommand = (fullAfter.total() - fullBefore.total()) / float64(len(lat))
		}
		if rate == 0 {
			rate = p.CommandsPerSec / 2
		}
		if p.IdleCPUMsPerSecPerReplica, err = idleCPU(ctx, st, idleWindow); err != nil {
			return out, err
		}
		before, err := sampleFleet(ctx, st)
		if err != nil {
			return out, err
		}
		window := 2 * s.Duration
		cpuBefore = sampleCPU(st)
		paced, _ := paced(ctx, users, rate, window)
		cpuAfter = sampleCPU(st)
		after, err := sampleFleet(ctx, st)
		if err != nil {
			return out, err
		}
		p.CostRatePerSec = float64(len(paced)) / window.Seconds()
		p.perCommandFigures(before, after, len(paced))
		p.CPU = cpuPerCommand(cpuBefore, cpuAfter, len(paced))
		if n == 1 {
			// The control: one replica at the rate each of four replicas
			// sees. A process that handles fewer commands a second spends
			// more CPU on each (its runtime wakes up from idle more often),
			// whatever the replica count.
			if p.QuarterRateCPUMsPerCommand, err = cpuPerCommandAt(ctx, st, users, rate/4, window); err != nil {
				return out, err
			}
		}
		out = append(out, p)
		progress("  %d replica(s): %.1f commands/s; per command at %.1f commands/s: domain-service CPU %.2f ms (all services %.2f ms), %.2f storage requests (domain-service %.2f), %.4f conflicts; cache hits %.1f %%; idle CPU %.1f ms/s per replica; shards owned %v",
			n, p.CommandsPerSec, p.CostRatePerSec, p.DomainCPUMsPerCommand, p.StackCPUMsPerCommand, p.RoundTripsPerCommand, p.DomainRoundTripsPerCommand, p.ConflictsPerCommand, 100*p.CacheHitRatio, p.IdleCPUMsPerSecPerReplica, p.ShardsOwned)
		progress("    at full load: %.2f storage requests per command; CPU per command: %s", p.FullLoadRoundTripsPerCommand, p.FullLoadCPU)
		progress("    at %.1f commands/s: CPU per command: %s", p.CostRatePerSec, p.CPU)
		if p.QuarterRateCPUMsPerCommand > 0 {
			progress("    control: the one replica at a quarter of that rate: CPU %.2f ms per command", p.QuarterRateCPUMsPerCommand)
		}
	}
	return out, nil
}

// idleCPU is the domain-service replicas' mean CPU use, in ms per second
// per replica, over d without load: what a replica costs by merely running
// (balancing rounds, lease renewals, idle polling, the Go runtime).
func idleCPU(ctx context.Context, st *stack.Stack, d time.Duration) (float64, error) {
	reps := st.Replicas()
	before := 0.0
	for _, p := range reps {
		before += cpuSeconds(p.Pid())
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	after := 0.0
	for _, p := range reps {
		after += cpuSeconds(p.Pid())
	}
	return (after - before) * 1000 / d.Seconds() / float64(len(reps)), nil
}

// cpuPerCommandAt is the domain-service replicas' CPU per command at rate.
func cpuPerCommandAt(ctx context.Context, st *stack.Stack, users []*user, rate float64, window time.Duration) (float64, error) {
	before, err := sampleFleet(ctx, st)
	if err != nil {
		return 0, err
	}
	done, _ := paced(ctx, users, rate, window)
	after, err := sampleFleet(ctx, st)
	if err != nil || len(done) == 0 {
		return 0, err
	}
	return (after.domainCPU - before.domainCPU) * 1000 / float64(len(done)), nil
}
