package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIPs finds the address of the client behind a request. The peer is
// the client unless it is a trusted proxy (the Container Apps ingress, a
// load balancer): then X-Forwarded-For is read from the right, skipping
// trusted proxies, and the first address that is not one is the client.
// Entries further left were written by the client itself and are never
// believed, so a client cannot choose the address it is limited by.
type ClientIPs struct {
	trusted []netip.Prefix
}

// ParseTrustedProxies reads CIDRs (or single addresses) of trusted proxies,
// e.g. "10.0.0.0/8,172.16.0.0/12". None: the peer is always the client.
func ParseTrustedProxies(list []string) (ClientIPs, error) {
	var c ClientIPs
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return ClientIPs{}, fmt.Errorf("%q is neither an address nor a CIDR", s)
			}
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return ClientIPs{}, fmt.Errorf("%q is not a CIDR: %v", s, err)
		}
		c.trusted = append(c.trusted, p.Masked())
	}
	return c, nil
}

func (c ClientIPs) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client's address as text ("" if the peer's address cannot
// be read, which a real connection never gives).
func (c ClientIPs) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	peer = peer.Unmap()
	if !c.isTrusted(peer) {
		return peer.String()
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client.String() // garbage from here on: the last proxy's word is all we have
			}
			client = a.Unmap()
			if !c.isTrusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}
