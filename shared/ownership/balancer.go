package ownership

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/storage"
)

// Balancer owns this replica's fair share of the resources and runs their
// Work. Create it with New and call Run once.
type Balancer struct {
	cfg     Config
	blobs   blobs
	leaseID string
	log     *slog.Logger

	mu   sync.Mutex
	held map[string]*holding // owned now (a resource being given up is no longer here)
	wg   sync.WaitGroup      // every holding's goroutine

	listedAt atomic.Int64 // unix nanos of the last successful listing
	stopping atomic.Bool  // shutting down: every release is a shutdown
}

// holding is one owned resource.
type holding struct {
	name    string
	since   time.Time // when the acquiring request was sent
	expires time.Time // when the lease may have expired by our clock, less the margin
	stop    chan stopReason
}

// stopReason is why a holding ends.
type stopReason int

const (
	// release: give it up (balancing, shutdown): stop the work, keep renewing
	// while it drains, then release the lease so another replica can take it
	// at once.
	release stopReason = iota
	// lost: the lease is not ours any more: stop the work at once.
	lost
)

// New returns a balancer over the ownership container of acc (the primary
// storage account).
func New(acc *storage.Account, cfg Config) (*Balancer, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b, err := newBlobs(acc, cfg.Container)
	if err != nil {
		return nil, err
	}
	return &Balancer{
		cfg: cfg, blobs: b, leaseID: uuid.NewString(),
		log:  cfg.Logger.With("owner", cfg.Owner),
		held: map[string]*holding{},
	}, nil
}

// Owner is the name this replica goes by.
func (b *Balancer) Owner() string { return b.cfg.Owner }

// Owned returns the resources this replica owns now, sorted.
func (b *Balancer) Owned() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.held))
	for n := range b.held {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check is a readiness check: it fails when the balancer has not read the
// ownership container for three rounds (then it can neither take nor give up
// resources).
func (b *Balancer) Check(context.Context) error {
	last := b.listedAt.Load()
	if last == 0 || time.Since(time.Unix(0, last)) > 3*b.cfg.Interval+5*time.Second {
		return apperr.New(apperr.Unavailable, "shard ownership: the %s container has not been read lately", b.cfg.Container)
	}
	return nil
}

// Run balances until ctx ends, then gives every resource up (draining its
// work, then releasing its lease) and removes this replica's presence.
func (b *Balancer) Run(ctx context.Context) error {
	b.log.Info("shard ownership started", "resources", len(b.cfg.Names), "lease", b.cfg.Lease.String(), "interval", b.cfg.Interval.String())
	ensured := false
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.shutdown()
			return nil
		case <-t.C:
		}
		if !ensured {
			if err := b.blobs.ensure(ctx, b.cfg.Names); err == nil {
				ensured = true
			} else if ctx.Err() == nil {
				b.log.Warn("could not prepare the ownership container; retrying", "err", err)
			}
		}
		b.round(ctx)
		t.Reset(b.cfg.Interval)
	}
}

// round is one balancing step (see the package comment).
func (b *Balancer) round(ctx context.Context) {
	start := time.Now()
	if err := b.blobs.touch(ctx, b.cfg.Owner); err != nil && ctx.Err() == nil {
		b.log.Warn("could not refresh this replica's presence", "err", err)
	}
	snap, err := b.blobs.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			roundErrors.Inc()
			b.log.Warn("ownership round: could not list the leases", "err", err)
		}
		return
	}
	b.listedAt.Store(time.Now().UnixNano())
	b.reconcile(ctx, snap, start)
	b.sweep(ctx, snap)

	plan := b.plan(snap)
	if plan.shed > 0 {
		b.shed(plan.shed)
		return
	}
	for _, name := range plan.free {
		if plan.take == 0 || ctx.Err() != nil {
			break
		}
		if b.take(ctx, name) {
			plan.take--
		}
	}
}

// reconcile drops holdings the listing shows are not ours any more (their
// lease expired, was broken or is being broken), and puts our name back on
// a lease whose owner metadata is not ours. Holdings acquired after the
// listing began are left alone: the listing may predate them.
func (b *Balancer) reconcile(ctx context.Context, snap snapshot, listStart time.Time) {
	b.mu.Lock()
	var gone, unnamed []*holding
	for name, h := range b.held {
		if !h.since.Before(listStart) {
			continue
		}
		switch c := snap.claim(name); {
		case c.State != Leased:
			gone = append(gone, h)
		case c.Owner != b.cfg.Owner:
			unnamed = append(unnamed, h)
		}
	}
	b.mu.Unlock()
	for _, h := range gone {
		h.signal(lost)
	}
	for _, h := range unnamed {
		if err := b.blobs.setOwner(ctx, h.name, b.leaseID, b.cfg.Owner); lostLease(err) {
			h.signal(lost)
		}
	}
}

