package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/testenv"
)

// terminal is `make up` running on a pseudo-terminal, as a user runs it.
type terminal struct {
	t   *testing.T
	cmd *exec.Cmd
	pty *os.File

	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the output matches re and returns the submatches.
func (term *terminal) waitFor(re *regexp.Regexp, within time.Duration) []string {
	term.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(term.output()); m != nil {
			return m
		}
		select {
		case <-term.done:
			if m := re.FindStringSubmatch(term.output()); m != nil {
				return m
			}
			term.t.Fatalf("make up ended (%v) before printing %q:\n%s", term.err, re, tail(term.output(), 60))
		case <-time.After(50 * time.Millisecond):
		}
	}
	term.t.Fatalf("make up did not print %q within %s:\n%s", re, within, tail(term.output(), 60))
	return nil
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := testenv.FreePort()
		require.NoError(t, err)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func portFree(p int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// TestMakeUpRestartsACrashedReplicaAndStopsQuietly tries `make up` as a new
// user would, on a terminal (on free ports): once the stack is ready, kill -9
// of a domain-service replica leaves the rest running, the replica is
// restarted (and says so), and commands sent from the moment of the kill are
// all handled; then Ctrl-C stops everything within the shutdown bound,
// prints no error or stack trace, and make exits 0.
func TestMakeUpRestartsACrashedReplicaAndStopsQuietly(t *testing.T) {
	root, err := stack.RepoRoot()
	require.NoError(t, err)
	ports := freePorts(t, 10)
	api, streams, updater, redis, blob, queue, table, domain := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7]
	smtp, mailUI := ports[8], ports[9]
	for !portFree(domain + 100) { // replica 2 listens on DOMAIN_PORT + 100
		domain = freePorts(t, 1)[0]
	}
	run, err := os.MkdirTemp("", "prism-up-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(run) })

	cmd := exec.Command("make", "up")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REPLICAS=2", "PRISM_RUN_DIR="+run,
		fmt.Sprintf("API_PORT=%d", api), fmt.Sprintf("STREAMS_PORT=%d", streams), fmt.Sprintf("UPDATER_PORT=%d", updater),
		fmt.Sprintf("DOMAIN_PORT=%d", domain), fmt.Sprintf("REDIS_PORT=%d", redis),
		fmt.Sprintf("AZURITE_BLOB_PORT=%d", blob), fmt.Sprintf("AZURITE_QUEUE_PORT=%d", queue), fmt.Sprintf("AZURITE_TABLE_PORT=%d", table),
		fmt.Sprintf("MAIL_SMTP_PORT=%d", smtp), fmt.Sprintf("MAIL_UI_PORT=%d", mailUI))
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	require.NoError(t, err)
	term := &terminal{t: t, cmd: cmd, pty: f, done: make(chan struct{})}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		term.err = cmd.Wait()
		// What make printed last may still be in the pty: done means all of
		// it was read (the pty ends once every writer is gone).
		select {
		case <-drained:
		case <-time.After(10 * time.Second):
		}
		close(term.done)
	}()
	t.Cleanup(func() {
		select {
		case <-term.done:
		default: // the test failed half-way: stop the stack as a user would
			_, _ = f.Write([]byte{3})
			select {
			case <-term.done:
			case <-time.After(60 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		}
		_ = f.Close()
		if t.Failed() {
			t.Logf("make up printed:\n%s", tail(term.output(), 80))
		}
	})

	// `make up` builds first; on a busy machine that takes a while.
	term.waitFor(regexp.MustCompile(`\[up\] stack ready`), 8*time.Minute)
	pid := term.waitFor(regexp.MustCompile(`\[up\] domain-2: pid (\d+)`), 5*time.Second)[1]
	victim, err := strconv.Atoi(pid)
	require.NoError(t, err)

	ctx := ctxFor(t, 3*time.Minute)
	// Mailpit is up with the stack: its mail UI's API answers.
	info, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/info", mailUI))
	require.NoError(t, err)
	info.Body.Close()
	assert.Equal(t, http.StatusOK, info.StatusCode, "Mailpit's mail UI")
	c := &stack.Client{API: fmt.Sprintf("http://127.0.0.1:%d", api), HTTP: &http.Client{Timeout: 30 * time.Second}}
	admin, err := c.Token(ctx, "boss", true)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))

	// 20 commands from the moment of the kill: every one is handled.
	var accepted []stack.Accepted
	for i := range 20 {
		a, err := c.Command(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": sku(fmt.Sprintf("UP%d", i)), "name": "after the kill", "priceCents": 100, "stock": 1})
		require.NoError(t, err)
		accepted = append(accepted, a)
	}
	term.waitFor(regexp.MustCompile(`\[up\] domain-2 exited \(killed by SIGKILL\) after \d+s; restarting in 1s`), 30*time.Second)
	term.waitFor(regexp.MustCompile(`\[up\] domain-2 restarted: pid \d+`), 30*time.Second)
	require.Eventually(t, func() bool {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", domain+100))
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, time.Minute, 100*time.Millisecond, "the restarted replica becomes ready")
	for _, a := range accepted {
		st, err := c.Settle(ctx, admin, a.CommandID)
		require.NoError(t, err)
		assert.Equal(t, "succeeded", st.Status, "command %s", a.CommandID)
	}
	out := term.output()
	assert.NotContains(t, out, "stopping the stack", "a crash does not take the stack down")
	assert.NotContains(t, out, "[up] stopping", "a crash does not take the stack down")

	// Ctrl-C: everything stops, quietly, and make exits 0.
	before := len(term.output())
	_, err = f.Write([]byte{3})
	require.NoError(t, err)
	select {
	case <-term.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("make up did not stop within 90 s of Ctrl-C:\n%s", tail(term.output(), 40))
	}
	var exit *exec.ExitError
	if errors.As(term.err, &exit) {
		t.Errorf("make up exited %v after Ctrl-C; want 0", exit)
	} else {
		require.NoError(t, term.err)
	}
	stopped := term.output()[before:]
	assert.Contains(t, stopped, "[up] stopped")
	for _, bad := range []string{"Error", "error", "Cannot close server", "    at ", "make: ***", "Interrupt", "panic", "Killed"} {
		assert.NotContains(t, stopped, bad, "Ctrl-C is quiet")
	}
	for _, p := range append(ports[:7:7], domain, domain+100) {
		assert.True(t, portFree(p), "port %d is free again: every process stopped", p)
	}
}
