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

// storageRequests sums prism_storage_requests_total over every process.
func storageRequests(ctx context.Context, st *stack.Stack) (float64, error) {
	urls := []string{st.API, st.Streams, st.Updater}
	for _, p := range st.Replicas() {
		urls = append(urls, p.URL())
	}
	total := 0.0
	for _, u := range urls {
		v, err := scrape(ctx, u, "prism_storage_requests_total")
		if err != nil {
			return 0, err
		}
		total += v
	}
	return total, nil
}

// scrape sums every sample of a metric on one /metrics page.
func scrape(ctx context.Context, base, metric string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) || (len(line) > len(metric) && line[len(metric)] != '{' && line[len(metric)] != ' ') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
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
