package handlers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
)

func xcache(t *testing.T, s *shopper, path string) (string, response) {
	t.Helper()
	r := s.get(path)
	return r.header.Get("X-Cache"), r
}

func TestXCacheAndServedBar(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	if got, r := xcache(t, s, "/products/1"); got != "MISS" || !strings.Contains(r.body, "product:1 ← Postgres") {
		t.Errorf("first GET /products/1: X-Cache %q, want MISS and the bar naming Postgres", got)
	}
	got, r := xcache(t, s, "/products/1")
	if got != "HIT-REDIS" || !strings.Contains(r.body, "product:1 ← Redis (TTL") {
		t.Errorf("second GET /products/1: X-Cache %q, want HIT-REDIS and the bar naming Redis with its TTL", got)
	}
	if !strings.Contains(r.body, "Postgres queries: <b>0</b>") {
		t.Error("a Redis hit still queried Postgres")
	}
	if got, _ := xcache(t, s, "/products/999999"); got != "MISS" {
		t.Errorf("unknown product: X-Cache %q, want MISS", got)
	}
	if got, _ := xcache(t, s, "/products/999999"); got != "HIT-REDIS" {
		t.Errorf("unknown product again: X-Cache %q, want HIT-REDIS (negative caching)", got)
	}

	s.register("xena@example.com", "Xena", "a fine long password")
	first, _ := xcache(t, s, "/account")
	second, _ := xcache(t, s, "/account")
	if first != "HIT-REDIS" && first != "MISS" || second != "HIT-REDIS" {
		t.Errorf("GET /account twice: X-Cache %q then %q, want a hit the second time", first, second)
	}
	// Delete-on-write: the profile change is seen at once.
	expect(t, "update profile", s.post("/account", url.Values{"name": {"Xena W."}, "address": {"2 Low St"}}), http.StatusSeeOther)
	if n := shop.rdb.Exists(context.Background(), shop.prefix+"user:"+userID(t, shop, "xena@example.com")).Val(); n != 0 {
		t.Error("user:{id} still cached after the profile changed")
	}
	got, r = xcache(t, s, "/account")
	if got != "MISS" || !strings.Contains(r.body, "Xena W.") {
		t.Errorf("after the change: X-Cache %q, want MISS showing the new name", got)
	}
}

func userID(t *testing.T, shop *testShop, email string) string {
	t.Helper()
	var id string
	if err := shop.pool.QueryRow(context.Background(), `SELECT id::text FROM users WHERE email = $1`, email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestColdProductOneLoad sends 500 concurrent requests for a product nobody has read, to one
// instance and then to two sharing Redis, and counts what reached Postgres.
func TestColdProductOneLoad(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	_, prefix := testenv.Redis(t)
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) {
			var shops []*testShop
			queries := testenv.NewQueries()
			for range n {
				shops = append(shops, newShop(t, dbURL, withPrefix(prefix), withQueries(queries)))
			}
			path := fmt.Sprintf("/products/%d", 100+n)
			queries.Reset()
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 500 {
				wg.Go(func() {
					<-start
					resp, err := http.Get(shops[i%n].URL + path)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("GET %s = %d", path, resp.StatusCode)
					}
				})
			}
			close(start)
			wg.Wait()
			// One load of a product page is two statements: the product and its reviews.
			for _, st := range shops[0].Cache.Stats() {
				if st.Errors > 0 || st.Bypasses > 0 {
					t.Logf("cache %s: %d errors, %d bypasses under the burst", st.Name, st.Errors, st.Bypasses)
				}
			}
			products, reviews := queries.Matching("FROM products p WHERE p.id = $1"), queries.Matching("FROM reviews")
			if products != 1 || reviews != 1 {
				t.Errorf("500 concurrent cold reads on %d instance(s) loaded the product %d times and its reviews %d times, want 1 and 1",
					n, products, reviews)
			}
			// The page's view count reads the flushed total: once per instance at most.
			views := queries.Matching("product_views")
			if views > n {
				t.Errorf("the flushed view total was read %d times by %d instance(s), want at most one each", views, n)
			}
			if other := queries.Total() - int64(products+reviews+views); other != 0 {
				t.Errorf("%d other statements reached Postgres", other)
			}
		})
	}
}

