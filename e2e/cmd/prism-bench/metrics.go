package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/prism-es/prism/e2e/stack"
)

// requestCounts is storage requests by "process service method".
type requestCounts map[string]float64

// storageRequests reads prism_storage_requests_total of every process.
func storageRequests(ctx context.Context, st *stack.Stack) (requestCounts, error) {
	procs := map[string]string{"prism-api": st.APIOps, "stream-service": st.StreamsOps, "readmodel-updater": st.Updater}
	out := requestCounts{}
	add := func(name, base string) error {
		samples, err := scrapeSamples(ctx, base, "prism_storage_requests_total")
		if err != nil {
			return err
		}
		for labels, v := range samples {
			out[name+" "+labels] += v
		}
		return nil
	}
	for name, base := range procs {
		if err := add(name, base); err != nil {
			return nil, err
		}
	}
	for _, p := range st.Replicas() { // summed under one name
		if err := add("domain-service", p.OpsURL()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// total sums the counts.
func (c requestCounts) total() float64 {
	t := 0.0
	for _, v := range c {
		t += v
	}
	return t
}

// perCommand is after−before per command, by key.
func perCommand(before, after requestCounts, commands int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := (v - before[k]) / float64(commands); d >= 0.005 {
			out[k] = d
		}
	}
	return out
}

// scrapeSamples returns every sample of a metric on one /metrics page by
// its label values ("table POST").
func scrapeSamples(ctx context.Context, base, metric string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		labels := line[len(metric)+1 : strings.Index(line, "}")]
		var vals []string
		for _, kv := range strings.Split(labels, ",") {
			if _, v, ok := strings.Cut(kv, "="); ok {
				vals = append(vals, strings.Trim(v, `"`))
			}
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			out[strings.Join(vals, " ")] += v
		}
	}
	return out, sc.Err()
}

// scrape sums every sample of a metric on one /metrics page.
func scrape(ctx context.Context, base, metric string) (float64, error) {
	return stack.Scrape(ctx, base, metric)
}

// rssMiB is a process's resident memory.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
