package operations

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
)

// Flow is the pipeline at one moment: every queue with its numbers, every
// service with its replicas and what they consume and feed, every
// projection. Rates are per second over the last sample interval.
type Flow struct {
	At          time.Time     `json:"at"`
	Queues      []QueueFlow   `json:"queues"`
	Services    []ServiceFlow `json:"services"`
	Projections []Projection  `json:"projections"`
	// Errors names what could not be read this time (the rest is shown).
	Errors []string `json:"errors,omitempty"`
}

// QueueFlow is one queue.
type QueueFlow struct {
	queue.Stats
	// OldestAgeMs is how long the front message has waited.
	OldestAgeMs int64 `json:"oldestAgeMs"`
	// SentPerSec and DonePerSec are messages sent to it and handled from it.
	SentPerSec float64 `json:"sentPerSec"`
	DonePerSec float64 `json:"donePerSec"`
	// InFlight is being handled now, over Slots handler slots.
	InFlight  float64  `json:"inFlight"`
	Slots     float64  `json:"slots"`
	Consumers []string `json:"consumers"`
	Senders   []string `json:"senders"`
}

// ServiceFlow is one service and its running replicas.
type ServiceFlow struct {
	Name     string     `json:"name"`
	Replicas []Instance `json:"replicas"`
	Consumes []string   `json:"consumes"`
	Sends    []string   `json:"sends"`
	Reads    []string   `json:"reads"`
	Writes   []string   `json:"writes"`
	InFlight float64    `json:"inFlight"`
	// SSEClients and SSEPerSec are stream-service's.
	SSEClients float64 `json:"sseClients,omitempty"`
	SSEPerSec  float64 `json:"ssePerSec,omitempty"`
}

// Instance is one process.
type Instance struct {
	Instance  string    `json:"instance"`
	Addr      string    `json:"addr"`
	StartedAt time.Time `json:"startedAt"`
	InFlight  float64   `json:"inFlight"`
	Slots     float64   `json:"slots"`
	// Consumes lists the queues this replica consumes (with command shards,
	// the shards it owns).
	Consumes []string `json:"consumes"`
}

// Projection is one read model.
type Projection struct {
	Name  string `json:"name"`
	Table string `json:"table"`
	// AppliedPerSec counts events applied; LagMs is the mean time from an
	// event's occurrence to its projection over the last interval (or the
	// last one seen, when nothing moved).
	AppliedPerSec float64   `json:"appliedPerSec"`
	LagMs         float64   `json:"lagMs"`
	Events        float64   `json:"events"`
	Rebuild       *Progress `json:"rebuild,omitempty"`
}

// Progress is a rebuild's progress as readmodel-updater reports it.
type Progress = readmodel.RebuildProgress

// counters are one process's cumulative counters at a sample, by series.
type counters map[string]float64

// rater turns cumulative counters into rates between samples.
type rater struct {
	mu   sync.Mutex
	at   time.Time
	prev map[string]counters // by instance
	lag  map[string]float64  // last mean lag by projection
}

// rates returns, per series, the sum over instances of the increase since
// the previous sample divided by the time between; a process seen for the
// first time counts from its next sample (its whole history is not a burst).
func (r *rater) rates(now time.Time, cur map[string]counters) map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]float64{}
	dt := now.Sub(r.at).Seconds()
	if r.prev != nil && dt > 0 {
		for inst, c := range cur {
			p, ok := r.prev[inst]
			if !ok {
				continue
			}
			for k, v := range c {
				if d := v - p[k]; d > 0 {
					out[k] += d / dt
				}
			}
		}
	}
	r.at, r.prev = now, cur
	return out
}

func (r *rater) lastLag(projection string, lag float64, moved bool) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lag == nil {
		r.lag = map[string]float64{}
	}
	if moved {
		r.lag[projection] = lag
	}
	return r.lag[projection]
}

func key(parts ...string) string { return strings.Join(parts, "\x00") }

