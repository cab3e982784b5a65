// Package testenv starts a private Azurite and redis-server on free ports for
// one test package (or one tool run) and tears them down afterwards, so tests
// never depend on whatever happens to be running on the machine.
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) { testenv.Main(m, &env) }
package testenv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// AccountKey is Azurite's well-known development account key.
const AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Env is a running private Azurite (one per storage account) and redis-server.
type Env struct {
	// ConnString is the storage connection string of the private Azurite
	// (the first, primary, account when there are several).
	ConnString string
	// Accounts are the connection strings of every account, ConnString
	// first: each account is an Azurite of its own.
	Accounts []string
	// RedisURL is the URL of the private redis-server.
	RedisURL string

	dir       string
	mu        sync.Mutex
	azurites  []*azurite
	redis     *server
	redisPort int
	// redisStarted: redis-server listened once on redisPort, which stays
	// its port from then on (a restart keeps it).
	redisStarted bool
	azuriteBin   string
	redisBin     string
}

// azurite is one Azurite process: its blob, queue and table ports.
type azurite struct {
	ports [3]int
	dir   string
	srv   *server
	// started: it listened once on ports, which stay its ports from then
	// on (a restart keeps them, and clients were given them).
	started bool
}

// Main starts an Env, stores it in *env, runs the package's tests and exits
// with their status after stopping the Env.
func Main(m *testing.M, env **Env) { runMain(m, env, 1) }

// MainRedis is Main for packages that need only Redis (ConnString stays empty).
func MainRedis(m *testing.M, env **Env) { runMain(m, env, 0) }

