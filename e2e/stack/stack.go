// Package stack runs the whole Prism stack for end-to-end tests, chaos
// tests and benchmarks: it builds the four service binaries, starts a
// private Azurite, redis-server and Mailpit (shared/testenv), then the
// services as real processes on free ports, and can kill, restart and scale
// them.
package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prism-es/prism/shared/testenv"
)

// Services are the four binaries, by the name of their cmd directory.
var Services = []string{"prism-api", "domain-service", "readmodel-updater", "stream-service"}

// Options shape a stack.
type Options struct {
	// Replicas is the number of domain-service processes (default 2).
	Replicas int
	// Accounts is the number of storage accounts, each a private Azurite
	// (default 1); with more, every service gets PRISM_STORAGE_ACCOUNTS.
	Accounts int
	// Env is added to every service's environment.
	Env map[string]string
	// ServiceEnv is added to one service's environment, by service name.
	ServiceEnv map[string]map[string]string
	// Limits keeps the services' default rate limits and stream limits;
	// without it they are off, so tests and the bench that drive heavy load
	// from one address and one user measure the pipeline, not the limiter.
	Limits bool
	// Faults puts Toxiproxy between every process and Azurite and Redis
	// (Stack.Faults), for fault injection.
	Faults bool
}

// limitsOff are the settings that switch every limit off.
var limitsOff = map[string]map[string]string{
	"prism-api": {
		"PRISM_LIMIT_COMMANDS_PER_USER": "off", "PRISM_QUOTA_COMMANDS_PER_USER": "off", "PRISM_LIMIT_QUERIES_PER_USER": "off",
		"PRISM_LIMIT_COMMANDS_PER_IP": "off", "PRISM_LIMIT_QUERIES_PER_IP": "off",
	},
	"stream-service": {
		"PRISM_LIMIT_STREAMS_PER_USER": "0", "PRISM_LIMIT_STREAMS_PER_IP": "0", "PRISM_LIMIT_STREAMS_PER_REPLICA": "0",
		"PRISM_LIMIT_STREAM_OPENS_PER_IP": "off",
	},
}

// Stack is a running stack.
type Stack struct {
	// Env is the private Azurite and Redis.
	Env *testenv.Env
	// Mail is the private Mailpit readmodel-updater sends e-mail to.
	Mail *testenv.Mailpit
	// API, Streams and Updater are base URLs (http://127.0.0.1:port).
	API, Streams, Updater string
	// APIOps and StreamsOps are the ops ports of prism-api and
	// stream-service: /metrics and /readyz with details.
	APIOps, StreamsOps string
	// Logs is the directory holding each process's log (removed by Stop).
	Logs string
	// Faults are the processes' proxies to Azurite and Redis (nil unless
	// Options.Faults).
	Faults *Faults

	opts  Options
	bin   string
	mu    sync.Mutex
	procs map[string]*Process
	// domainPort is the first replica's port, chosen before prism-api
	// starts (its operations console reaches that replica's inspector).
	domainPort int
}

// Process is one service process.
type Process struct {
	Name    string
	Service string
	Port    int
	// OpsPort serves /metrics and /readyz details (prism-api and
	// stream-service; 0 for the others, whose one port serves them).
	OpsPort int
	LogPath string
	env     []string
	bin     string
	cmd     *exec.Cmd
	exited  chan struct{}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Build compiles the service binaries (and prismctl) once per process and
// returns their directory.
func Build() (string, error) {
	buildOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "prism-bin-")
		if buildErr != nil {
			return
		}
		for _, s := range append(append([]string{}, Services...), "prismctl") {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, s), "./"+s+"/cmd/"+s)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", s, err, out)
				return
			}
		}
	})
	return buildDir, buildErr
}

// RemoveBuild deletes what Build compiled; call it once the process is done
// with every stack (a TestMain, the end of the bench).
func RemoveBuild() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// RepoRoot finds the directory holding go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

