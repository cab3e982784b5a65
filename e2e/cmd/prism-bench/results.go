package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency summarises delivery times in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) float64 {
		i := int(p * float64(len(ds)))
		if i >= len(ds) {
			i = len(ds) - 1
		}
		return float64(ds[i].Microseconds()) / 1000
	}
	return Latency{Count: len(ds), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: float64(ds[len(ds)-1].Microseconds()) / 1000}
}

// Raw is the storage emulator's capacity without Prism.
type Raw struct {
	TableInsertsPerSec  float64 `json:"tableInsertsPerSec"`
	QueueMessagesPerSec float64 `json:"queueMessagesPerSec"`
	// RequestsPerSec is storage requests per second over both measurements
	// (an insert is one request; a message is three: send, receive, delete).
	RequestsPerSec float64 `json:"requestsPerSec"`
}

// Pipeline is the whole system under load.
type Pipeline struct {
	Commands             int     `json:"commands"`
	CommandsPerSec       float64 `json:"commandsPerSec"`
	RoundTripsPerCommand float64 `json:"storageRoundTripsPerCommand"`
	// RoundTripsBy splits them by "process service method" (a queue GET is a
	// receive, DELETE a delete, POST a send; a table POST an append or insert,
	// PUT an update, GET a read).
	RoundTripsBy map[string]float64 `json:"storageRoundTripsBy"`
	Full         Latency            `json:"postToSseFullLoad"`
	// FullCPU and HalfCPU are CPU ms per command by process at full and
	// half load.
	FullCPU        CPUPerCommand `json:"cpuMsPerCommandFullLoad"`
	HalfCPU        CPUPerCommand `json:"cpuMsPerCommandHalfLoad,omitempty"`
	HalfRatePerSec float64       `json:"halfLoadCommandsPerSec"`
	// HalfTimeSpent is where the time went at half load: the mean of each
	// storage request and queue handler latency, by process.
	HalfTimeSpent []TimeSpent `json:"halfLoadTimeSpent,omitempty"`
	Half          Latency     `json:"postToSseHalfLoad"`
	Errors        int         `json:"errors"`
}

// Rehydration is the time of one command on a cold aggregate, in ms.
type Rehydration struct {
	Short          float64 `json:"tenEventsMs"`
	LongNoSnapshot float64 `json:"longNoSnapshotMs"`
	LongSnapshot   float64 `json:"longWithSnapshotMs"`
	Events         int     `json:"longEvents"`
}

// ScalePoint is throughput and per-command costs at a replica count.
type ScalePoint struct {
	Replicas       int     `json:"replicas"`
	Shards         int     `json:"commandShards"`
	CommandsPerSec float64 `json:"commandsPerSec"`
	// CostRatePerSec is the fixed rate the per-command costs below were
	// measured at (the same at every replica count).
	CostRatePerSec       float64 `json:"costRateCommandsPerSec"`
	RoundTripsPerCommand float64 `json:"storageRoundTripsPerCommand"`
	// DomainRoundTripsPerCommand: the domain-service replicas' share.
	DomainRoundTripsPerCommand float64 `json:"domainStorageRoundTripsPerCommand"`
	// DomainCPUMsPerCommand is the CPU time of all domain-service replicas
	// (/proc) per command; StackCPUMsPerCommand adds the other services'.
	DomainCPUMsPerCommand float64 `json:"domainCpuMsPerCommand"`
	StackCPUMsPerCommand  float64 `json:"servicesCpuMsPerCommand"`
	// CacheHitRatio is aggregate cache hits over lookups on all replicas.
	CacheHitRatio float64 `json:"cacheHitRatio"`
	// ConflictsPerCommand is optimistic-concurrency conflict retries.
	ConflictsPerCommand float64 `json:"conflictsPerCommand"`
	// QuarterRateCPUMsPerCommand (one replica only): its CPU per command at
	// a quarter of CostRatePerSec, the rate each of four replicas sees.
	QuarterRateCPUMsPerCommand float64 `json:"quarterRateCpuMsPerCommand,omitempty"`
	// FullLoadRoundTripsPerCommand and FullLoadCPU are storage requests and
	// CPU ms by process per command during the full-load run.
	FullLoadRoundTripsPerCommand float64       `json:"fullLoadStorageRoundTripsPerCommand"`
	FullLoadCPU                  CPUPerCommand `json:"fullLoadCpuMsPerCommand"`
	// CPU is CPU ms by process per command at CostRatePerSec.
	CPU CPUPerCommand `json:"cpuMsPerCommand"`
	// IdleCPUMsPerSecPerReplica is a replica's CPU use with no load.
	IdleCPUMsPerSecPerReplica float64 `json:"idleCpuMsPerSecPerReplica"`
	// ShardsOwned is command queues owned per replica at the end.
	ShardsOwned map[string]int `json:"shardsOwned"`
}