func runMain(m *testing.M, env **Env, accounts int) {
	e, err := startWith(accounts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	*env = e
	code := m.Run()
	e.Stop()
	os.Exit(code)
}

// Redis returns a client of the Env's redis-server, closed when t ends.
func (e *Env) Redis(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(e.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// Start launches Azurite and redis-server in a fresh temporary directory.
func Start() (*Env, error) { return startWith(1) }

// StartAccounts is Start with n storage accounts, each an Azurite of its own.
func StartAccounts(n int) (*Env, error) { return startWith(max(n, 1)) }

// startWith starts Redis and one Azurite per account (none: Redis only).
func startWith(accounts int) (*Env, error) {
	withAzurite := accounts > 0
	var azBin string
	if withAzurite {
		var err error
		if azBin, err = findAzurite(); err != nil {
			return nil, err
		}
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found on PATH: run `make deps` (installs it with apt-get)")
	}
	dir, err := os.MkdirTemp("", "prism-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{dir: dir, azuriteBin: azBin, redisBin: redisBin}
	for i := range accounts {
		az := &azurite{dir: filepath.Join(dir, fmt.Sprintf("azurite-%d", i+1))}
		for p := range az.ports {
			if az.ports[p], err = FreePort(); err != nil {
				return nil, err
			}
		}
		e.azurites = append(e.azurites, az)
		e.Accounts = append(e.Accounts, ConnectionString(az.ports[0], az.ports[1], az.ports[2]))
	}
	if e.redisPort, err = FreePort(); err != nil {
		return nil, err
	}
	e.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", e.redisPort)
	if withAzurite {
		e.ConnString = e.Accounts[0]
		if err := e.StartAzurite(); err != nil {
			e.Stop()
			return nil, err
		}
	}
	if err := e.StartRedis(); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// ConnectionString is the Azurite development account on the given blob,
// queue and table ports.
func ConnectionString(blobPort, queuePort, tablePort int) string {
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AccountKey + ";" +
		fmt.Sprintf("BlobEndpoint=http://127.0.0.1:%d/devstoreaccount1;", blobPort) +
		fmt.Sprintf("QueueEndpoint=http://127.0.0.1:%d/devstoreaccount1;", queuePort) +
		fmt.Sprintf("TableEndpoint=http://127.0.0.1:%d/devstoreaccount1;", tablePort)
}

// StartAzurite (re)starts every account's Azurite on its ports and data
// directory and waits until their endpoints accept connections. A first
// start that finds a port taken (another test's server got it first) tries
// again on fresh ports.
func (e *Env) StartAzurite() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, az := range e.azurites {
		if az.srv != nil {
			continue
		}
		if err := os.MkdirAll(az.dir, 0o755); err != nil {
			return err
		}
		for attempt := 1; ; attempt++ {
			cmd := exec.Command(e.azuriteBin, AzuriteArgs(az.dir, az.ports[0], az.ports[1], az.ports[2])...)
			srv, err := startServer(cmd, az.dir+".log", startTimeout, az.ports[:]...)
			if err == nil {
				az.srv, az.started = srv, true
				break
			}
			if az.started || !errors.Is(err, errExited) || attempt == startAttempts {
				return fmt.Errorf("azurite: %w", err)
			}
			for p := range az.ports {
				if az.ports[p], err = FreePort(); err != nil {
					return err
				}
			}
			e.Accounts[i] = ConnectionString(az.ports[0], az.ports[1], az.ports[2])
			if i == 0 {
				e.ConnString = e.Accounts[0]
			}
		}
	}
	return nil
}

// AzuriteArgs are the flags Prism runs Azurite with: on-disk data (in-memory
// mode makes deletes slow), no API-version check, no telemetry (no internet
// here) and keep-alive longer than the Go client's idle timeout.
func AzuriteArgs(dataDir string, blobPort, queuePort, tablePort int) []string {
	return []string{
		"--silent", "--location", dataDir, "--skipApiVersionCheck", "--disableTelemetry",
		"--blobPort", strconv.Itoa(blobPort), "--queuePort", strconv.Itoa(queuePort), "--tablePort", strconv.Itoa(tablePort),
		"--blobKeepAliveTimeout", "120", "--queueKeepAliveTimeout", "120", "--tableKeepAliveTimeout", "120",
	}
}

// StopAzurite kills every Azurite (SIGKILL), keeping their data for a restart.
func (e *Env) StopAzurite() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, az := range e.azurites {
		az.srv.stop()
		az.srv = nil
	}
}

// StartRedis (re)starts redis-server on the Env's port, without persistence.
func (e *Env) StartRedis() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.redis != nil {
		return nil
	}
	for attempt := 1; ; attempt++ {
		cmd := exec.Command(e.redisBin, "--port", strconv.Itoa(e.redisPort), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", e.dir, "--protected-mode", "no")
		srv, err := startServer(cmd, filepath.Join(e.dir, "redis.log"), startTimeout/3, e.redisPort)
		if err == nil {
			e.redis, e.redisStarted = srv, true
			break
		}
		if e.redisStarted || !errors.Is(err, errExited) || attempt == startAttempts {
			return fmt.Errorf("redis-server: %w", err)
		}
		if e.redisPort, err = FreePort(); err != nil {
			return err
		}
		e.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", e.redisPort)
	}
	opt, _ := redis.ParseURL(e.RedisURL)
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %d does not answer PING: %w", e.redisPort, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StopRedis kills redis-server (SIGKILL); its data is lost.
func (e *Env) StopRedis() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.redis.stop()
	e.redis = nil
}

// Stop kills both servers and removes their data.
func (e *Env) Stop() {
	e.StopAzurite()
	e.StopRedis()
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

func kill(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

func logFile(path string) (*os.File, *os.File) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil
	}
	return f, f
}

// FreePort returns a TCP port free on the loopback interface, chosen at
// random below the kernel's ephemeral range (ip_local_port_range): a port
// the kernel hands out for bind(":0") is one it may also give, a moment
// later, to some outgoing connection as its source port, and the server
// meant to listen on it then fails to bind. Ports below the range are
// never taken that way. Falls back to the kernel's choice when no port
// below the range is free.
func FreePort() (int, error) {
	low, high := portsBelowEphemeral()
	for range 100 {
		p := low + rand.IntN(high-low)
		if !reservePort(p) {
			continue // another test process on this machine holds it
		}
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// reservedPorts are the lock files of the ports this process reserved,
// open until it exits (when the kernel releases their locks).
var reservedPorts struct {
	sync.Mutex
	files map[int]*os.File
}

// reservePort reserves port p for this process among every process on the
// machine that asks FreePort (test packages run as separate processes, at
// once): an exclusive lock on a file named after the port, held until the
// process exits. A port held by another process is not handed out, so two
// tests never give one port to two servers, and a test never finds
// another's server on its port. Where locking is not possible, every port
// counts as free (the bind check still applies).
func reservePort(p int) bool {
	reservedPorts.Lock()
	defer reservedPorts.Unlock()
	if _, mine := reservedPorts.files[p]; mine {
		return false // handed out already by this process
	}
	dir := filepath.Join(os.TempDir(), "prism-testenv-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	if reservedPorts.files == nil {
		reservedPorts.files = map[int]*os.File{}
	}
	reservedPorts.files[p] = f
	return true
}

// portsBelowEphemeral is the range FreePort picks from: from 20000 (clear
// of well-known and registered service defaults such as Azurite's 10000s,
// Redis's 6379 and the stack's 8080s) up to the start of the ephemeral
// range (32768 unless the kernel says otherwise).
func portsBelowEphemeral() (low, high int) {
	low, high = 20000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > low+1000 {
				high = n
			}
		}
	}
	return low, high
}

// findAzurite locates the pinned Azurite: $PRISM_AZURITE_BIN, or
// azurite/node_modules/.bin/azurite in this directory or any parent.
func findAzurite() (string, error) {
	if p := os.Getenv("PRISM_AZURITE_BIN"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "azurite", "node_modules", ".bin", "azurite")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("azurite not found (azurite/node_modules/.bin/azurite): run `make deps` (npm ci in azurite/)")
		}
		dir = parent
	}
}

// ServerPids are the process ids of the private Azurites and redis-server
// that are running (for a benchmark reading their CPU time from /proc).
// Each was started in a process group of its own, led by that pid.
func (e *Env) ServerPids() (azurites []int, redis int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, az := range e.azurites {
		if az.srv != nil {
			azurites = append(azurites, az.srv.pid())
		}
	}
	redis = e.redis.pid()
	return azurites, redis
}
