package ownership_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/ownership"
)

// containerName is a fresh container per test, so tests do not see each
// other's replicas.
func containerName() string { return "own-" + uuid.NewString()[:8] }

// fair reports whether counts split n over len(owners) as evenly as can be.
func fair(counts map[string]int, owners []string, n int) bool {
	total := 0
	got := make([]int, 0, len(owners))
	for _, o := range owners {
		got = append(got, counts[o])
		total += counts[o]
	}
	lo := n / len(owners)
	for _, c := range got {
		if c < lo || c > lo+1 {
			return false
		}
	}
	return total == n && len(counts) == len(owners)
}

// TestOwnersConvergeToAFairSplit: one owner takes every resource; a second
// and a third join and within a lease period the resources are split 8/8,
// then 6/5/5; one leaving gracefully hands its share over at once. At no
// time do two owners hold one resource, and the container says who owns what.
func TestOwnersConvergeToAFairSplit(t *testing.T) {
	const n = 16
	l, c, all := newLedger(), containerName(), names(n)
	a := startInProcess(t, l, c, "owner-a", all)
	require.Eventually(t, func() bool { return fair(l.counts(), []string{"owner-a"}, n) }, lease, 20*time.Millisecond, "one owner takes all: %v", l.counts())

	joined := time.Now()
	b := startInProcess(t, l, c, "owner-b", all)
	require.Eventually(t, func() bool { return fair(l.counts(), []string{"owner-a", "owner-b"}, n) }, lease, 20*time.Millisecond, "8/8 within a lease: %v", l.counts())
	t.Logf("second owner: balanced %s after it started", time.Since(joined).Round(time.Millisecond))

	joined = time.Now()
	startInProcess(t, l, c, "owner-c", all)
	three := []string{"owner-a", "owner-b", "owner-c"}
	require.Eventually(t, func() bool { return fair(l.counts(), three, n) }, lease, 20*time.Millisecond, "6/5/5 within a lease: %v", l.counts())
	t.Logf("third owner: balanced %s after it started (%v)", time.Since(joined).Round(time.Millisecond), l.counts())
	assert.ElementsMatch(t, b.b.Owned(), ownedBy(l, "owner-b"), "Owned agrees with the changes reported")

	claims, replicas, err := ownership.ReadContainer(context.Background(), account(t), c, all)
	require.NoError(t, err)
	byOwner := map[string]int{}
	for _, cl := range claims {
		assert.Equal(t, ownership.Leased, cl.State, cl.Name)
		assert.Equal(t, l.owners()[cl.Name], cl.Owner, "the blob names %s's owner", cl.Name)
		byOwner[cl.Owner]++
	}
	assert.True(t, fair(byOwner, three, n), "%v", byOwner)
	var seen []string
	for _, r := range replicas {
		seen = append(seen, r.Owner)
	}
	assert.ElementsMatch(t, three, seen, "every replica's presence")

	left := time.Now()
	a.stop() // graceful: releases at once
	require.Eventually(t, func() bool { return fair(l.counts(), []string{"owner-b", "owner-c"}, n) }, lease/2, 20*time.Millisecond, "8/8 soon after a graceful leave: %v", l.counts())
	t.Logf("graceful leave: rebalanced %s after", time.Since(left).Round(time.Millisecond))
	_, replicas, err = ownership.ReadContainer(context.Background(), account(t), c, all)
	require.NoError(t, err)
	for _, r := range replicas {
		assert.NotEqual(t, "owner-a", r.Owner, "a stopped replica removes its presence")
	}
	l.check(t)
}

func ownedBy(l *ledger, owner string) []string {
	var out []string
	for name, o := range l.owners() {
		if o == owner {
			out = append(out, name)
		}
	}
	return out
}

// TestAKilledOwnersShardsAreTakenWithinALease: three owner processes split
// twelve resources; kill -9 of one leaves its leases to expire, and the
// other two own everything within a lease period (plus one round), 6/6.
func TestAKilledOwnersShardsAreTakenWithinALease(t *testing.T) {
	const n = 12
	l, c, all := newLedger(), containerName(), names(n)
	owners := []string{"proc-a", "proc-b", "proc-c"}
	var procs []*child
	for _, o := range owners {
		procs = append(procs, startChild(t, l, c, o, all))
	}
	require.Eventually(t, func() bool { return fair(l.counts(), owners, n) }, 2*lease, 20*time.Millisecond, "4/4/4: %v", l.counts())

	victim := procs[0]
	orphaned := ownedBy(l, victim.owner)
	require.Len(t, orphaned, 4)
	killed := time.Now()
	victim.kill(l)
	require.Eventually(t, func() bool { return fair(l.counts(), owners[1:], n) }, lease+2*interval+time.Second, 10*time.Millisecond,
		"the killed owner's resources are taken within a lease: %v", l.counts())
	took := time.Since(killed)
	t.Logf("kill -9 of an owner of %d resources: all taken over %s later (lease %s)", len(orphaned), took.Round(time.Millisecond), lease)
	l.check(t)
}

// TestNeverTwoOwnersAtOnce races owner processes over few resources in
// cycles: one is paused past its lease (SIGSTOP: it cannot know its lease ran
// out until it wakes, and its work keeps testing its context as a consumer
// does before each receive), one is killed -9, one restarted gracefully. Its
// resources must move to the others each time, and no resource may ever have
// two owners at once, counting the paused process's work up to the last
// moment it saw its context alive.
func TestNeverTwoOwnersAtOnce(t *testing.T) {
	const n = 6
	l, c, all := newLedger(), containerName(), names(n)
	cycles := 3
	if os.Getenv("PRISM_CHAOS") == "full" {
		cycles = 9
	}
	next := 0
	spawn := func() *child {
		next++
		return startChild(t, l, c, fmt.Sprintf("racer-%d", next), all)
	}
	procs := []*child{spawn(), spawn(), spawn()}
	ownersOf := func() []string {
		var out []string
		for _, p := range procs {
			out = append(out, p.owner)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for cycle := range cycles {
		require.Eventually(t, func() bool { return fair(l.counts(), ownersOf(), n) }, 2*lease, 20*time.Millisecond, "cycle %d: balanced: %v", cycle, l.counts())
		i := rng.IntN(len(procs))
		p := procs[i]
		held := ownedBy(l, p.owner)
		switch cycle % 3 {
		case 0:
			p.pause()
			require.Eventually(t, func() bool {
				owners := l.owners()
				for _, name := range held {
					if owners[name] == p.owner || owners[name] == "" {
						return false
					}
				}
				return true
			}, lease+2*interval+time.Second, 10*time.Millisecond, "cycle %d: %s's resources %v taken while it is paused: %v", cycle, p.owner, held, l.owners())
			p.resume()
		case 1:
			p.kill(l)
			procs[i] = spawn()
		case 2:
			p.terminate()
			procs[i] = spawn()
		}
	}
	for _, p := range procs {
		p.terminate()
	}
	handovers := l.check(t)
	t.Logf("%d cycles of pause / kill -9 / graceful restart: handovers per resource %v", cycles, handovers)
	assert.NotEmpty(t, handovers, "ownership moved between owners")
}
