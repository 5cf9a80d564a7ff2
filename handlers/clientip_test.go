package handlers

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxies trusted: the peer", "198.51.100.9:5000", []string{"203.0.113.7"}, nil, "198.51.100.9"},
		{"untrusted peer's header ignored", "198.51.100.9:5000", []string{"203.0.113.7"}, proxies, "198.51.100.9"},
		{"trusted peer: the client it names", "10.1.2.3:5000", []string{"203.0.113.7"}, proxies, "203.0.113.7"},
		{"a spoofed entry on the left is not believed", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.7"}, proxies, "203.0.113.7"},
		{"two trusted proxies", "10.1.2.3:5000", []string{"203.0.113.7, 10.9.9.9"}, proxies, "203.0.113.7"},
		{"several header lines", "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.7"}, proxies, "203.0.113.7"},
		{"garbage ends at the last trusted hop", "10.1.2.3:5000", []string{"203.0.113.7, nonsense"}, proxies, "10.1.2.3"},
		{"no header: the proxy itself", "10.1.2.3:5000", nil, proxies, "10.1.2.3"},
		{"IPv6 peer trusted", "[::1]:5000", []string{"2001:db8::5"}, proxies, "2001:db8::5"},
		{"IPv4-mapped", "[::ffff:198.51.100.9]:5000", nil, nil, "198.51.100.9"},
		{"entry with a port", "10.1.2.3:5000", []string{"203.0.113.7:4711"}, proxies, "203.0.113.7"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, tt.trusted); got.String() != tt.want {
			t.Errorf("%s: clientIP(%s, %q) = %s, want %s", tt.name, tt.remote, tt.xff, got, tt.want)
		}
	}
	for addr, want := range map[string]string{
		"203.0.113.7": "203.0.113.7", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "": "unknown",
	} {
		a, _ := netip.ParseAddr(addr)
		if got := clientKey(a); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
