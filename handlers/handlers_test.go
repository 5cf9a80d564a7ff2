package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/ratelimit"
)

// testShop is the shop as app.New assembles it — router, templates, caches, catalog,
// accounts, carts, checkout and Redis sessions — served by httptest over a test database and
// a Redis key space of the test's own.
type testShop struct {
	*httptest.Server
	*app.App
	pool   *pgxpool.Pool // the shop's own pool
	rdb    *redis.Client // a client of the test Redis, for the test's own looks
	prefix string        // the shop's Redis key prefix
}

// option changes the configuration of a test shop.
type option func(*app.Config)

// withL1 gives the shop a near cache (test shops have none by default).
func withL1(l1 cache.L1Options) option { return func(c *app.Config) { c.L1 = l1 } }

// withRedis points the shop at the Redis at url.
func withRedis(url string) option { return func(c *app.Config) { c.RedisURL = url } }

// withPrefix makes the shop share a key prefix (and so its Redis data) with another shop.
func withPrefix(prefix string) option { return func(c *app.Config) { c.RedisKeyPrefix = prefix } }

// withQueries counts the shop's Postgres statements in q.
func withQueries(q *testenv.Queries) option { return func(c *app.Config) { c.QueryTracer = q } }

// newShop serves the database at dbURL (already migrated and seeded) with the test Redis.
func newShop(t *testing.T, dbURL string, opts ...option) *testShop {
	t.Helper()
	return buildShop(t, dbURL, false, opts...)
}

func buildShop(t testing.TB, dbURL string, startAll bool, opts ...option) *testShop {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	cfg := app.Defaults(dbURL, testenv.RedisURL())
	cfg.Seed = false
	cfg.RedisKeyPrefix = prefix
	cfg.L1 = cache.L1Options{}
	cfg.Instance = t.Name()
	cfg.BcryptCost = bcrypt.MinCost
	// Many sign-ins from one address: limits are off unless a test is about them (withLimits).
	cfg.LoginLimitAccount, cfg.LoginLimitIP, cfg.SignupLimitIP = ratelimit.Limit{}, ratelimit.Limit{}, ratelimit.Limit{}
	// A call timeout and a lease wait longer than the shop's: 500 concurrent requests on two
	// cores under the race detector queue for Redis connections and CPU, and these tests are
	// about the protocol, not about timeouts.
	cfg.RedisCallTimeout, cfg.LeaseWait = 3*time.Second, 3*time.Second
	for _, o := range opts {
		o(&cfg)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(testLogs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	if startAll {
		a.Start(context.Background())
		t.Cleanup(func() { a.Stop(context.Background()) }) // before srv.Close: ends open streams
		return &testShop{Server: srv, App: a, pool: a.Pool, rdb: rdb, prefix: cfg.RedisKeyPrefix}
	}
	// The live bestseller stream; the other background work (repair, flusher, listeners) is
	// started by the tests that are about it.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Live.Run(ctx) }()
	t.Cleanup(func() { a.Live.Close(); cancel(); <-done }) // before srv.Close: ends open streams
	t.Cleanup(func() {                                     // the Lab's experiments end (and undo their changes) before the rest closes
		a.LabCollector.Close()
		if err := a.LabRunner.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &testShop{Server: srv, App: a, pool: a.Pool, rdb: rdb, prefix: cfg.RedisKeyPrefix}
}

// newStartedShop is newShop with all of the shop's background work running (App.Start):
// the Postgres listener, the view batches and flushes, the invalidation bus.
func newStartedShop(t testing.TB, dbURL string, opts ...option) *testShop {
	t.Helper()
	return buildShop(t, dbURL, true, opts...)
}

// downRedisURL is the URL of a port where nothing listens.
const downRedisURL = "redis://127.0.0.1:1/0"

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestPages(t *testing.T) {
	srv := newShop(t, testenv.SeededDBURL(t))
	var heartID string
	if err := srv.pool.QueryRow(context.Background(), `SELECT id::text FROM products WHERE sku = '85123A'`).Scan(&heartID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"Featured today", "Bestsellers", "Popcorn Holder", "How this page was served", "Postgres queries"}},
		{"/products", 200, []string{"All products", "Page 1 of 163", `href="/products?page=2"`, `aria-label="Page 163, last"`}},
		{"/products?page=163", 200, []string{"Page 163 of 163", `rel="prev"`}},
		{"/products/" + heartID, 200, []string{"White Hanging Heart T-Light Holder", "£2.95", "85123A", "in stock", "UK online gift wholesaler"}},
		{"/search?q=heart", 200, []string{"Search: “heart”", "White Hanging Heart T-Light Holder", `value="heart"`}},
		{"/search?q=hanging+hearts", 200, []string{"White Hanging Heart T-Light Holder"}},
		{"/search?q=zzzzqqq", 200, []string{"0 matches", "Nothing matched"}},
		{"/search", 200, []string{"Type a word or two"}},
		{"/healthz", 200, []string{"ok"}},
		{"/readyz", 200, []string{`"postgres":"ok"`, `"redis":"ok"`}},
		{"/static/shop.css", 200, []string{".served"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body, h := get(t, srv.URL+tt.path)
			if status != tt.status {
				t.Fatalf("GET %s = %d, want %d", tt.path, status, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q", tt.path, w)
				}
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no X-Content-Type-Options header", tt.path)
			}
		})
	}
}

func TestCategoriesWithDummyJSON(t *testing.T) {
	dbURL := testenv.EmptyDB(t)
	srv := newShop(t, dbURL) // migrates the empty database
	loadDummyJSON(t, srv.pool)
	status, body, _ := get(t, srv.URL+"/products?category=smartphones")
	if status != 200 || !strings.Contains(body, "iPhone") || strings.Contains(body, "Mascara") {
		t.Errorf("GET /products?category=smartphones = %d, want 200 listing phones only", status)
	}
	if !strings.Contains(body, `href="/products?category=kitchen%20accessories"`) {
		t.Errorf("category links are missing or not escaped")
	}
	status, body, _ = get(t, srv.URL+"/products/1")
	if status != 200 || !strings.Contains(body, "Reviews") || !strings.Contains(body, "$9.99") {
		t.Errorf("GET /products/1 = %d; want 200 with reviews and $9.99", status)
	}
	if status, _, _ := get(t, srv.URL+"/products?category=no-such-thing"); status != 404 {
		t.Errorf("unknown category = %d, want 404", status)
	}
}

func TestBadInput(t *testing.T) {
	pool := testenv.SeededDBURL(t)
	srv := newShop(t, pool)
	long := strings.Repeat("a", 10_000)
	tests := []struct {
		path   string
		status int
	}{
		{"/products?page=-1", 400},
		{"/products?page=0", 400},
		{"/products?page=abc", 400},
		{"/products?page=99999999999999999999", 400},
		{"/products?page=1.5", 400},
		{"/products?page=164", 404},
		{"/products?page=%zz", 400},
		{"/products?category=%ff", 400},
		{"/products/0", 400},
		{"/products/-3", 400},
		{"/products/abc", 400},
		{"/products/007", 400},
		{"/products/99999999999999999999", 400},
		{"/products/999999", 404},
		{"/search?q=" + long, 400},
		{"/search?q=%ff%fe", 400},
		{"/search?q=heart&page=abc", 400},
		{"/search?q=heart&page=99", 404},
		{"/search?q=zzzzqqq&page=2", 404},
		{"/no/such/page", 404},
		{"/search?q=%00", 400},
		{"/search?q=heart%00", 400},
		{"/products?category=%00", 400},
		{"/static/nope.css", 404},
		{"/static/", 404},
	}
	for _, tt := range tests {
		name := tt.path
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			status, body, h := get(t, srv.URL+tt.path)
			if status != tt.status {
				t.Errorf("GET %s = %d, want %d", name, status, tt.status)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "Back to the shop") {
				t.Errorf("GET %s: not the error page: %.200s", name, body)
			}
			for _, leak := range []string{"catalog:", "pgx", "strconv", "goroutine"} {
				if strings.Contains(body, leak) {
					t.Errorf("GET %s: page leaks %q", name, leak)
				}
			}
		})
	}
}

