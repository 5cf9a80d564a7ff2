package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/testenv"
)

// TestHTTPSBehindATrustedProxy: a request that came over HTTPS through a trusted load
// balancer (X-Forwarded-Proto: https) gets a Secure session cookie and HSTS; the same
// header from a peer that is not trusted changes nothing, and plain HTTP gets neither.
func TestHTTPSBehindATrustedProxy(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	trusting := newShop(t, dbURL, withProxies("127.0.0.1/32"))
	untrusting := newShop(t, dbURL)
	for _, tc := range []struct {
		name   string
		shop   *testShop
		proto  string
		secure bool
	}{
		{"https via a trusted proxy", trusting, "https", true},
		{"http via a trusted proxy", trusting, "http", false},
		{"https claimed by an untrusted peer", untrusting, "https", false},
		{"no header", trusting, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"product_id": {"3"}, "quantity": {"1"}}
			req, err := http.NewRequest(http.MethodPost, tc.shop.URL+"/cart/items", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			r := newShopper(t, tc.shop.URL).do(req)
			if r.status != http.StatusSeeOther {
				t.Fatalf("add to cart = %d", r.status)
			}
			var cookie *http.Cookie
			for _, c := range (&http.Response{Header: r.header}).Cookies() {
				if c.Name == "session" {
					cookie = c
				}
			}
			if cookie == nil {
				t.Fatal("no session cookie")
			}
			if cookie.Secure != tc.secure {
				t.Errorf("session cookie Secure = %v, want %v", cookie.Secure, tc.secure)
			}
			hsts := r.header.Get("Strict-Transport-Security")
			if (hsts != "") != tc.secure || tc.secure && !strings.Contains(hsts, "max-age=63072000") {
				t.Errorf("Strict-Transport-Security = %q, want it set: %v", hsts, tc.secure)
			}
		})
	}
}