// Fanout is SSE delivery to many clients.
type Fanout struct {
	Clients   int     `json:"clients"`
	Events    int     `json:"events"`
	Expected  int     `json:"expectedDeliveries"`
	Delivered int     `json:"delivered"`
	Latency   Latency `json:"latency"`
	RSSMiB    float64 `json:"streamServiceRssMiB"`
	HeapMiB   float64 `json:"streamServiceHeapMiB"`
}

// Target is one design target and how the run compares.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// Results is everything one run measured.
type Results struct {
	Date     string   `json:"date"`
	Machine  string   `json:"machine"`
	Elapsed  string   `json:"elapsed"`
	Settings Settings `json:"settings"`
	Raw      Raw      `json:"raw"`
	Pipeline Pipeline `json:"pipeline"`
	Ceiling  float64  `json:"ceilingCommandsPerSec"`
	Ratio    float64  `json:"pipelineToCeilingRatio"`
	// Reference is the reference design's commands/s at this run's raw
	// rates (two queue cycles and four table requests per command);
	// ReferenceRatio is the pipeline's throughput over it.
	Reference      float64      `json:"referenceCommandsPerSec"`
	ReferenceRatio float64      `json:"pipelineToReferenceRatio"`
	Rehydration    Rehydration  `json:"rehydration"`
	Scaling        []ScalePoint `json:"scaling"`
	Fanout         Fanout       `json:"fanout"`
	Redis          RedisMemory  `json:"redisMemory"`
	Targets        []Target     `json:"targets"`
}

func (r *Results) finish() {
	if r.Pipeline.RoundTripsPerCommand > 0 {
		r.Ceiling = r.Raw.RequestsPerSec / r.Pipeline.RoundTripsPerCommand
	}
	if r.Ceiling > 0 {
		r.Ratio = r.Pipeline.CommandsPerSec / r.Ceiling
	}
	if r.Raw.QueueMessagesPerSec > 0 && r.Raw.TableInsertsPerSec > 0 {
		r.Reference = 1 / (referenceQueueCycles/r.Raw.QueueMessagesPerSec + referenceTableRequests/r.Raw.TableInsertsPerSec)
		r.ReferenceRatio = r.Pipeline.CommandsPerSec / r.Reference
	}
	add := func(name, want, got string, met bool) {
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Got: got, Met: met})
	}
	// A phase that did not run (or measured nothing) meets no target.
	if r.Pipeline.Commands > 0 {
		add("pipeline ÷ raw-storage ceiling", "≥ 0.70", fmt.Sprintf("%.2f", r.Ratio), r.Ratio >= 0.7)
		if r.Reference > 0 {
			add("pipeline ÷ reference design (2 queue cycles + 4 table requests)", "≥ 1.0", fmt.Sprintf("%.2f (%.1f ÷ %.1f commands/s)", r.ReferenceRatio, r.Pipeline.CommandsPerSec, r.Reference), r.ReferenceRatio >= 1)
		}
		add(fmt.Sprintf("storage requests per command at full load, %d replicas", pipelineReplicas), fmt.Sprintf("≤ %g", maxRequestsPerCommand),
			fmt.Sprintf("%.2f", r.Pipeline.RoundTripsPerCommand), r.Pipeline.RoundTripsPerCommand > 0 && r.Pipeline.RoundTripsPerCommand <= maxRequestsPerCommand)
		own := r.Pipeline.FullCPU.Prism()
		add("Prism's own CPU per command at full load (services + Redis)", fmt.Sprintf("≤ %.1f ms (½ of %.1f)", baselinePrismCPUMs/2, baselinePrismCPUMs),
			fmt.Sprintf("%.2f ms (%.2f× the baseline)", own, own/baselinePrismCPUMs), own > 0 && own <= baselinePrismCPUMs/2)
	}
	if r.Pipeline.Half.Count > 0 {
		add("POST→SSE p50 at half load", "≤ 30 ms", fmt.Sprintf("%.1f ms", r.Pipeline.Half.P50), r.Pipeline.Half.P50 <= 30)
		add("POST→SSE p99 at half load", "≤ 100 ms", fmt.Sprintf("%.1f ms", r.Pipeline.Half.P99), r.Pipeline.Half.P99 <= 100)
	}
	ratio := 0.0
	if r.Rehydration.Short > 0 {
		ratio = r.Rehydration.LongSnapshot / r.Rehydration.Short
	}
	add(fmt.Sprintf("%d-event aggregate ÷ 10-event (snapshots on)", r.Rehydration.Events), "≤ 2×", fmt.Sprintf("%.2f×", ratio), ratio > 0 && ratio <= 2)
	if r.Redis.Commands > 0 {
		add("Redis bytes per command over the 24 h window", "≤ 300", fmt.Sprintf("%.0f", r.Redis.Window), r.Redis.Window <= 300)
	}
	r.scalingTargets(add)
}

