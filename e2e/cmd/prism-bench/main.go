// Command prism-bench measures Prism on this machine, in one run, on a
// private stack it starts itself: the raw capacity of the local Azurite, the
// pipeline's sustained commands/s and storage round trips per command,
// POST→SSE latency at full and half load, throughput and per-command costs
// (fleet CPU, storage requests, cache hits, conflicts) with 1, 2 and 4
// domain-service replicas over the same command shards, SSE fan-out to 1,000 clients, and rehydration
// with 10 vs 10,000 events (snapshot or not) — last, because its bulk
// writes would slow the emulator for what follows. It prints progress while it
// runs, a summary table at the end, and JSON with --json.
//
//	go run ./e2e/cmd/prism-bench [--duration 10s] [--users 32] [--clients 1000] [--json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prism-es/prism/e2e/stack"
)

// Settings are the bench's knobs.
type Settings struct {
	Duration time.Duration
	// Shards is the command shard count of the bench's stack (0: the
	// services' default).
	Shards int
	// Profile, when set, is where the pipeline phase writes each process's
	// CPU profile taken under full load (make profile).
	Profile string
	// LatencyRate paces the latency phase (commands/s; 0: half the full
	// load's throughput).
	LatencyRate float64
	// Env is extra environment of every service (--env K=V, repeatable):
	// a lever turned off to measure what it pays.
	Env         envFlags
	Users       int
	Concurrency int
	Clients     int
	Events      int
	RedisCarts  int
	JSON        bool
	Phases      map[string]bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var s Settings
	flag.DurationVar(&s.Duration, "duration", 10*time.Second, "how long each load phase runs")
	flag.IntVar(&s.Shards, "shards", 0, "PRISM_COMMAND_SHARDS of the bench's stack (0: the default, 16)")
	flag.StringVar(&s.Profile, "profile", "", "write CPU profiles of every process under full load to this directory (pipeline phase)")
	flag.Float64Var(&s.LatencyRate, "latency-rate", 0, "commands/s of the latency phase (0: half the full load's throughput)")
	flag.Var(&s.Env, "env", "K=V set in every service's environment (repeatable), e.g. --env PRISM_BATCH_SENDS=false")
	flag.IntVar(&s.Users, "users", 32, "virtual users (each with its own cart and SSE connection) at full load")
	flag.IntVar(&s.Concurrency, "concurrency", 32, "concurrency of the raw storage measurement")
	flag.IntVar(&s.Clients, "clients", 1000, "SSE clients in the fan-out phase")
	flag.IntVar(&s.Events, "events", 10000, "events in the long aggregate of the rehydration phase")
	flag.IntVar(&s.RedisCarts, "redis-carts", 200, "carts (ten commands each) in the Redis memory phase")
	flag.BoolVar(&s.JSON, "json", false, "print the results as JSON (progress still goes to stderr)")
	phases := flag.String("phases", "raw,pipeline,rehydration,scaling,fanout,redis", "which measurements to run, comma-separated")
	flag.Parse()
	s.Phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		s.Phases[strings.TrimSpace(p)] = true
	}
	if err := run(ctx, s); err != nil {
		fmt.Fprintln(os.Stderr, "prism-bench:", err)
		os.Exit(1)
	}
}

// envFlags collects --env K=V flags.
type envFlags map[string]string

func (e *envFlags) String() string { return fmt.Sprint(map[string]string(*e)) }

func (e *envFlags) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("want K=V, got %q", kv)
	}
	if *e == nil {
		*e = envFlags{}
	}
	(*e)[k] = v
	return nil
}

// MarshalJSON lists the variables (Settings is printed with --json).
func (e envFlags) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]string(e)) }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, s Settings) error {
	raiseFileLimit()
	started := time.Now()
	progress("starting a private stack (Azurite, redis-server, 4 services, 3 domain-service replicas)…")
	defer stack.RemoveBuild()
	env := map[string]string{"PRISM_LOG_LEVEL": "warn"}
	if s.Profile != "" {
		env["PRISM_PPROF"] = "true"
	}
	if s.Shards > 0 {
		env["PRISM_COMMAND_SHARDS"] = strconv.Itoa(s.Shards)
	}
	for k, v := range s.Env {
		env[k] = v
	}
	st, err := stack.Start(stack.Options{Replicas: pipelineReplicas, Env: env})
	if err != nil {
		return err
	}
	defer st.Stop()
	r := &Results{Date: started.UTC().Format(time.RFC3339), Settings: s, Machine: machine()}

	if s.Phases["raw"] {
		progress("raw storage capacity at concurrency %d for %s…", s.Concurrency, s.Duration)
		if r.Raw, err = measureRaw(ctx, st, s); err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		progress("  table inserts %.0f/s, queue send+receive+delete %.0f msg/s (%.0f storage requests/s)", r.Raw.TableInsertsPerSec, r.Raw.QueueMessagesPerSec, r.Raw.RequestsPerSec)

	}
	if s.Phases["pipeline"] {
		progress("pipeline: %d users for %s (full load), then half the rate…", s.Users, s.Duration)
		if r.Pipeline, err = measurePipeline(ctx, st, s); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		progress("  %.1f commands/s, %.2f storage round trips per command, p50 %.1f ms p99 %.1f ms (half load p50 %.1f ms p99 %.1f ms)",
			r.Pipeline.CommandsPerSec, r.Pipeline.RoundTripsPerCommand, r.Pipeline.Full.P50, r.Pipeline.Full.P99, r.Pipeline.Half.P50, r.Pipeline.Half.P99)

	}
	if s.Phases["scaling"] {
		progress("scaling: the same load with %v domain-service replicas over %d command shards…", scaleReplicas, st.CommandShards())
		if r.Scaling, err = measureScaling(ctx, st, s); err != nil {
			return fmt.Errorf("scaling: %w", err)
		}

	}
	if s.Phases["fanout"] {
		progress("SSE fan-out: %d clients on one stream-service…", s.Clients)
		if r.Fanout, err = measureFanout(ctx, st, s); err != nil {
			return fmt.Errorf("fan-out: %w", err)
		}
		progress("  delivered %d/%d, p50 %.1f ms p99 %.1f ms, stream-service RSS %.1f MiB", r.Fanout.Delivered, r.Fanout.Expected, r.Fanout.Latency.P50, r.Fanout.Latency.P99, r.Fanout.RSSMiB)

	}
	if s.Phases["redis"] {
		progress("Redis memory: %d carts of new users, ten commands each…", s.RedisCarts)
		if r.Redis, err = measureRedisMemory(ctx, st, s); err != nil {
			return fmt.Errorf("redis memory: %w", err)
		}
		progress("  %.0f bytes per command at the end of the load, %.0f held over the 24 h window", r.Redis.AtEnd, r.Redis.Window)
	}
	if s.Phases["rehydration"] {
		progress("rehydration: 10 vs %d events, snapshots on and off…", s.Events)
		if r.Rehydration, err = measureRehydration(ctx, st, s); err != nil {
			return fmt.Errorf("rehydration: %w", err)
		}
		progress("  10 events %.1f ms, %d without snapshot %.1f ms, with snapshot %.1f ms", r.Rehydration.Short, s.Events, r.Rehydration.LongNoSnapshot, r.Rehydration.LongSnapshot)

	}
	r.finish()
	r.Elapsed = time.Since(started).Round(time.Second).String()
	if s.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.print(os.Stdout)
	return nil
}

func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
