package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// TestStaleIfErrorWhilePostgresIsDown: with Postgres cut away (a TCP proxy between the shop
// and it), a product page read before the cut is still served after its TTL has passed —
// marked stale in X-Cache and in the footer — while what needs Postgres (a profile update,
// a page never cached) answers 503, never 500.
func TestStaleIfErrorWhilePostgresIsDown(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	proxy := testenv.NewProxy(t, "127.0.0.1:5432")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() != "5432" {
		t.Skipf("the test database is not on 127.0.0.1:5432 (%s)", u.Host)
	}
	u.Host = proxy.Addr()
	shop := newShop(t, u.String(), func(c *app.Config) {
		c.TTL.Product = cache.TTL{Base: time.Second} // expires soon after the cut
		c.TTL.List = cache.TTL{Base: time.Second}
		c.StaleIfError = time.Hour
		c.PGNotify = false
	})
	cached := productIDs(t, shop, 1)[0]
	var uncached int64 // on the listing's last page: never read here
	if err := shop.pool.QueryRow(context.Background(), `SELECT max(id) FROM products WHERE merchandise`).Scan(&uncached); err != nil {
		t.Fatal(err)
	}

	s := newShopper(t, shop.URL)
	s.register("stale@example.com", "Stale Reader", "correct horse battery staple")
	first := s.get("/products/" + itoa(cached))
	expect(t, "GET the product before the cut", first, http.StatusOK)
	name := between(first.body, "<h1>", "</h1>")
	expect(t, "GET the listing before the cut", s.get("/products"), http.StatusOK)

	proxy.Cut()
	// Read it until its TTL has passed: until Redis no longer answers it as a hit.
	var page response
	deadline := time.Now().Add(30 * time.Second)
	for {
		page = s.get("/products/" + itoa(cached))
		if x := page.header.Get("X-Cache"); x != "HIT-REDIS" && x != "HIT-L1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the product, with a TTL of 1s, is still a hit 30s later")
		}
		time.Sleep(20 * time.Millisecond)
	}
	expect(t, "GET the product past its TTL with Postgres down", page, http.StatusOK, name, "product:"+itoa(cached)+" ← stale")
	if got := page.header.Get("X-Cache"); got != "STALE" {
		t.Errorf("X-Cache of the product past its TTL with Postgres down = %q, want STALE", got)
	}
	expect(t, "GET a product never cached, Postgres down", s.get("/products/"+itoa(uncached)), http.StatusServiceUnavailable)
	update := s.post("/account", url.Values{"name": {"New Name"}, "address": {"1 Street"}})
	expect(t, "POST /account (a profile update) with Postgres down", update, http.StatusServiceUnavailable)

	// A listing: its ids, and its products read many at once, past their TTLs.
	deadline = time.Now().Add(30 * time.Second)
	for {
		list := s.get("/products")
		expect(t, "GET the listing with Postgres down", list, http.StatusOK, "All products")
		if strings.Contains(list.body, "list:products::1 ← stale") && staleMany.MatchString(list.body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listing is not served stale 30s after a TTL of 1s; its footer: %.600s",
				list.body[strings.LastIndex(list.body, "How this page was served"):])
		}
		time.Sleep(20 * time.Millisecond)
	}

	proxy.Restore()
	deadline = time.Now().Add(30 * time.Second)
	for {
		// Loaded again and filled over the stale value (same version): then a hit.
		page = s.get("/products/" + itoa(cached))
		if page.status == http.StatusOK && page.header.Get("X-Cache") == "HIT-REDIS" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the product is served %d %s, not yet a hit again, 30s after Postgres came back",
				page.status, page.header.Get("X-Cache"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// staleMany is the footer's line for product pages read many at once, served stale.
var staleMany = regexp.MustCompile(`product ×\d+ ← stale`)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	inner, _, _ := strings.Cut(after, to)
	return strings.TrimSpace(inner)
}
