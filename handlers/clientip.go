package handlers

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address of the client that sent r. It is the peer's address
// (RemoteAddr), unless the peer is a trusted proxy (a load balancer): then it is the
// right-most address of X-Forwarded-For that is not itself a trusted proxy, since each
// proxy appends the address it received the request from and only the right-most entries
// were written by proxies we trust — the ones to their left are whatever the client sent.
// An entry that is not an address ends the walk at the last address that was trusted.
// IPv4-mapped IPv6 addresses are returned as IPv4.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := peerAddr(strings.TrimSpace(hops[i]))
		if !hop.IsValid() {
			return addr
		}
		addr = hop
		if !isTrusted(addr, trusted) {
			return addr
		}
	}
	return addr
}

// peerAddr parses "ip", "ip:port" or "[ipv6]:port"; the zero Addr when it is none of these.
func peerAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientKey is what the per-client rate limits count by: an IPv4 address, or the /64 of an
// IPv6 address — one subscriber usually holds a whole /64 (RFC 6177) and could otherwise
// take a fresh address for every attempt. "unknown" when the address is not known.
func clientKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// overHTTPS reports whether r reached the shop over HTTPS: directly, or through a trusted
// proxy (a load balancer that ends TLS) whose X-Forwarded-Proto says so. A peer that is not
// trusted cannot make a request HTTPS by saying so.
func (s *Server) overHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !isTrusted(peerAddr(r.RemoteAddr), s.proxies) {
		return false
	}
	protos := r.Header.Values("X-Forwarded-Proto")
	if len(protos) == 0 {
		return false
	}
	last := protos[len(protos)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}
