package httpapi

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// MountOps registers GET /healthz (the process is alive), GET /readyz (every
// check passes within 2 s; 503 naming the failures otherwise) and GET
// /metrics (Prometheus text format) on mux.
func MountOps(mux *http.ServeMux, checks map[string]Check) {
	for path, h := range OpsHandlers(checks) {
		mux.Handle("GET "+path, h)
	}
}

// OpsHandlers are the handlers of /healthz, /readyz and /metrics by path,
// for routers other than http.ServeMux.
func OpsHandlers(checks map[string]Check) map[string]http.Handler {
	return map[string]http.Handler{
		"/healthz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}),
		"/readyz":  Ready(checks),
		"/metrics": promhttp.Handler(),
	}
}

// Ready runs every check concurrently and answers 200 when all pass.
func Ready(checks map[string]Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var mu sync.Mutex
		results := map[string]string{}
		var wg sync.WaitGroup
		for name, check := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := "ok"
				if err := check(ctx); err != nil {
					res = err.Error()
				}
				mu.Lock()
				results[name] = res
				mu.Unlock()
			}()
		}
		wg.Wait()
		failed := make([]string, 0)
		for name, res := range results {
			if res != "ok" {
				failed = append(failed, name)
			}
		}
		sort.Strings(failed)
		status := http.StatusOK
		if len(failed) > 0 {
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", RetryAfterSeconds)
		}
		WriteJSON(w, status, map[string]any{"status": map[bool]string{true: "ready", false: "not ready"}[len(failed) == 0], "checks": results, "failed": failed})
	}
}
