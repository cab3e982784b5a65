package e2e_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Modes of a flakyProxy.
const (
	proxyOnline  = iota // bytes flow both ways
	proxyOffline        // connections are cut and refused: a network that is gone
	proxyLossy          // requests reach the server, answers never come back
)

// flakyProxy is a TCP proxy in front of a service that the test switches
// between online, offline and lossy: a phone's network, as the browser and
// its service worker both see it (DevTools' offline switch does not cover
// the service worker's own fetches).
type flakyProxy struct {
	l      net.Listener
	mu     sync.Mutex
	target string
	mode   int
	conns  map[net.Conn]bool
	lost   []string // request lines whose answers were dropped (lossy)
}

func newFlakyProxy(t *testing.T) *flakyProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &flakyProxy{l: l, conns: map[net.Conn]bool{}}
	go p.accept()
	t.Cleanup(func() { l.Close(); p.setMode(proxyOffline) })
	return p
}

// URL is the proxy's base URL.
func (p *flakyProxy) URL() string { return "http://" + p.l.Addr().String() }

func (p *flakyProxy) setTarget(url string) {
	p.mu.Lock()
	p.target = url[len("http://"):]
	p.mu.Unlock()
}

// setMode switches the network; leaving online cuts every open connection.
func (p *flakyProxy) setMode(m int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m != proxyOnline {
		for c := range p.conns {
			c.Close()
		}
	}
}

// lostRequests are the request lines whose answers were dropped.
func (p *flakyProxy) lostRequests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lost...)
}

func (p *flakyProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *flakyProxy) serve(client net.Conn) {
	p.mu.Lock()
	mode, target := p.mode, p.target
	p.mu.Unlock()
	if mode == proxyOffline || target == "" {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns[client], p.conns[server] = true, true
	p.mu.Unlock()
	var (
		lineMu sync.Mutex
		line   string // the last request line sent on this connection
	)
	done := func() {
		client.Close()
		server.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}
	go func() { // client → server, noting request lines
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if first, _, ok := bytes.Cut(buf[:n], []byte("\r\n")); ok && bytes.Contains(first, []byte(" HTTP/1.")) {
					lineMu.Lock()
					line = string(first)
					lineMu.Unlock()
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done()
	}()
	r := bufio.NewReader(server)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.mu.Lock()
			mode := p.mode
			if mode == proxyLossy {
				lineMu.Lock()
				p.lost = append(p.lost, line)
				lineMu.Unlock()
			}
			p.mu.Unlock()
			if mode != proxyOnline {
				break // the answer is lost on the way
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			if err != io.EOF {
				break
			}
			break
		}
	}
	done()
}
