package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/alexedwards/scs/redisstore"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/handlers"
	"github.com/shopcache/shop/internal/metrics"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/leaderboard"
	"github.com/shopcache/shop/orders"
	"github.com/shopcache/shop/pageviews"
	"github.com/shopcache/shop/web"
)

// testShop is the real handler stack — router, templates, catalog, accounts, carts, orders
// and Redis sessions — served by httptest over a test database and Redis key space.
type testShop struct {
	*httptest.Server
	pool     *pgxpool.Pool
	rdb      *redis.Client
	prefix   string // the test's Redis key prefix
	cache    *cache.Cache
	products *catalog.Cached
	board    *leaderboard.Board
	live     *leaderboard.Live
}

// newShop serves pool with the test Redis.
func newShop(t *testing.T, pool *pgxpool.Pool) *testShop {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	return newShopWith(t, pool, rdb, testenv.RedisURL(), prefix)
}

// newShopWith serves pool with the Redis at redisURL (rdb is a client of it).
func newShopWith(t *testing.T, pool *pgxpool.Pool, rdb *redis.Client, redisURL, prefix string) *testShop {
	t.Helper()
	return newShopBoardOn(t, pool, rdb, redisURL, prefix, rdb)
}

// newShopBoardOn is newShopWith with the leaderboard on its own client, boardRdb.
func newShopBoardOn(t *testing.T, pool *pgxpool.Pool, rdb *redis.Client, redisURL, prefix string, boardRdb *redis.Client) *testShop {
	t.Helper()
	return buildShop(t, pool, rdb, redisURL, prefix, boardRdb, cache.L1Options{})
}

// newShopL1 is newShop with a near cache.
func newShopL1(t *testing.T, pool *pgxpool.Pool, l1 cache.L1Options) *testShop {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	return buildShop(t, pool, rdb, testenv.RedisURL(), prefix, rdb, l1)
}

func buildShop(t *testing.T, pool *pgxpool.Pool, rdb *redis.Client, redisURL, prefix string, boardRdb *redis.Client, l1 cache.L1Options) *testShop {
	t.Helper()
	templates, err := web.ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	settings, err := redisconn.Parse(redisURL, "")
	if err != nil {
		t.Fatal(err)
	}
	sessionPool := settings.Pool()
	t.Cleanup(func() { sessionPool.Close() })
	store := reqstats.SessionStore{Store: redisstore.NewWithPrefix(sessionPool, prefix+"session:")}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A call timeout and a lease wait longer than the shop's: 500 concurrent requests on two
	// cores under the race detector queue for Redis connections and CPU, and these tests are
	// about the protocol, not about timeouts.
	c := cache.New(rdb, cache.Options{Prefix: prefix, Observer: reqstats.ObserveCache,
		CallTimeout: 3 * time.Second, LeaseWait: 3 * time.Second})
	products := catalog.NewCached(catalog.NewStore(pool), c, cache.DefaultPolicy(), l1, logger)
	board := leaderboard.New(boardRdb, pool, prefix, logger)
	live := leaderboard.NewLive(board, handlers.BestsellerCount)
	counter := pageviews.NewCounter(boardRdb, pool, prefix)
	h := handlers.NewServer(handlers.Options{
		Logger:    logger,
		Templates: templates,
		Sessions:  handlers.NewSessions(store, 30*time.Minute, 24*time.Hour, false),
		Catalog:   products,
		Accounts:  accounts.NewCached(accounts.NewStore(pool, bcrypt.MinCost), c, cache.DefaultPolicy(), l1, logger),
		Carts:     orders.NewCarts(rdb, prefix, 24*time.Hour),
		Orders:    orders.NewStore(pool),
		Checks: []handlers.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }, Degradable: true},
		},
		Lab:          handlers.Lab{Instance: t.Name(), CacheStats: c.Stats},
		Metrics:      metrics.New(c.Stats).Handler(),
		Bestsellers:  board,
		Live:         live,
		ProductStats: pageviews.NewReader(boardRdb, board, counter),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); live.Run(ctx) }()
	t.Cleanup(func() { live.Close(); cancel(); <-done }) // before srv.Close: ends open streams
	return &testShop{Server: srv, pool: pool, rdb: rdb, prefix: prefix, cache: c, products: products, board: board, live: live}
}

// downRedis returns a client of a port where nothing listens, and its URL.
func downRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb, "redis://127.0.0.1:1/0"
}

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
	pool := testenv.SeededDB(t)
	srv := newShop(t, pool)
	var heartID string
	if err := pool.QueryRow(context.Background(), `SELECT id::text FROM products WHERE sku = '85123A'`).Scan(&heartID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"Featured today", "Bestsellers", "POPCORN HOLDER", "How this page was served", "Postgres queries"}},
		{"/products", 200, []string{"All products", "Page 1 of 163", `href="/products?page=2"`}},
		{"/products?page=163", 200, []string{"Page 163 of 163", `rel="prev"`}},
		{"/products/" + heartID, 200, []string{"WHITE HANGING HEART T-LIGHT HOLDER", "£2.95", "85123A", "in stock"}},
		{"/search?q=heart", 200, []string{"Search: “heart”", "WHITE HANGING HEART T-LIGHT HOLDER", `value="heart"`}},
		{"/search?q=hanging+hearts", 200, []string{"WHITE HANGING HEART T-LIGHT HOLDER"}},
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
	pool := testenv.DB(t)
	loadDummyJSON(t, pool)
	srv := newShop(t, pool)
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
	pool := testenv.SeededDB(t)
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
	srv := newShop(t, testenv.SeededDB(t))
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
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	rdb, url := downRedis(t)
	srv := newShopWith(t, pool, rdb, url, "")

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
	pool := testenv.DB(t)
	rdb, url := downRedis(t)
	srv := newShopWith(t, pool, rdb, url, "")
	status, body, _ := get(t, srv.URL+"/readyz")
	if status != 200 || !strings.Contains(body, `"postgres":"ok"`) || !strings.Contains(body, `"redis":"degraded"`) {
		t.Errorf("GET /readyz = %d %s, want 200 with postgres ok and redis degraded: the shop serves without Redis", status, body)
	}
}
