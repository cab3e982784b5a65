package main

import "fmt"

// scalingTargets adds the targets of the scaling phase: per-command costs
// flat from the fewest to the most replicas (CPU and storage requests at
// most 1.1×), a warm cache (≥ 95 % hits) and no conflicts under uniform load
// at every replica count, and, reported only, throughput.
func (r *Results) scalingTargets(add func(name, want, got string, met bool)) {
	if len(r.Scaling) < 2 {
		return
	}
	first, last := r.Scaling[0], r.Scaling[len(r.Scaling)-1]
	span := fmt.Sprintf("%d → %d replicas", first.Replicas, last.Replicas)
	ratio := func(a, b float64) float64 {
		if a <= 0 {
			return 0
		}
		return b / a
	}
	cpu := ratio(first.DomainCPUMsPerCommand, last.DomainCPUMsPerCommand)
	add("domain-service CPU per command, "+span, "≤ 1.1×", fmt.Sprintf("%.2f → %.2f ms (%.2f×)", first.DomainCPUMsPerCommand, last.DomainCPUMsPerCommand, cpu), cpu > 0 && cpu <= 1.1)
	if first.QuarterRateCPUMsPerCommand > 0 && last.Replicas == 4 {
		// The same comparison at the same rate per replica: the control
		// point is one replica at what each of the four handles.
		same := ratio(first.QuarterRateCPUMsPerCommand, last.DomainCPUMsPerCommand)
		add("… at the same rate per replica (4 replicas ÷ the control)", "≤ 1.1×", fmt.Sprintf("%.2f ms ÷ %.2f ms (%.2f×)", last.DomainCPUMsPerCommand, first.QuarterRateCPUMsPerCommand, same), same > 0 && same <= 1.1)
	}
	req := ratio(first.RoundTripsPerCommand, last.RoundTripsPerCommand)
	add("storage requests per command, "+span, "≤ 1.1×", fmt.Sprintf("%.2f → %.2f (%.2f×)", first.RoundTripsPerCommand, last.RoundTripsPerCommand, req), req > 0 && req <= 1.1)
	for _, p := range []ScalePoint{first, last} {
		got := p.FullLoadRoundTripsPerCommand
		add(fmt.Sprintf("storage requests per command at full load, %d replica(s)", p.Replicas), fmt.Sprintf("≤ %g", maxRequestsPerCommand),
			fmt.Sprintf("%.2f", got), got > 0 && got <= maxRequestsPerCommand)
	}
	lowest, conflicts := 1.0, 0.0
	for _, p := range r.Scaling {
		lowest = min(lowest, p.CacheHitRatio)
		conflicts = max(conflicts, p.ConflictsPerCommand)
	}
	add("cache hit ratio at every replica count", "≥ 95 %", fmt.Sprintf("%.1f %% (lowest)", 100*lowest), lowest >= 0.95)
	add("append conflicts per command (uniform load)", "≈ 0 (≤ 0.01)", fmt.Sprintf("%.4f (highest)", conflicts), conflicts <= 0.01)
	add("throughput "+span, "no loss", fmt.Sprintf("%.1f → %.1f cmd/s", first.CommandsPerSec, last.CommandsPerSec), last.CommandsPerSec >= 0.95*first.CommandsPerSec)
}
