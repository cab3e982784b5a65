package stack

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/rs/zerolog"

	"github.com/prism-es/prism/shared/testenv"
)

// Faults puts a real Toxiproxy (embedded, one server per test process)
// between every service process and its dependencies: each process reaches
// Azurite's blob, queue and table endpoints and Redis through proxies of its
// own, named "<process>-<dependency>" (e.g. "prism-api-queue",
// "domain-1-redis"), so a test can add latency, cut connections or hold
// responses for one process and one dependency at a time.
type Faults struct {
	client *toxiclient.Client
	prefix string

	mu      sync.Mutex
	proxies map[string]*toxiclient.Proxy
}

var (
	toxiOnce sync.Once
	toxiAddr string
	toxiErr  error
)

// startToxiproxy starts the process's embedded Toxiproxy API server once.
func startToxiproxy() (string, error) {
	toxiOnce.Do(func() {
		port, err := testenv.FreePort()
		if err != nil {
			toxiErr = err
			return
		}
		server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
		go server.Listen("127.0.0.1", strconv.Itoa(port))
		toxiAddr = fmt.Sprintf("127.0.0.1:%d", port)
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", toxiAddr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				toxiErr = fmt.Errorf("toxiproxy did not start: %w", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return toxiAddr, toxiErr
}

var stackSeq struct {
	sync.Mutex
	n int
}

func newFaults() (*Faults, error) {
	addr, err := startToxiproxy()
	if err != nil {
		return nil, err
	}
	stackSeq.Lock()
	stackSeq.n++
	prefix := fmt.Sprintf("s%d", stackSeq.n)
	stackSeq.Unlock()
	return &Faults{client: toxiclient.NewClient("http://" + addr), prefix: prefix, proxies: map[string]*toxiclient.Proxy{}}, nil
}

// Proxy returns the proxy of a process's dependency ("blob", "queue",
// "table" or "redis"), e.g. Proxy("domain-1", "redis").
func (f *Faults) Proxy(process, dependency string) *toxiclient.Proxy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proxies[process+"-"+dependency]
}

// Each calls fn with every proxy of a dependency, for every process.
func (f *Faults) Each(dependency string, fn func(process string, p *toxiclient.Proxy) error) error {
	f.mu.Lock()
	matched := map[string]*toxiclient.Proxy{}
	for name, p := range f.proxies {
		if process, ok := strings.CutSuffix(name, "-"+dependency); ok {
			matched[process] = p
		}
	}
	f.mu.Unlock()
	for process, p := range matched {
		if err := fn(process, p); err != nil {
			return fmt.Errorf("%s-%s: %w", process, dependency, err)
		}
	}
	return nil
}

// Heal removes every toxic and enables every proxy again.
func (f *Faults) Heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, p := range f.proxies {
		toxics, err := p.Toxics()
		if err != nil {
			return err
		}
		for _, t := range toxics {
			if err := p.RemoveToxic(t.Name); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if !p.Enabled {
			if err := p.Enable(); err != nil {
				return err
			}
		}
	}
	return nil
}

// proxy creates (or returns) the proxy of process's dependency to upstream
// (host:port) and returns the address to use instead.
func (f *Faults) proxy(process, dependency, upstream string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := process + "-" + dependency
	if p, ok := f.proxies[name]; ok {
		return p.Listen, nil
	}
	p, err := f.client.CreateProxy(f.prefix+"-"+name, "127.0.0.1:0", upstream)
	if err != nil {
		return "", fmt.Errorf("proxy %s: %w", name, err)
	}
	f.proxies[name] = p
	return p.Listen, nil
}

// endpointPattern finds the host:port of each endpoint in a connection string.
var endpointPattern = regexp.MustCompile(`(Blob|Queue|Table)Endpoint=http://([^/;]+)`)

// route rewrites a process's storage connection string and Redis URL so
// that they go through its proxies.
func (f *Faults) route(process, connString, redisURL string) (string, string, error) {
	var err error
	routed := endpointPattern.ReplaceAllStringFunc(connString, func(m string) string {
		parts := endpointPattern.FindStringSubmatch(m)
		addr, perr := f.proxy(process, strings.ToLower(parts[1]), parts[2])
		if perr != nil {
			err = perr
			return m
		}
		return parts[1] + "Endpoint=http://" + addr
	})
	if err != nil {
		return "", "", err
	}
	u, err := url.Parse(redisURL)
	if err != nil {
		return "", "", err
	}
	addr, err := f.proxy(process, "redis", u.Host)
	if err != nil {
		return "", "", err
	}
	u.Host = addr
	return routed, u.String(), nil
}

// close deletes the stack's proxies.
func (f *Faults) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.proxies {
		_ = p.Delete()
	}
	f.proxies = map[string]*toxiclient.Proxy{}
}
