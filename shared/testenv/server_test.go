package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server whose port was taken since FreePort chose it (by another
// process's outgoing connection, say) exits at once; startServer says so
// then, with its log, instead of waiting out its timeout, and a first start
// tries fresh ports.
func TestAServerWhosePortIsTakenFailsAtOnceAsExited(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server: run make deps")
	// The port is taken the way an outgoing connection takes its source
	// port: bound, not listening. Nothing answers on it, and a server
	// cannot bind it.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	port := sa.(*syscall.SockaddrInet4).Port
	start := time.Now()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	_, err = startServer(cmd, filepath.Join(t.TempDir(), "redis.log"), time.Minute, port)
	require.Error(t, err)
	assert.ErrorIs(t, err, errExited)
	assert.Less(t, time.Since(start), 30*time.Second, "an exited server is reported at once, not after the timeout")
}

func TestStartGivesWorkingServersAndStopsThem(t *testing.T) {
	e, err := Start()
	require.NoError(t, err)
	azurites, redis := e.ServerPids()
	require.Len(t, azurites, 1)
	require.NotZero(t, redis)
	e.Stop()
	azurites, redis = e.ServerPids()
	assert.Empty(t, azurites)
	assert.Zero(t, redis)
}

// FreePort's ports are below the ephemeral range, where no outgoing
// connection takes them as its source port.
func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	low, high := portsBelowEphemeral()
	for range 50 {
		p, err := FreePort()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, p, low)
		assert.Less(t, p, high)
	}
}

// A port FreePort handed out is not handed out again, by this process or
// by another test process on the machine (the lock file is held).
func TestAReservedPortIsNotReservedAgain(t *testing.T) {
	p, err := FreePort()
	require.NoError(t, err)
	assert.False(t, reservePort(p), "this process holds it")
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "prism-testenv-ports", strconv.Itoa(p)), os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	// Another open file description is what another process would have.
	assert.Error(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB), "the lock is held for other processes")
}
