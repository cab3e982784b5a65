package ownership_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/ownership"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

// childEnv, when set, makes the test binary an owner process (runChild)
// instead of running tests: the kill -9 and pause tests need real processes.
const childEnv = "PRISM_OWNERSHIP_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	testenv.Main(m, &env)
}

// lease is the shortest lease Azure allows; interval keeps tests brisk.
const (
	lease    = ownership.MinLease
	interval = 250 * time.Millisecond
)

func account(t *testing.T) *storage.Account {
	t.Helper()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	return acc
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("commands-%d", i)
	}
	return out
}

// change is one ownership change of one owner, or (Active set) the last
// moment its work saw its context alive before it returned.
type change struct {
	Owner  string    `json:"owner"`
	Name   string    `json:"name"`
	Owned  bool      `json:"owned"`
	At     time.Time `json:"at"`
	Active bool      `json:"active,omitempty"`
}

// ledger collects ownership changes and checks that no two owners ever held
// one resource at once.
type ledger struct {
	mu      sync.Mutex
	changes []change
	// ended closes the open intervals of a dead owner at a time.
	ended map[string]time.Time
}

func newLedger() *ledger { return &ledger{ended: map[string]time.Time{}} }

func (l *ledger) add(c change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c)
}

// died records that owner stopped doing anything at at (kill -9, or the
// start of a pause that a kill ended).
func (l *ledger) died(owner string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended[owner] = at
}

// owners returns who owns what now, by the changes seen.
func (l *ledger) owners() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for _, c := range l.changes {
		if _, dead := l.ended[c.Owner]; dead {
			continue
		}
		if c.Active {
			continue
		}
		if c.Owned {
			out[c.Name] = c.Owner
		} else if out[c.Name] == c.Owner {
			delete(out, c.Name)
		}
	}
	return out
}

// counts is how many resources each owner holds now.
func (l *ledger) counts() map[string]int {
	out := map[string]int{}
	for _, o := range l.owners() {
		out[o]++
	}
	return out
}

type span struct {
	owner      string
	start, end time.Time
}

// check fails the test if two owners' intervals of one resource overlap. An
// interval still open ends at its owner's death, or is open to the end.
func (l *ledger) check(t *testing.T) (handovers map[string]int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	open := map[string]map[string]time.Time{} // name → owner → start
	byName := map[string][]span{}
	forever := time.Now().Add(time.Hour)
	for _, c := range l.changes {
		if open[c.Name] == nil {
			open[c.Name] = map[string]time.Time{}
		}
		if c.Active {
			continue // below, once every span is known
		}
		if c.Owned {
			open[c.Name][c.Owner] = c.At
			continue
		}
		if start, ok := open[c.Name][c.Owner]; ok {
			byName[c.Name] = append(byName[c.Name], span{c.Owner, start, c.At})
			delete(open[c.Name], c.Owner)
		}
	}
	for name, owners := range open {
		for owner, start := range owners {
			end, dead := l.ended[owner]
			if !dead {
				end = forever
			}
			byName[name] = append(byName[name], span{owner, start, end})
		}
	}
	// The work may have run on after its end was reported (it reports the
	// last moment it saw its context alive): then it owned the resource
	// until then. Its span is that owner's latest one started before.
	for _, c := range l.changes {
		if !c.Active {
			continue
		}
		var latest *span
		for i, iv := range byName[c.Name] {
			if iv.owner == c.Owner && !iv.start.After(c.At) && (latest == nil || iv.start.After(latest.start)) {
				latest = &byName[c.Name][i]
			}
		}
		if latest != nil && c.At.After(latest.end) {
			latest.end = c.At
		}
	}
	handovers = map[string]int{}
	for name, ivs := range byName {
		sort.Slice(ivs, func(i, j int) bool { return ivs[i].start.Before(ivs[j].start) })
		for i := 1; i < len(ivs); i++ {
			prev, cur := ivs[i-1], ivs[i]
			require.False(t, cur.start.Before(prev.end), "%s: %s owned it from %s while %s owned it until %s",
				name, cur.owner, cur.start.Format(time.StampMicro), prev.owner, prev.end.Format(time.StampMicro))
			if cur.owner != prev.owner {
				handovers[name]++
			}
		}
	}
	return handovers
}

// inProcess runs a balancer in this process until its stop is called.
type inProcess struct {
	b    *ownership.Balancer
	stop func()
}

func startInProcess(t *testing.T, l *ledger, container, owner string, names []string) *inProcess {
	t.Helper()
	b, err := ownership.New(account(t), ownership.Config{
		Names: names, Container: container, Owner: owner, Lease: lease, Interval: interval,
		Work: func(ctx context.Context, _ string) { <-ctx.Done() },
		OnChange: func(name string, owned bool, at time.Time) {
			l.add(change{Owner: owner, Name: name, Owned: owned, At: at})
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	once := sync.Once{}
	p := &inProcess{b: b, stop: func() { once.Do(func() { cancel(); <-done }) }}
	t.Cleanup(p.stop)
	return p
}

// child is an owner in a process of its own (this test binary, runChild).
type child struct {
	owner  string
	cmd    *exec.Cmd
	exited chan struct{}
	paused time.Time
}

func startChild(t *testing.T, l *ledger, container, owner string, names []string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_CONN="+env.ConnString, "CHILD_CONTAINER="+container,
		"CHILD_OWNER="+owner, "CHILD_NAMES="+strings.Join(names, ","), "CHILD_INTERVAL="+interval.String())
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	c := &child{owner: owner, cmd: cmd, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ch change
			if json.Unmarshal(sc.Bytes(), &ch) == nil && ch.Owner != "" {
				l.add(ch)
			}
		}
		_ = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() { c.kill(l) })
	return c
}

// kill sends SIGKILL; the owner's intervals end now, or when it was paused.
func (c *child) kill(l *ledger) {
	select {
	case <-c.exited:
		return
	default:
	}
	at := time.Now()
	if !c.paused.IsZero() {
		at = c.paused
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
	l.died(c.owner, at)
}

// pause stops the process (SIGSTOP) without it knowing; resume continues it.
func (c *child) pause()  { c.paused = time.Now(); _ = c.cmd.Process.Signal(syscall.SIGSTOP) }
func (c *child) resume() { _ = c.cmd.Process.Signal(syscall.SIGCONT); c.paused = time.Time{} }

// terminate stops the process gracefully (SIGTERM) and waits for it.
func (c *child) terminate() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.exited
}

// runChild is an owner process: it reports every ownership change as a JSON
// line on stdout and stops gracefully on SIGTERM.
func runChild() int {
	acc, err := storage.Connect(os.Getenv("CHILD_CONN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	every, _ := time.ParseDuration(os.Getenv("CHILD_INTERVAL"))
	owner := os.Getenv("CHILD_OWNER")
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	b, err := ownership.New(acc, ownership.Config{
		Names: strings.Split(os.Getenv("CHILD_NAMES"), ","), Container: os.Getenv("CHILD_CONTAINER"),
		Owner: owner, Lease: lease, Interval: every,
		// Work as a consumer does: test the context before each step (a
		// receive), and report the last step's time when told to stop.
		Work: func(ctx context.Context, name string) {
			var last time.Time
			for ctx.Err() == nil {
				last = time.Now()
				time.Sleep(2 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(change{Owner: owner, Name: name, At: last, Active: true})
		},
		OnChange: func(name string, owned bool, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(change{Owner: owner, Name: name, Owned: owned, At: at})
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	_ = b.Run(ctx)
	return 0
}