func TestWrongMethod(t *testing.T) {
	srv := newShop(t, testenv.SeededDBURL(t))
	for _, path := range []string{"/", "/products", "/products/1", "/search", "/cart", "/orders"} {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("PUT %s = %d, Allow %q, %s; want 405 with Allow and the error page", path, resp.StatusCode,
				resp.Header.Get("Allow"), resp.Header.Get("Content-Type"))
		}
	}
	if status, body, _ := get(t, srv.URL+"/search?q=%20%20%20"); status != 200 || !strings.Contains(body, "Type a word or two") {
		t.Errorf("a search of spaces = %d, want the empty search page", status)
	}
}

func TestDependencyDown(t *testing.T) {
	// Real clients pointed at a port where nothing listens.
	// Postgres behind a proxy that the test cuts once the shop is up; Redis nowhere.
	dbURL := testenv.SeededDBURL(t)
	proxy := testenv.NewProxy(t, "127.0.0.1:5432")
	srv := newShop(t, strings.Replace(dbURL, "127.0.0.1:5432", proxy.Addr(), 1), withRedis(downRedisURL))
	proxy.Cut()

	for _, path := range []string{"/", "/products", "/products/1", "/search?q=heart"} {
		status, body, _ := get(t, srv.URL+path)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "briefly unavailable") {
			t.Errorf("GET %s with Postgres down = %d, want 503 with the unavailable page", path, status)
		}
	}
	status, body, _ := get(t, srv.URL+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"postgres":"down"`) || !strings.Contains(body, `"redis":"degraded"`) {
		t.Errorf("GET /readyz = %d %s, want 503 naming postgres down and redis degraded", status, body)
	}
	if status, _, _ := get(t, srv.URL+"/healthz"); status != 200 {
		t.Errorf("GET /healthz = %d, want 200 while dependencies are down", status)
	}
}

func TestReadyzNamesRedis(t *testing.T) {
	srv := newShop(t, testenv.SeededDBURL(t), withRedis(downRedisURL))
	status, body, _ := get(t, srv.URL+"/readyz")
	if status != 200 || !strings.Contains(body, `"postgres":"ok"`) || !strings.Contains(body, `"redis":"degraded"`) {
		t.Errorf("GET /readyz = %d %s, want 200 with postgres ok and redis degraded: the shop serves without Redis", status, body)
	}
}

var testLogs = func() io.Writer {
	if os.Getenv("SHOP_TEST_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}()
