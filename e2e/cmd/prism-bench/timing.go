package main

import (
	"context"
	"sort"

	"github.com/prism-es/prism/e2e/stack"
)

// timings are the sums and counts of the latency histograms every process
// exports, by "process metric labels": storage requests, queue handlers.
type timings map[string][2]float64

var timedMetrics = []string{"prism_storage_request_duration_seconds", "prism_queue_handler_duration_seconds"}

// readTimings scrapes the latency histograms of every process.
func readTimings(ctx context.Context, st *stack.Stack) (timings, error) {
	procs := map[string]string{"prism-api": st.APIOps, "readmodel-updater": st.Updater}
	for _, p := range st.Replicas() {
		procs["domain-service "+p.Name] = p.OpsURL()
	}
	out := timings{}
	for name, base := range procs {
		proc := name
		if len(st.Replicas()) > 0 && len(name) > len("domain-service") && name[:len("domain-service")] == "domain-service" {
			proc = "domain-service"
		}
		for _, m := range timedMetrics {
			sums, err := scrapeSamples(ctx, base, m+"_sum")
			if err != nil {
				return nil, err
			}
			counts, err := scrapeSamples(ctx, base, m+"_count")
			if err != nil {
				return nil, err
			}
			for k, s := range sums {
				key := proc + " " + m[len("prism_"):] + " " + k
				v := out[key]
				out[key] = [2]float64{v[0] + s, v[1] + counts[k]}
			}
		}
	}
	return out, nil
}

// TimeSpent is one latency histogram's mean over a phase.
type TimeSpent struct {
	What   string  `json:"what"`
	MeanMs float64 `json:"meanMs"`
	Count  float64 `json:"count"`
}

// spent is the mean of every histogram that moved between before and after.
func spent(before, after timings) []TimeSpent {
	var out []TimeSpent
	for k, a := range after {
		b := before[k]
		if n := a[1] - b[1]; n > 0 {
			out = append(out, TimeSpent{What: k, MeanMs: (a[0] - b[0]) / n * 1000, Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].What < out[j].What })
	return out
}
