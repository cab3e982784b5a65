package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prism-es/prism/e2e/stack"
)

// startProfiles starts taking a CPU profile of every process for d (when
// dir is set) and returns a function that waits for them, writes them to
// dir as <process>.pprof and prints the top of each. Profiles need
// PRISM_PPROF on the services.
func startProfiles(ctx context.Context, st *stack.Stack, dir string, d time.Duration) func() error {
	if dir == "" {
		return func() error { return nil }
	}
	procs := map[string]string{"prism-api": st.APIOps, "stream-service": st.StreamsOps, "readmodel-updater": st.Updater}
	for _, p := range st.Replicas() {
		procs[p.Name] = p.OpsURL()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	seconds := max(int(d.Seconds()), 1)
	for name, base := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetchProfile(ctx, base, seconds, filepath.Join(dir, name+".pprof")); err != nil {
				mu.Lock()
				errs = append(errs, name+": "+err.Error())
				mu.Unlock()
			}
		}()
	}
	return func() error {
		wg.Wait()
		if len(errs) > 0 {
			return fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		for name := range procs {
			out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", filepath.Join(dir, name+".pprof")).CombinedOutput()
			if err != nil {
				return fmt.Errorf("go tool pprof %s: %v: %s", name, err, out)
			}
			progress("CPU profile of %s (%s):\n%s", name, filepath.Join(dir, name+".pprof"), out)
		}
		return nil
	}
}

func fetchProfile(ctx context.Context, base string, seconds int, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d (is PRISM_PPROF set?)", res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