// staleAfter is how many lease periods a presence blob outlives its replica
// before some replica deletes it.
const staleAfter = 10

// sweep deletes the presence blobs of replicas gone for staleAfter leases.
func (b *Balancer) sweep(ctx context.Context, snap snapshot) {
	live := liveReplicas(snap.replicas, b.cfg.Owner, staleAfter*b.cfg.Lease)
	for _, r := range snap.replicas {
		if !live[r.Owner] {
			if err := b.blobs.forget(ctx, r.Owner); err != nil {
				b.log.Debug("could not delete a departed replica's presence", "replica", r.Owner, "err", err)
			}
		}
	}
}

// plan is what one round decides.
type plan struct {
	shed int      // how many owned resources to give up
	take int      // how many free ones to take
	free []string // the free resources, shuffled
}

// plan reads the listing: the live replicas, how many resources each holds
// and which are free, then asks share what this replica should do.
func (b *Balancer) plan(snap snapshot) plan {
	me := b.cfg.Owner
	live := liveReplicas(snap.replicas, me, b.cfg.Lease)
	counts := map[string]int{}
	for o := range live {
		counts[o] = 0
	}
	for _, n := range b.cfg.Names {
		if c := snap.claim(n); c.State == Leased && c.Owner != me && live[c.Owner] {
			counts[c.Owner]++
		}
	}
	b.mu.Lock()
	counts[me] = len(b.held)
	var free []string
	for _, n := range b.cfg.Names {
		if _, ok := b.held[n]; ok {
			continue
		}
		if s := snap.claim(n).State; s == Free || s == Missing {
			free = append(free, n)
		}
	}
	b.mu.Unlock()
	unownedGauge.Set(float64(len(free)))
	var p plan
	p.shed, p.take = share(len(b.cfg.Names), counts, me)
	rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	p.free = free
	return p
}

// share is the fair-share rule. counts holds every live replica (me
// included) and how many of the n resources it owns. With R replicas each
// should own n/R, and n mod R of them one more. A replica over that gives
// the surplus up; when every replica holds at most one more than n/R but too
// many hold the one more while another is below n/R, those with the highest
// names give one back. A replica under its share takes free resources, but
// only up to n/R while another live replica is below n/R.
func share(n int, counts map[string]int, me string) (shed, take int) {
	r := max(len(counts), 1)
	lo, extra := n/r, n%r
	hi := lo
	if extra > 0 {
		hi++
	}
	mine := counts[me]
	starving := false
	for o, c := range counts {
		if o != me && c < lo {
			starving = true
		}
	}
	switch {
	case mine > hi:
		return mine - hi, 0
	case mine == hi && hi > lo && starving:
		var atHi []string
		for o, c := range counts {
			if c >= hi {
				atHi = append(atHi, o)
			}
		}
		slices.Sort(atHi)
		slices.Reverse(atHi)
		if slices.Index(atHi, me) < len(atHi)-extra {
			return 1, 0
		}
		return 0, 0
	}
	target := hi
	if starving {
		target = lo // leave the rest for those below their share
	}
	return 0, max(0, target-mine)
}

// liveReplicas are this replica and those whose presence is younger than
// window, measured against this replica's own, just refreshed, presence (so
// server times are compared with server times; the newest presence stands in
// when this replica's could not be written).
func liveReplicas(replicas []Replica, me string, window time.Duration) map[string]bool {
	ref, found := time.Time{}, false
	for _, r := range replicas {
		if r.Owner == me {
			ref, found = r.LastSeen, true
		}
	}
	for _, r := range replicas {
		if !found && r.LastSeen.After(ref) {
			ref = r.LastSeen
		}
	}
	live := map[string]bool{me: true}
	for _, r := range replicas {
		if !r.LastSeen.Before(ref.Add(-window)) {
			live[r.Owner] = true
		}
	}
	return live
}

// shed gives up k owned resources, chosen at random.
func (b *Balancer) shed(k int) {
	b.mu.Lock()
	var victims []*holding
	for _, h := range b.held {
		victims = append(victims, h)
	}
	b.mu.Unlock()
	rand.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	for _, h := range victims[:min(k, len(victims))] {
		h.signal(release)
	}
}