// snapshot reads storage and the fleet and draws the flow.
func (s *Service) snapshot(ctx context.Context, r *rater) Flow {
	now := time.Now().UTC()
	f := Flow{At: now, Queues: []QueueFlow{}, Services: []ServiceFlow{}, Projections: []Projection{}}
	stats, err := s.listQueues(ctx)
	if err != nil {
		f.Errors = append(f.Errors, "queues: "+err.Error())
	}
	members, err := fleet.Read(ctx, s.Redis)
	if err != nil {
		f.Errors = append(f.Errors, "fleet: "+err.Error())
	}

	cur := map[string]counters{}
	for _, m := range members {
		c := counters{}
		for _, smp := range m.Metrics {
			switch smp.Name {
			case "prism_queue_messages_sent_total", "prism_queue_messages_completed_total":
				c[key(smp.Name, smp.Labels["queue"])] += smp.Value
			case "prism_projection_events_total":
				if smp.Labels["result"] == "applied" {
					c[key(smp.Name, smp.Labels["projection"])] += smp.Value
				}
			case "prism_projection_lag_seconds_sum", "prism_projection_lag_seconds_count":
				c[key(smp.Name, smp.Labels["projection"])] += smp.Value
			case "prism_sse_events_sent_total":
				c[key(smp.Name)] += smp.Value
			}
		}
		cur[m.Instance] = c
	}
	rate := r.rates(now, cur)

	byService := map[string]*ServiceFlow{}
	var services []string
	consumers, senders := map[string][]string{}, map[string][]string{}
	inFlight, slots := map[string]float64{}, map[string]float64{}
	for _, m := range members {
		svc := byService[m.Service]
		if svc == nil {
			svc = &ServiceFlow{Name: m.Service, Replicas: []Instance{}, Consumes: []string{}, Sends: []string{}, Reads: m.Reads, Writes: m.Writes}
			byService[m.Service] = svc
			services = append(services, m.Service)
		}
		consumes := m.LabelValues("prism_queue_handler_slots", "queue")
		inst := Instance{Instance: m.Instance, Addr: m.Addr, StartedAt: m.StartedAt, Consumes: consumes,
			InFlight: m.Sum("prism_queue_in_flight", nil), Slots: m.Sum("prism_queue_handler_slots", nil)}
		svc.Replicas = append(svc.Replicas, inst)
		svc.InFlight += inst.InFlight
		svc.SSEClients += m.Sum("prism_sse_clients", nil)
		for _, q := range consumes {
			svc.Consumes = appendNew(svc.Consumes, q)
			consumers[q] = appendNew(consumers[q], m.Service)
			inFlight[q] += m.Sum("prism_queue_in_flight", map[string]string{"queue": q})
			slots[q] += m.Sum("prism_queue_handler_slots", map[string]string{"queue": q})
		}
		// A process sends to a queue it has open and does not consume, or
		// to one it has sent to (domain-service feeds the commands queue it
		// consumes with saga steps).
		for _, q := range m.LabelValues("prism_queue_messages_sent_total", "queue") {
			if !slices.Contains(consumes, q) || m.Sum("prism_queue_messages_sent_total", map[string]string{"queue": q}) > 0 {
				svc.Sends = appendNew(svc.Sends, q)
				senders[q] = appendNew(senders[q], m.Service)
			}
		}
	}
	for _, name := range services {
		svc := byService[name]
		sort.Strings(svc.Consumes)
		sort.Strings(svc.Sends)
		svc.SSEPerSec = rate[key("prism_sse_events_sent_total")]
		if svc.SSEClients == 0 && !slices.Contains(svc.Writes, fleet.SSE) {
			svc.SSEPerSec = 0
		}
		f.Services = append(f.Services, *svc)
	}

	for _, st := range stats {
		qf := QueueFlow{Stats: st.Stats, Consumers: orEmpty(consumers[st.Queue]), Senders: orEmpty(senders[st.Queue]),
			SentPerSec: rate[key("prism_queue_messages_sent_total", st.Queue)], DonePerSec: rate[key("prism_queue_messages_completed_total", st.Queue)],
			InFlight: inFlight[st.Queue], Slots: slots[st.Queue]}
		if !st.OldestAt.IsZero() {
			qf.OldestAgeMs = max(0, now.Sub(st.OldestAt).Milliseconds())
		}
		f.Queues = append(f.Queues, qf)
	}

	f.Projections = s.projections(ctx, members, cur, r, rate, &f)
	return f
}

