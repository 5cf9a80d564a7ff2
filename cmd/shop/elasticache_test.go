package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
)

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// journey signs up, fills a cart and checks out; it returns the order page's path.
func journey(t *testing.T, base, email string) string {
	t.Helper()
	b := newBrowser(t, base)
	if st, _, body := b.do(http.MethodPost, "/register", url.Values{"email": {email}, "name": {"Tess"}, "password": {"a fine long password"}}); st != 303 {
		t.Fatalf("register = %d: %.300s", st, body)
	}
	for _, id := range []string{"1", "2"} {
		if st, _, body := b.do(http.MethodPost, "/cart/items", url.Values{"product_id": {id}, "quantity": {"2"}}); st != 303 {
			t.Fatalf("add %s = %d: %.300s", id, st, body)
		}
	}
	st, loc, body := b.do(http.MethodPost, "/checkout", nil)
	if st != 303 || !strings.HasPrefix(loc, "/orders/") {
		t.Fatalf("checkout = %d to %q: %.300s", st, loc, body)
	}
	if st, _, body := b.do(http.MethodGet, loc, nil); st != 200 || !strings.Contains(body, "White Hanging Heart") {
		t.Fatalf("order page = %d", st)
	}
	return loc
}

func TestTLSAndAuthJourney(t *testing.T) {
	files := testenv.NewTLSFiles(t)
	_, tlsPort := testenv.StartRedisTLS(t, files, "s3cret-token")
	base := startShop(t, map[string]string{
		"SHOP_DATABASE_URL":  testenv.SeededDBURL(t),
		"SHOP_REDIS_URL":     fmt.Sprintf("rediss://:s3cret-token@127.0.0.1:%d/0", tlsPort),
		"SHOP_REDIS_CA_FILE": files.CA,
		"SHOP_SEED":          "false",
	})
	journey(t, base, "tls@example.com")

	// Mistakes stop start-up with a message that says what to fix.
	for _, tc := range []struct {
		name, url, ca, want string
	}{
		{"wrong token", fmt.Sprintf("rediss://:wrong@127.0.0.1:%d/0", tlsPort), files.CA, "refused the credentials"},
		{"TLS missing", fmt.Sprintf("redis://:s3cret-token@127.0.0.1:%d/0", tlsPort), "", "TLS required?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SHOP_DATABASE_URL": testenv.SeededDBURL(t), "SHOP_REDIS_URL": tc.url,
				"SHOP_SEED": "false", "SHOP_ADDR": "127.0.0.1:0"}
			if tc.ca != "" {
				env["SHOP_REDIS_CA_FILE"] = tc.ca
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, []string{"shop", "serve"}, envFrom(env), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("start-up = %v, want an error saying %q without the token", err, tc.want)
			}
		})
	}
}

