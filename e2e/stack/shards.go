package stack

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/shard"
	"github.com/prism-es/prism/shared/storage"
)

// Storage connects to the stack's storage accounts (the primary first).
func (s *Stack) Storage() (storage.Accounts, error) { return storage.ConnectAll(s.Env.Accounts, "") }

// CommandShards is the stack's PRISM_COMMAND_SHARDS.
func (s *Stack) CommandShards() int {
	n, err := strconv.Atoi(s.opts.Env["PRISM_COMMAND_SHARDS"])
	if err != nil {
		return config.DefaultCommandShards
	}
	return n
}

// CommandQueue names the command queue (shard) carrying stream's commands.
func (s *Stack) CommandQueue(stream string) string {
	n := s.CommandShards()
	return shard.Name("commands", shard.Of(stream, n), n)
}

// leases reports whether the replicas share the shards by lease (the
// default) rather than each consuming all of them.
func (s *Stack) leases() bool {
	return s.opts.Env["PRISM_SHARD_OWNERSHIP"] == "" || s.opts.Env["PRISM_SHARD_OWNERSHIP"] == "leases"
}

// ShardsOwned asks every live domain-service replica how many command queues
// (the shards and the delayed queue) it owns, by replica name.
func (s *Stack) ShardsOwned(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, p := range s.Replicas() {
		if p.Exited() {
			continue
		}
		v, err := Scrape(ctx, p.URL(), "prism_shards_owned")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		out[p.Name] = int(v)
	}
	return out, nil
}

// WaitShardsBalanced waits until the live replicas own every command queue
// between them, each its fair share (n/R, some one more).
func (s *Stack) WaitShardsBalanced(timeout time.Duration) error {
	if !s.leases() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	want := s.CommandShards() + 1 // and the delayed queue
	var last map[string]int
	for {
		owned, err := s.ShardsOwned(ctx)
		if err == nil {
			last = owned
			if Balanced(owned, want) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shards not balanced after %s: %v of %d", timeout, last, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Balanced reports whether owned splits n resources over its replicas as
// evenly as can be.
func Balanced(owned map[string]int, n int) bool {
	if len(owned) == 0 {
		return false
	}
	lo, total := n/len(owned), 0
	for _, c := range owned {
		if c < lo || c > lo+1 {
			return false
		}
		total += c
	}
	return total == n
}

// Scrape sums every sample of a metric on one /metrics page (base is the
// process's base URL).
func Scrape(ctx context.Context, base, metric string) (float64, error) {
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