func TestUnknownIDsReachPostgresOnce(t *testing.T) {
	queries := testenv.NewQueries()
	shop := newShop(t, testenv.SeededDBURL(t), withQueries(queries))
	ids := map[int]bool{}
	queries.Reset()
	for range 1000 {
		id := 1_000_000 + rand.IntN(300)
		ids[id] = true
		resp, err := http.Get(fmt.Sprintf("%s/products/%d", shop.URL, id))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown id %d = %d, want 404", id, resp.StatusCode)
		}
	}
	if got := queries.Total(); got != int64(len(ids)) {
		t.Errorf("1000 requests for %d distinct unknown ids sent %d statements, want %d (each id once)", len(ids), got, len(ids))
	}
}

func TestRedisAwayThenBack(t *testing.T) {
	srv := testenv.StartRedis(t)
	queries := testenv.NewQueries()
	shop := newShop(t, testenv.SeededDBURL(t), withRedis(srv.URL()), withQueries(queries))
	s := newShopper(t, shop.URL)
	if got, _ := xcache(t, s, "/products/1"); got != "MISS" {
		t.Fatalf("X-Cache %q, want MISS", got)
	}

	srv.Stop()
	queries.Reset()
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			resp, err := http.Get(shop.URL + "/products/1")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Cache") != "BYPASS" {
				t.Errorf("with Redis down: %d, X-Cache %q; want 200 BYPASS", resp.StatusCode, resp.Header.Get("X-Cache"))
			}
		})
	}
	wg.Wait()
	if got := queries.MaxInFlight(); got > 1 {
		t.Errorf("with Redis down, %d statements ran at once; singleflight should let one load of the product run at a time", got)
	}
	expect(t, "home with Redis down", s.get("/"), http.StatusOK)

	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := xcache(t, s, "/products/1")
		if got == "HIT-REDIS" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HIT-REDIS within 5 s of Redis coming back (last %q)", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMetricsAndLab(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	s.get("/products/3")
	s.get("/products/3")
	s.get("/products")
	expect(t, "/metrics on the shop's port", s.get("/metrics"), http.StatusNotFound)
	metrics := httptest.NewServer(shop.Metrics.Handler()) // cmd/shop serves it on SHOP_METRICS_ADDR
	t.Cleanup(metrics.Close)
	r := newShopper(t, metrics.URL).get("/metrics")
	for _, want := range []string{
		`shop_cache_requests_total{cache="product",result="miss"} `,
		`shop_cache_requests_total{cache="product",result="hit_redis"} `,
		`shop_cache_requests_total{cache="list",result="miss"} `,
		`shop_cache_loads_total{cache="product"} `,
		`shop_db_queries_total `,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	expect(t, "lab", s.get("/lab"), http.StatusOK, "<b>product</b>", "<b>list</b>", "hit ratio", "300 s ± 10 %")
}

// TestColdTopListFewLoads sends 200 concurrent home pages while the cached top list
// (lb:{bestsellers}:top) is cold, to one instance and then to two sharing Redis, and counts
// the leaderboard's Postgres query for the names and prices of the bestsellers: singleflight
// in each process and a lease across them keep it to one computation (a computation may
// take two queries when non-merchandise codes push the list past its first cut).
func TestColdTopListFewLoads(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	_, prefix := testenv.Redis(t)
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) {
			var shops []*testShop
			queries := testenv.NewQueries()
			for range n {
				shops = append(shops, newShop(t, dbURL, withPrefix(prefix), withQueries(queries)))
			}
			ctx := context.Background()
			if ok, err := shops[0].Board.Exists(ctx); err != nil {
				t.Fatal(err)
			} else if !ok {
				if _, err := shops[0].Board.Rebuild(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := shops[0].Board.ForgetLists(ctx); err != nil { // cold
				t.Fatal(err)
			}
			queries.Reset()
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 200 {
				wg.Go(func() {
					<-start
					resp, err := http.Get(shops[i%n].URL + "/")
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("GET / = %d", resp.StatusCode)
					}
				})
			}
			close(start)
			wg.Wait()
			const bestsellerSQL = "SELECT id, name, price, currency, merchandise FROM products WHERE id = ANY"
			if got := queries.Matching(bestsellerSQL); got > 2*n || got == 0 {
				t.Errorf("200 concurrent home pages with the top list cold on %d instance(s) ran the bestseller query %d times, want 1 to %d",
					n, got, 2*n)
			}
		})
	}
}