// Start builds (once), starts Azurite, Redis and every service, and waits
// until all of them are ready and the replicas share the shards evenly.
func Start(opts Options) (*Stack, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 2
	}
	bin, err := Build()
	if err != nil {
		return nil, err
	}
	env, err := testenv.StartAccounts(opts.Accounts)
	if err != nil {
		return nil, err
	}
	mail, err := testenv.StartMailpit()
	if err != nil {
		env.Stop()
		return nil, err
	}
	logs, err := os.MkdirTemp("", "prism-stack-logs-")
	if err != nil {
		env.Stop()
		mail.Stop()
		return nil, err
	}
	s := &Stack{Env: env, Mail: mail, Logs: logs, opts: opts, bin: bin, procs: map[string]*Process{}}
	if opts.Faults {
		if s.Faults, err = newFaults(); err != nil {
			s.Stop()
			return nil, err
		}
	}
	// Proxies listen before any service port is picked, so that a port
	// picked free cannot be taken by a proxy before its service binds it.
	names := []string{"prism-api", "stream-service", "readmodel-updater"}
	for i := range opts.Replicas {
		names = append(names, fmt.Sprintf("domain-%d", i+1))
	}
	for _, name := range names {
		if err := s.reserveProxies(name); err != nil {
			s.Stop()
			return nil, err
		}
	}
	ports := map[string]int{}
	for _, p := range []string{"prism-api", "stream-service", "readmodel-updater", "domain-service", "prism-api ops", "stream-service ops"} {
		if ports[p], err = testenv.FreePort(); err != nil {
			s.Stop()
			return nil, err
		}
	}
	s.domainPort = ports["domain-service"]
	s.API = fmt.Sprintf("http://127.0.0.1:%d", ports["prism-api"])
	s.Streams = fmt.Sprintf("http://127.0.0.1:%d", ports["stream-service"])
	s.Updater = fmt.Sprintf("http://127.0.0.1:%d", ports["readmodel-updater"])
	s.APIOps = fmt.Sprintf("http://127.0.0.1:%d", ports["prism-api ops"])
	s.StreamsOps = fmt.Sprintf("http://127.0.0.1:%d", ports["stream-service ops"])
	for _, svc := range []string{"prism-api", "stream-service", "readmodel-updater"} {
		if _, err := s.add(svc, svc, ports[svc], ports[svc+" ops"]); err != nil {
			s.Stop()
			return nil, err
		}
	}
	for i := range opts.Replicas {
		if _, err := s.AddReplica(fmt.Sprintf("domain-%d", i+1)); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := s.WaitReady(60 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.WaitShardsBalanced(60 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// reserveProxies creates a process's proxies (with Options.Faults) ahead of
// its port; add routes the process through them.
func (s *Stack) reserveProxies(name string) error {
	if s.Faults == nil {
		return nil
	}
	_, _, err := s.Faults.route(name, s.Env.ConnString, s.Env.RedisURL)
	return err
}

// AddReplica starts one more domain-service process.
func (s *Stack) AddReplica(name string) (*Process, error) {
	s.mu.Lock()
	port := s.domainPort
	s.domainPort = 0
	s.mu.Unlock()
	if err := s.reserveProxies(name); err != nil {
		return nil, err
	}
	var err error
	if port == 0 {
		if port, err = testenv.FreePort(); err != nil {
			return nil, err
		}
	}
	p, err := s.add(name, "domain-service", port, 0)
	if err != nil {
		return nil, err
	}
	return p, waitReady(p, 60*time.Second)
}

func (s *Stack) add(name, service string, port, opsPort int) (*Process, error) {
	p := &Process{Name: name, Service: service, Port: port, OpsPort: opsPort, LogPath: filepath.Join(s.Logs, name+".log"), bin: filepath.Join(s.bin, service)}
	vars := map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": s.Env.ConnString,
		"REDIS_URL":                       s.Env.RedisURL,
		"PRISM_HTTP_ADDR":                 fmt.Sprintf("127.0.0.1:%d", port),
		"PRISM_DEV_MODE":                  "true",
		"PRISM_LOG_LEVEL":                 "info",
		// Failed deliveries come back after seconds, not the production
		// schedule's minutes: five deliveries, then poison.
		"PRISM_RETRY_SCHEDULE": "1s,2s,4s,8s",
	}
	if opsPort != 0 {
		vars["PRISM_OPS_ADDR"] = fmt.Sprintf("127.0.0.1:%d", opsPort)
	}
	if !s.opts.Limits {
		for k, v := range limitsOff[service] {
			vars[k] = v
		}
	}
	if len(s.Env.Accounts) > 1 {
		vars["PRISM_STORAGE_ACCOUNTS"] = strings.Join(s.Env.Accounts, ",")
	}
	if service == "prism-api" {
		vars["PRISM_STREAMS_URL"] = s.Streams
		vars["PRISM_DOMAIN_SERVICE_URL"] = fmt.Sprintf("http://127.0.0.1:%d", s.domainPort)
		vars["PRISM_READMODEL_UPDATER_URL"] = s.Updater
	}
	if service == "stream-service" {
		vars["PRISM_CORS_ORIGINS"] = s.API // the storefront's origin
	}
	if service == "readmodel-updater" {
		vars["PRISM_SMTP_ADDR"] = s.Mail.SMTPAddr
		vars["PRISM_PUBLIC_URL"] = s.API
	}
	for k, v := range s.opts.Env {
		vars[k] = v
	}
	for k, v := range s.opts.ServiceEnv[service] {
		vars[k] = v
	}
	if s.Faults != nil {
		upstreamRedis := vars["REDIS_URL"]
		conn, redisURL, err := s.Faults.route(name, vars["AZURE_STORAGE_CONNECTION_STRING"], upstreamRedis)
		if err != nil {
			return nil, err
		}
		vars["AZURE_STORAGE_CONNECTION_STRING"], vars["REDIS_URL"] = conn, redisURL
		if accs := vars["PRISM_STORAGE_ACCOUNTS"]; accs != "" {
			// Every account through proxies too: the primary through the
			// process's own, account i through "<process>-account<i>-…".
			parts := strings.Split(accs, ",")
			for i, cs := range parts {
				proc := name
				if i > 0 {
					proc = fmt.Sprintf("%s-account%d", name, i+1)
				}
				if parts[i], _, err = s.Faults.route(proc, cs, upstreamRedis); err != nil {
					return nil, err
				}
			}
			vars["PRISM_STORAGE_ACCOUNTS"] = strings.Join(parts, ",")
		}
	}
	p.env = os.Environ()
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.env = append(p.env, k+"="+vars[k])
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return p, nil
}

// Prismctl runs the prismctl CLI against the stack and returns its output.
func (s *Stack) Prismctl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.bin, "prismctl"), append([]string{"--api", s.API, "--streams", s.Streams, "--updater", s.Updater}, args...)...)
	cmd.Env = append(os.Environ(), "AZURE_STORAGE_CONNECTION_STRING="+s.Env.ConnString, "PRISM_STORAGE_ACCOUNTS="+strings.Join(s.Env.Accounts, ","))
	for _, k := range []string{"PRISM_COMMAND_SHARDS", "PRISM_COMMANDS_QUEUE"} {
		if v, ok := s.opts.Env[k]; ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Process returns a process by name ("prism-api", "domain-1", …).
func (s *Stack) Process(name string) *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

// Replicas returns the domain-service processes.
func (s *Stack) Replicas() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Process
	for _, p := range s.procs {
		if p.Service == "domain-service" {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WaitReady waits until every process's /readyz answers 200.
func (s *Stack) WaitReady(timeout time.Duration) error {
	s.mu.Lock()
	procs := make([]*Process, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		if err := waitReady(p, timeout); err != nil {
			return fmt.Errorf("%s: %w (log: %s)", p.Name, err, p.LogPath)
		}
	}
	return nil
}

// Stop terminates every service, then Azurite and Redis.
func (s *Stack) Stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = map[string]*Process{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.Terminate(10 * time.Second) }()
	}
	wg.Wait()
	if s.Faults != nil {
		s.Faults.close()
	}
	if s.Env != nil {
		s.Env.Stop()
	}
	if s.Mail != nil {
		s.Mail.Stop()
	}
	_ = os.RemoveAll(s.Logs)
}

// Pid is the process id (0 when it is not running).
func (p *Process) Pid() int {
	if p.cmd == nil || p.cmd.Process == nil || p.Exited() {
		return 0
	}
	return p.cmd.Process.Pid
}

// StopReplica terminates a domain-service process gracefully and forgets it.
func (s *Stack) StopReplica(name string) {
	s.mu.Lock()
	p := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if p != nil {
		p.Terminate(30 * time.Second)
	}
}

// URL is the process's base URL.
func (p *Process) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.Port) }