func (r *Results) print(w io.Writer) {
	fmt.Fprintf(w, "\nPrism bench — %s on %s (%s)\n\n", r.Date, r.Machine, r.Elapsed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")) }
	row("measurement", "figure")
	row("-----------", "------")
	row("raw table inserts", fmt.Sprintf("%.0f /s (concurrency %d)", r.Raw.TableInsertsPerSec, r.Settings.Concurrency))
	row("raw queue send+receive+delete", fmt.Sprintf("%.0f msg/s", r.Raw.QueueMessagesPerSec))
	row("raw storage requests", fmt.Sprintf("%.0f /s", r.Raw.RequestsPerSec))
	row("pipeline (full load)", fmt.Sprintf("%.1f commands/s (%d users, %d commands, %d errors)", r.Pipeline.CommandsPerSec, r.Settings.Users, r.Pipeline.Commands, r.Pipeline.Errors))
	row("storage round trips per command", fmt.Sprintf("%.2f", r.Pipeline.RoundTripsPerCommand))
	keys := make([]string, 0, len(r.Pipeline.RoundTripsBy))
	for k := range r.Pipeline.RoundTripsBy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row("  "+k, fmt.Sprintf("%.2f", r.Pipeline.RoundTripsBy[k]))
	}
	row("ceiling = raw requests/s ÷ round trips", fmt.Sprintf("%.1f commands/s", r.Ceiling))
	row("pipeline ÷ ceiling", fmt.Sprintf("%.2f", r.Ratio))
	row("reference design at these raw rates", fmt.Sprintf("%.1f commands/s (2 queue cycles + 4 table requests); pipeline ÷ reference %.2f", r.Reference, r.ReferenceRatio))
	row("CPU per command at full load", r.Pipeline.FullCPU.String())
	row("POST→SSE at full load", fmt.Sprintf("p50 %.1f  p95 %.1f  p99 %.1f ms", r.Pipeline.Full.P50, r.Pipeline.Full.P95, r.Pipeline.Full.P99))
	for _, ts := range r.Pipeline.HalfTimeSpent {
		row("  "+ts.What, fmt.Sprintf("%.1f ms mean (%.0f)", ts.MeanMs, ts.Count))
	}
	row("POST→SSE at half load", fmt.Sprintf("p50 %.1f  p95 %.1f  p99 %.1f ms (%.1f commands/s)", r.Pipeline.Half.P50, r.Pipeline.Half.P95, r.Pipeline.Half.P99, r.Pipeline.HalfRatePerSec))
	row("CPU per command at half load", r.Pipeline.HalfCPU.String())
	row("one command, 10 events", fmt.Sprintf("%.1f ms", r.Rehydration.Short))
	row(fmt.Sprintf("one command, %d events, no snapshot", r.Rehydration.Events), fmt.Sprintf("%.1f ms", r.Rehydration.LongNoSnapshot))
	row(fmt.Sprintf("one command, %d events, snapshot", r.Rehydration.Events), fmt.Sprintf("%.1f ms", r.Rehydration.LongSnapshot))
	for _, p := range r.Scaling {
		row(fmt.Sprintf("%d domain-service replica(s), %d shards", p.Replicas, p.Shards), fmt.Sprintf("%.1f commands/s; at %.1f/s per command: CPU %.2f ms (all services %.2f), %.2f storage requests (domain-service %.2f), %.4f conflicts; cache hits %.1f %%; idle %.1f ms/s a replica",
			p.CommandsPerSec, p.CostRatePerSec, p.DomainCPUMsPerCommand, p.StackCPUMsPerCommand, p.RoundTripsPerCommand, p.DomainRoundTripsPerCommand, p.ConflictsPerCommand, 100*p.CacheHitRatio, p.IdleCPUMsPerSecPerReplica))
		row("  at full load", fmt.Sprintf("%.2f storage requests per command; CPU %s", p.FullLoadRoundTripsPerCommand, p.FullLoadCPU))
		row(fmt.Sprintf("  at %.1f commands/s", p.CostRatePerSec), "CPU "+p.CPU.String())
		if p.QuarterRateCPUMsPerCommand > 0 {
			row("  control: 1 replica at a quarter of the rate", fmt.Sprintf("CPU %.2f ms per command", p.QuarterRateCPUMsPerCommand))
		}
	}
	row(fmt.Sprintf("SSE fan-out, %d clients", r.Fanout.Clients), fmt.Sprintf("%d/%d delivered, p50 %.1f p99 %.1f ms, RSS %.1f MiB (heap %.1f MiB)",
		r.Fanout.Delivered, r.Fanout.Expected, r.Fanout.Latency.P50, r.Fanout.Latency.P99, r.Fanout.RSSMiB, r.Fanout.HeapMiB))
	r.Redis.print(row)
	tw.Flush()
	fmt.Fprintln(w, "\ntarget\twant\tgot\tmet")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Want, t.Got, met)
	}
	tw.Flush()
}

func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
