// Package fleet lets an operator see every running process, replicas with
// no ingress included, without scraping each one: every service reports a
// summary of its own Prometheus metrics to Redis once a second (Reporter),
// and the operations console reads them all back (Read). A process that
// stops reporting (killed, partitioned) drops out after Stale.
package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/redisconn"
)

// Key is the Redis hash holding one field per process.
const Key = "prism:fleet"

// The channels other than queues that Member.Reads and Writes name.
const (
	// Notices are the Redis change notices stream-service turns into SSE.
	Notices = "notices"
	// SSE are the browsers and apps stream-service serves.
	SSE = "sse"
)

// Stale is how old a report may be before its process counts as gone.
const Stale = 5 * time.Second

// forgetAfter is when a gone process's field is deleted from the hash.
const forgetAfter = time.Minute

// Reported are the metric families a report carries: what the console draws
// (queue traffic and in-flight work, projections, SSE). Histograms carry
// their sum and count only.
var Reported = []string{
	"prism_queue_handler_slots",
	"prism_queue_in_flight",
	"prism_queue_messages_sent_total",
	"prism_queue_messages_completed_total",
	"prism_queue_messages_retried_total",
	"prism_queue_poison_moves_total",
	"prism_commands_handled_total",
	"prism_projection_events_total",
	"prism_projection_lag_seconds",
	"prism_sse_clients",
	"prism_sse_events_sent_total",
}

// Member is one process's latest report.
type Member struct {
	Service   string    `json:"service"`
	Instance  string    `json:"instance"`
	Addr      string    `json:"addr,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	SeenAt    time.Time `json:"seenAt"`
	// Reads and Writes name the channels other than queues the process
	// takes from or feeds ("notices", "sse").
	Reads  []string `json:"reads,omitempty"`
	Writes []string `json:"writes,omitempty"`
	// Metrics are samples of the Reported families.
	Metrics []Sample `json:"metrics"`
	// Extra is what the service adds (readmodel-updater: its rebuilds).
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Sample is one series' value; a histogram gives two, named <name>_sum and
// <name>_count.
type Sample struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
}

// Sum adds the values of the samples named name whose labels include match.
func (m Member) Sum(name string, match map[string]string) float64 {
	var total float64
	for _, s := range m.Metrics {
		if s.Name == name && matches(s.Labels, match) {
			total += s.Value
		}
	}
	return total
}

// Has reports whether a sample named name with labels including match exists.
func (m Member) Has(name string, match map[string]string) bool {
	for _, s := range m.Metrics {
		if s.Name == name && matches(s.Labels, match) {
			return true
		}
	}
	return false
}

// LabelValues returns the sorted distinct values of label among the samples
// named name.
func (m Member) LabelValues(name, label string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range m.Metrics {
		if v, ok := s.Labels[label]; ok && s.Name == name && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func matches(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Reporter reports one process.
type Reporter struct {
	Redis   *redis.Client
	Service string
	// Addr is the process's listen address, shown to operators.
	Addr          string
	Reads, Writes []string
	// Every is the report interval (default 1 s).
	Every time.Duration
	// Gatherer is where the metrics come from (default prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
	// Extra, when set, adds service-specific documents to each report.
	Extra func() map[string]any
}

// Instance names this process: host name and pid.
func Instance() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// Run reports until ctx ends, then removes this process's entry. Redis
// errors are logged and retried at the next tick: reporting never stops the
// service.
func (r *Reporter) Run(ctx context.Context) error {
	every := r.Every
	if every <= 0 {
		every = time.Second
	}
	gatherer := r.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	m := Member{Service: r.Service, Instance: Instance(), Addr: r.Addr, StartedAt: time.Now().UTC(), Reads: r.Reads, Writes: r.Writes}
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		err := r.report(ctx, gatherer, m)
		if err != nil && !failing && ctx.Err() == nil {
			slog.WarnContext(ctx, "fleet report failed; retrying", "err", err)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = r.Redis.HDel(dctx, Key, m.Instance).Err()
			cancel()
			return nil
		case <-t.C:
		}
	}
}

func (r *Reporter) report(ctx context.Context, g prometheus.Gatherer, m Member) error {
	samples, err := Gather(g)
	if err != nil {
		return err
	}
	m.Metrics = samples
	m.SeenAt = time.Now().UTC()
	if r.Extra != nil {
		m.Extra = map[string]json.RawMessage{}
		for k, v := range r.Extra() {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			m.Extra[k] = b
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return redisconn.Classify(r.Redis.HSet(ctx, Key, m.Instance, b).Err(), "report to the fleet")
}

// Gather returns the samples of the Reported families in g.
func Gather(g prometheus.Gatherer) ([]Sample, error) {
	families, err := g.Gather()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range Reported {
		want[n] = true
	}
	var out []Sample
	for _, f := range families {
		if !want[f.GetName()] {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out = append(out, Sample{Name: f.GetName(), Labels: labels, Value: m.GetCounter().GetValue()})
			case dto.MetricType_GAUGE:
				out = append(out, Sample{Name: f.GetName(), Labels: labels, Value: m.GetGauge().GetValue()})
			case dto.MetricType_HISTOGRAM:
				out = append(out,
					Sample{Name: f.GetName() + "_sum", Labels: labels, Value: m.GetHistogram().GetSampleSum()},
					Sample{Name: f.GetName() + "_count", Labels: labels, Value: float64(m.GetHistogram().GetSampleCount())})
			}
		}
	}
	return out, nil
}

// Read returns the processes that reported within Stale, sorted by service
// and address, and deletes the entries of processes long gone.
func Read(ctx context.Context, rdb *redis.Client) ([]Member, error) {
	all, err := rdb.HGetAll(ctx, Key).Result()
	if err != nil {
		return nil, redisconn.Classify(err, "read the fleet")
	}
	now := time.Now()
	var out []Member
	var gone []string
	for field, raw := range all {
		var m Member
		if json.Unmarshal([]byte(raw), &m) != nil {
			gone = append(gone, field)
			continue
		}
		age := now.Sub(m.SeenAt)
		switch {
		case age > forgetAfter:
			gone = append(gone, field)
		case age <= Stale:
			out = append(out, m)
		}
	}
	if len(gone) > 0 {
		_ = rdb.HDel(ctx, Key, gone...).Err() // best effort
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		if out[i].Addr != out[j].Addr {
			return lessAddr(out[i].Addr, out[j].Addr)
		}
		return out[i].Instance < out[j].Instance
	})
	return out, nil
}

// lessAddr orders ":8082" before ":8182" and ":10082".
func lessAddr(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return strings.Compare(a, b) < 0
}