// projections lists the read models the fleet reports, with their live
// table and the latest rebuild any readmodel-updater reports.
func (s *Service) projections(ctx context.Context, members []fleet.Member, cur map[string]counters, r *rater, rate map[string]float64, f *Flow) []Projection {
	names := map[string]bool{}
	rebuilds := map[string]*Progress{}
	for _, m := range members {
		for _, p := range m.LabelValues("prism_projection_events_total", "projection") {
			names[p] = true
		}
		var rb []Progress
		if raw, ok := m.Extra["rebuilds"]; ok && json.Unmarshal(raw, &rb) == nil {
			for _, p := range rb {
				if old := rebuilds[p.Projection]; old == nil || p.StartedAt.After(old.StartedAt) {
					rebuilds[p.Projection] = &p
				}
			}
		}
	}
	out := []Projection{}
	for name := range names {
		p := Projection{Name: name, AppliedPerSec: rate[key("prism_projection_events_total", name)], Rebuild: rebuilds[name]}
		for _, c := range cur {
			p.Events += c[key("prism_projection_events_total", name)]
		}
		dsum, dcount := rate[key("prism_projection_lag_seconds_sum", name)], rate[key("prism_projection_lag_seconds_count", name)]
		lag := 0.0
		if dcount > 0 {
			lag = dsum / dcount * 1000
		}
		p.LagMs = r.lastLag(name, lag, dcount > 0)
		table, err := s.Catalog.Live(ctx, name)
		if err != nil {
			f.Errors = append(f.Errors, "catalog: "+err.Error())
		}
		p.Table = table
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	sort.Strings(l)
	return l
}

// sampler samples the flow every Config.Every while anyone watches and
// hands each snapshot to every watcher.
type sampler struct {
	ctx   context.Context
	svc   *Service
	rater rater

	mu       sync.Mutex
	watchers map[chan []byte]struct{}
	running  bool
}

func newSampler(ctx context.Context, svc *Service) *sampler {
	return &sampler{ctx: ctx, svc: svc, watchers: map[chan []byte]struct{}{}}
}

// watch returns a channel of encoded snapshots (the first at once) and a
// stop function.
func (sm *sampler) watch() (<-chan []byte, func()) {
	ch := make(chan []byte, 4)
	sm.mu.Lock()
	sm.watchers[ch] = struct{}{}
	if !sm.running {
		sm.running = true
		go sm.loop()
	}
	sm.mu.Unlock()
	return ch, func() {
		sm.mu.Lock()
		delete(sm.watchers, ch)
		sm.mu.Unlock()
	}
}

func (sm *sampler) loop() {
	t := time.NewTicker(sm.svc.Config.Every)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(sm.ctx, 10*time.Second)
		f := sm.svc.snapshot(ctx, &sm.rater)
		cancel()
		b, _ := json.Marshal(f)
		sm.mu.Lock()
		if len(sm.watchers) == 0 || sm.ctx.Err() != nil {
			sm.running = false
			sm.mu.Unlock()
			return
		}
		for ch := range sm.watchers {
			select {
			case ch <- b:
			default: // a slow watcher misses a frame; the next one is whole
			}
		}
		sm.mu.Unlock()
		select {
		case <-t.C:
		case <-sm.ctx.Done():
		}
	}
}