// take tries to acquire name's lease and, if it gets it, starts its work.
func (b *Balancer) take(ctx context.Context, name string) bool {
	sent := time.Now()
	actx, cancel := context.WithTimeout(ctx, b.cfg.Lease-b.cfg.margin())
	defer cancel()
	if err := b.blobs.acquire(actx, name, b.leaseID, b.cfg.Lease); err != nil {
		if !lostLease(err) && ctx.Err() == nil {
			b.log.Warn("could not take a shard", "shard", name, "err", err)
		}
		return false // taken by someone else meanwhile, or storage trouble
	}
	h := &holding{name: name, since: sent, expires: sent.Add(b.cfg.Lease - b.cfg.margin()), stop: make(chan stopReason, 1)}
	if err := b.blobs.setOwner(actx, name, b.leaseID, b.cfg.Owner); err != nil {
		b.log.Warn("took a shard but could not name its owner; retrying next round", "shard", name, "err", err)
	}
	b.mu.Lock()
	b.held[name] = h
	b.mu.Unlock()
	acquiredTotal.Inc()
	b.wg.Add(1)
	go b.hold(h)
	return true
}

// signal asks the holding to end (the first reason given wins).
func (h *holding) signal(r stopReason) {
	select {
	case h.stop <- r:
	default:
	}
}

// hold runs name's work while the lease is ours and renews it every third
// of its duration. The work is stopped when the lease is lost, when it could
// not be renewed before it might expire, or when the balancer gives the
// resource up; in the last case the lease is renewed until the work has
// drained and then released.
func (b *Balancer) hold(h *holding) {
	defer b.wg.Done()
	log := b.log.With("shard", h.name)
	wctx := newLeaseContext(h.expires)
	defer wctx.cancel()
	workDone := make(chan struct{})
	b.changed(h.name, true, time.Now())
	log.Info("shard acquired", "owned", len(b.Owned()))
	go func() {
		defer close(workDone)
		b.cfg.Work(wctx, h.name)
	}()

	every := b.cfg.Lease / 3
	renewT := time.NewTimer(every)
	defer renewT.Stop()
	expireT := time.NewTimer(time.Until(h.expires))
	defer expireT.Stop()
	stopped, leaseOurs := false, true
	end := func(reason string) {
		if stopped {
			return
		}
		stopped = true
		at := wctx.stop()
		b.mu.Lock()
		delete(b.held, h.name)
		owned := len(b.held)
		b.mu.Unlock()
		b.changed(h.name, false, at)
		endedTotal.WithLabelValues(reason).Inc()
		log.Info("shard given up", "reason", reason, "owned", owned)
	}
	for {
		select {
		case <-renewT.C:
			if !leaseOurs {
				continue
			}
			if !time.Now().Before(h.expires) { // woke too late (a pause): the expiry timer's case
				leaseOurs = false
				end("expired")
				continue
			}
			sent := time.Now()
			rctx, cancel := context.WithDeadline(context.Background(), h.expires)
			err := b.blobs.renew(rctx, h.name, b.leaseID)
			cancel()
			switch {
			case err == nil:
				h.expires = sent.Add(b.cfg.Lease - b.cfg.margin())
				wctx.extend(h.expires)
				expireT.Reset(time.Until(h.expires))
				renewT.Reset(every)
			case lostLease(err):
				leaseOurs = false
				end("lost")
			default:
				log.Warn("shard lease renewal failed; retrying", "err", err, "expiresIn", time.Until(h.expires).Round(time.Millisecond))
				renewT.Reset(min(time.Second, every))
			}
		case <-expireT.C:
			leaseOurs = false
			end("expired")
		case r := <-h.stop:
			if r == lost {
				leaseOurs = false
				end("lost")
			} else {
				end(b.releaseReason())
			}
		case <-workDone:
			end("work_ended")
			if leaseOurs {
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := b.blobs.release(rctx, h.name, b.leaseID); err != nil && !lostLease(err) {
					log.Warn("could not release the shard's lease; it expires by itself", "err", err)
				}
				cancel()
			}
			return
		}
	}
}

// releaseReason labels a voluntary end: shutdown while the balancer stops,
// shed otherwise.
func (b *Balancer) releaseReason() string {
	if b.stopping.Load() {
		return "shutdown"
	}
	return "shed"
}

// changed reports a change of ownership to the metrics and OnChange.
func (b *Balancer) changed(name string, owned bool, at time.Time) {
	if owned {
		ownedGauge.Inc()
		ownedByName.WithLabelValues(name).Set(1)
	} else {
		ownedGauge.Dec()
		ownedByName.WithLabelValues(name).Set(0)
	}
	if b.cfg.OnChange != nil {
		b.cfg.OnChange(name, owned, at)
	}
}

// shutdown gives everything up, waits for the work to drain and the leases
// to be released, and removes this replica's presence.
func (b *Balancer) shutdown() {
	b.stopping.Store(true)
	b.mu.Lock()
	for _, h := range b.held {
		h.signal(release)
	}
	b.mu.Unlock()
	b.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.blobs.forget(ctx, b.cfg.Owner); err != nil {
		b.log.Warn("could not remove this replica's presence; it ages out", "err", err)
	}
	b.log.Info("shard ownership stopped")
}