// TestFailover swaps a primary and its replica behind a proxy that, like ElastiCache's
// primary endpoint, sends new connections to the new primary while open ones stay with the
// old one, which now answers writes with READONLY. Sign-in (the session) and
// the cart (go-redis) must write again within 5 s, and the session made before the failover
// must survive it (it was replicated).
func TestFailover(t *testing.T) {
	group := testenv.StartReplicated(t)
	ctx := context.Background()
	base := startShop(t, map[string]string{
		"SHOP_DATABASE_URL":     testenv.SeededDBURL(t),
		"SHOP_REDIS_URL":        "redis://" + group.Endpoint.Addr() + "/0",
		"SHOP_REDIS_KEY_PREFIX": "fo:",
		"SHOP_SEED":             "false",
	})
	b := newBrowser(t, base)
	if st, _, _ := b.do(http.MethodPost, "/register", url.Values{"email": {"fo@example.com"}, "name": {"Failover"}, "password": {"a fine long password"}}); st != 303 {
		t.Fatalf("register = %d", st)
	}
	if st, _, _ := b.do(http.MethodPost, "/cart/items", url.Values{"product_id": {"1"}, "quantity": {"1"}}); st != 303 {
		t.Fatalf("add = %d", st)
	}
	// Busy pages before it: the pool holds many connections, as a live shop's does.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			if resp, err := http.Get(fmt.Sprintf("%s/products/%d", base, i%5+1)); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	// The failover: the replica is promoted, the old primary follows it, the endpoint moves.
	group.FailOver(t)
	start := time.Now()

	waitUntil(t, 5*time.Second, "a cart write and its session save succeed after the failover", func() bool {
		st, _, _ := b.do(http.MethodPost, "/cart/items", url.Values{"product_id": {"2"}, "quantity": {"1"}})
		return st == 303
	})
	t.Logf("writes recovered %v after the failover", time.Since(start).Round(time.Millisecond))
	st, _, body := b.do(http.MethodGet, "/account", nil)
	if st != 200 || !strings.Contains(body, "fo@example.com") {
		t.Errorf("after the failover /account = %d: the session made before it is lost", st)
	}
	if st, _, body := b.do(http.MethodGet, "/cart", nil); st != 200 || !strings.Contains(body, `action="/cart/items/1"`) {
		t.Errorf("after the failover the cart lost its first line (%d)", st)
	}
	// Pipelines and MULTI/EXEC too (cache.Guard drops the connections that said READONLY or
	// EXECABORT): a quantity change, a counted view, a checkout that reaches the board.
	waitUntil(t, 10*time.Second, "a cart quantity change (MULTI/EXEC) succeeds after the failover", func() bool {
		st, _, _ := b.do(http.MethodPost, "/cart/items/2", url.Values{"quantity": {"3"}})
		return st == 303
	})
	unitsBefore := group.R.ZScore(ctx, "fo:lb:{bestsellers}:all", "1").Val()
	waitUntil(t, 10*time.Second, "a product view is counted (pipeline) after the failover", func() bool {
		before := group.R.HGet(ctx, "fo:views:pending", "3").Val()
		if st, _, _ := b.do(http.MethodGet, "/products/3", nil); st != 200 {
			return false
		}
		return group.R.HGet(ctx, "fo:views:pending", "3").Val() != before
	})
	journey(t, base, "after@example.com") // sign-up, cart, checkout: all on the new primary
	waitUntil(t, 10*time.Second, "the checkout after the failover reaches the leaderboard", func() bool {
		return group.R.ZScore(ctx, "fo:lb:{bestsellers}:all", "1").Val() >= unitsBefore+2
	})
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisAppearsAfterStart starts the shop with nothing listening on its Redis port: it
// serves from Postgres, says "degraded", and picks Redis up when it appears, without a
// restart.
func TestRedisAppearsAfterStart(t *testing.T) {
	srv := testenv.NewRedisServer(t, testenv.FreePort(t))
	dbURL := testenv.SeededDBURL(t)
	base := startShop(t, map[string]string{
		"SHOP_DATABASE_URL": dbURL,
		"SHOP_REDIS_URL":    srv.URL(),
		"SHOP_SEED":         "false",
	})
	b := newBrowser(t, base)
	if st, _, body := b.do(http.MethodGet, "/readyz", nil); st != 200 || !strings.Contains(body, `"redis":"degraded"`) {
		t.Errorf("/readyz without Redis = %d %s, want 200 with redis degraded", st, body)
	}
	if st, _, body := b.do(http.MethodGet, "/products/1", nil); st != 200 || !strings.Contains(body, "White Hanging Heart") {
		t.Fatalf("product page without Redis = %d", st)
	}
	if st, _, body := b.do(http.MethodPost, "/register", url.Values{"email": {"early@example.com"}, "name": {"E"}, "password": {"a fine long password"}}); st != 503 || strings.Contains(body, "Welcome") {
		t.Errorf("sign-up without Redis = %d, want a 503 page without a welcome", st)
	}
	var accounts int
	testenv.Pool(t, dbURL).QueryRow(context.Background(), `SELECT count(*) FROM users WHERE email = 'early@example.com'`).Scan(&accounts)
	if accounts != 0 {
		t.Error("a sign-up refused with 503 left an account behind")
	}

	srv.Start()
	start := time.Now()
	defer func() {
		t.Logf("Redis picked up and the journey done %v after it started", time.Since(start).Round(time.Millisecond))
	}()
	waitUntil(t, 10*time.Second, "the shop picks Redis up", func() bool {
		st, _, body := b.do(http.MethodGet, "/readyz", nil)
		return st == 200 && strings.Contains(body, `"redis":"ok"`)
	})
	waitUntil(t, 10*time.Second, "product pages are cached again", func() bool {
		resp, err := http.Get(base + "/products/3")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return strings.HasPrefix(resp.Header.Get("X-Cache"), "HIT")
	})
	t.Logf("cache hits again %v after Redis started", time.Since(start).Round(time.Millisecond))
	journey(t, base, "late@example.com")
}
