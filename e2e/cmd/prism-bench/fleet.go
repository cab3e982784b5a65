package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/prism-es/prism/e2e/stack"
)

// fleetSample is what the scaling phase reads before and after a load: CPU
// time of every service process and the domain-service replicas' counters.
type fleetSample struct {
	domainCPU, stackCPU      float64 // seconds of CPU (user + system)
	requests, domainRequests float64 // storage requests
	hits, lookups, conflicts float64
	owned                    map[string]int
}

// sampleFleet reads the CPU time of every service process from /proc and
// the counters of every domain-service replica from /metrics.
func sampleFleet(ctx context.Context, st *stack.Stack) (fleetSample, error) {
	var f fleetSample
	for _, name := range []string{"prism-api", "readmodel-updater", "stream-service"} {
		if p := st.Process(name); p != nil {
			f.stackCPU += cpuSeconds(p.Pid())
		}
	}
	reqs, err := storageRequests(ctx, st)
	if err != nil {
		return f, err
	}
	f.requests = reqs.total()
	for k, v := range reqs {
		if strings.HasPrefix(k, "domain-service ") {
			f.domainRequests += v
		}
	}
	for _, p := range st.Replicas() {
		f.domainCPU += cpuSeconds(p.Pid())
		lookups, err := scrapeSamples(ctx, p.URL(), "prism_aggregate_cache_lookups_total")
		if err != nil {
			return f, err
		}
		for result, v := range lookups {
			f.lookups += v
			if result == "hit" {
				f.hits += v
			}
		}
		c, err := scrape(ctx, p.URL(), "prism_command_conflict_retries_total")
		if err != nil {
			return f, err
		}
		f.conflicts += c
	}
	f.stackCPU += f.domainCPU
	if f.owned, err = st.ShardsOwned(ctx); err != nil {
		return f, err
	}
	return f, nil
}

// clockTicks is the kernel's clock tick rate (USER_HZ), in which /proc
// reports CPU time.
var clockTicks = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}()

// cpuSeconds is the user + system CPU time a process has used (0 when it is
// gone).
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	return statCPU(statFields(pid))
}

// statFields are the fields of /proc/<pid>/stat after the command name
// (field 3, the state, first; nil when the process is gone).
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// statCPU is utime + stime (fields 14 and 15) of statFields, in seconds.
func statCPU(f []string) float64 {
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// perCommandFigures fills a scale point from two samples around a load that
// completed commands commands.
func (p *ScalePoint) perCommandFigures(before, after fleetSample, commands int) {
	if commands == 0 {
		return
	}
	n := float64(commands)
	p.DomainCPUMsPerCommand = (after.domainCPU - before.domainCPU) * 1000 / n
	p.StackCPUMsPerCommand = (after.stackCPU - before.stackCPU) * 1000 / n
	p.RoundTripsPerCommand = (after.requests - before.requests) / n
	p.DomainRoundTripsPerCommand = (after.domainRequests - before.domainRequests) / n
	p.ConflictsPerCommand = (after.conflicts - before.conflicts) / n
	if l := after.lookups - before.lookups; l > 0 {
		p.CacheHitRatio = (after.hits - before.hits) / l
	}
	p.ShardsOwned = after.owned
}
