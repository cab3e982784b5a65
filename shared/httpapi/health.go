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
// /metrics (Prometheus text format) on mux: the operations endpoints, for a
// port no one outside reaches.
func MountOps(mux *http.ServeMux, checks map[string]Check) {
	for path, h := range OpsHandlers(checks) {
		mux.Handle("GET "+path, h)
	}
}

// MountPublic registers GET /healthz and GET /readyz without details
// (PublicHandlers) on mux.
func MountPublic(mux *http.ServeMux, checks map[string]Check) {
	for path, h := range PublicHandlers(checks) {
		mux.Handle("GET "+path, h)
	}
}

// OpsHandlers are the handlers of /healthz, /readyz (with each check's
// result) and /metrics by path, for routers other than http.ServeMux.
func OpsHandlers(checks map[string]Check) map[string]http.Handler {
	return map[string]http.Handler{
		"/healthz": healthz(),
		"/readyz":  Ready(checks),
		"/metrics": promhttp.Handler(),
	}
}

// PublicHandlers are /healthz and /readyz for an internet-facing port:
// /readyz says ready or not ready and nothing else (which dependency failed,
// and why, is for the ops port), and there is no /metrics.
func PublicHandlers(checks map[string]Check) map[string]http.Handler {
	return map[string]http.Handler{
		"/healthz": healthz(),
		"/readyz":  readiness(checks, false),
	}
}

func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready runs every check concurrently and answers 200 when all pass, with
// each check's result.
func Ready(checks map[string]Check) http.HandlerFunc { return readiness(checks, true) }

func readiness(checks map[string]Check, details bool) http.HandlerFunc {
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
		answer := map[string]any{"status": map[bool]string{true: "ready", false: "not ready"}[len(failed) == 0]}
		if details {
			answer["checks"], answer["failed"] = results, failed
		}
		WriteJSON(w, status, answer)
	}
}