// OpsURL is where the process serves /metrics and /readyz with details:
// its ops port, or its one port for the services without ingress.
func (p *Process) OpsURL() string {
	if p.OpsPort != 0 {
		return "http://127.0.0.1:" + strconv.Itoa(p.OpsPort)
	}
	return p.URL()
}

// Start (re)starts the process, appending to its log.
func (p *Process) Start() error {
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(p.exited) }()
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// Terminate sends SIGTERM and waits up to grace before killing.
func (p *Process) Terminate(grace time.Duration) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.Kill()
	}
}

// Restart kills the process and starts it again, waiting until it is ready.
func (p *Process) Restart() error {
	p.Kill()
	if err := p.Start(); err != nil {
		return err
	}
	return waitReady(p, 60*time.Second)
}

// Reload stops the process gracefully (a domain-service replica hands its
// shards over at once) and starts it again, waiting until it is ready.
func (p *Process) Reload() error {
	p.Terminate(30 * time.Second)
	if err := p.Start(); err != nil {
		return err
	}
	return waitReady(p, 60*time.Second)
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func waitReady(p *Process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz answered %d", res.StatusCode)
		} else {
			last = err
		}
		if p.Exited() {
			// It will not get ready (a port taken, a bad setting): say so
			// now, not after the timeout.
			return fmt.Errorf("%s exited before it was ready (log: %s)", p.Name, p.LogPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
