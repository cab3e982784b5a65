package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// startTimeout bounds a server's start: generous, because a busy 2-CPU
// machine running many test packages at once starts Node.js slowly.
const startTimeout = 60 * time.Second

// startAttempts is how often a first start is tried on fresh ports.
const startAttempts = 3

// errExited is a server that exited before it listened: most often because
// another process took one of its ports after FreePort chose it (ports are
// chosen by asking the kernel, then given to the server; tests starting
// servers at the same time can race for them). A first start tries again
// on fresh ports.
var errExited = errors.New("exited before it listened")

// server is a process the Env started, in a process group of its own.
type server struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
}

// startServer starts cmd, with its output appended to logPath, and waits
// until every port accepts connections. It fails as soon as the process
// exits (errExited, with the end of its log), or after timeout.
func startServer(cmd *exec.Cmd, logPath string, timeout time.Duration, ports ...int) (*server, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = logFile(logPath)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(timeout)
	for _, p := range ports {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.done:
				return nil, fmt.Errorf("%s %w on port %d: %s", cmd.Path, errExited, p, logTail(logPath))
			default:
			}
			if time.Now().After(deadline) {
				s.stop()
				return nil, fmt.Errorf("nothing listens on port %d after %s (%s): %s", p, timeout, cmd.Path, logTail(logPath))
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	return s, nil
}

// stop kills the server's process group (SIGKILL) and waits until it is
// gone. A nil server is already stopped.
func (s *server) stop() {
	if s == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// pid is the server's process id (the leader of its process group).
func (s *server) pid() int {
	if s == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// logTail is the last lines of a server's log, for an error message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return "(no output)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-5, 0):], " | ")
}
