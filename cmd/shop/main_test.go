package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var listeningLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startShop runs the shop with env on a free port and waits until /readyz answers 200. It
// returns the base URL; the shop is stopped, and must exit cleanly, when the test ends.
func startShop(t *testing.T, env map[string]string) string {
	t.Helper()
	url, _ := startShopLogs(t, env)
	return url
}

var metricsLine = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// startShopLogs is startShop that also returns the shop's log.
func startShopLogs(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	s := startRun(t, env)
	return s.url, s.logs
}

// running is a shop started by startRun: its base URL and log, stop (which cancels run's
// context, as SIGTERM does), finished, closed once run has returned, and err, what it
// returned (read it after finished).
type running struct {
	url      string
	logs     *syncBuffer
	stop     context.CancelFunc
	finished <-chan struct{}
	err      *error
}

// startRun is startShopLogs that also lets the test stop the shop when it chooses; it is
// stopped, and must exit cleanly, when the test ends in any case.
func startRun(t *testing.T, env map[string]string) running {
	t.Helper()
	s := launchRun(t, env)
	s.waitReady(t, http.StatusOK)
	return s
}

// launchRun runs the shop with env and returns as soon as its port is open (it may still
// be warming up); it is stopped, and must exit cleanly, when the test ends.
func launchRun(t *testing.T, env map[string]string) running {
	t.Helper()
	env["SHOP_ADDR"] = "127.0.0.1:0"
	if _, ok := env["SHOP_METRICS_ADDR"]; !ok {
		env["SHOP_METRICS_ADDR"] = "127.0.0.1:0"
	}
	if _, ok := env["SHOP_DRAIN_DELAY"]; !ok {
		env["SHOP_DRAIN_DELAY"] = "1ms" // tests that stop the shop do not wait for a load balancer
	}
	if _, ok := env["SHOP_REDIS_KEY_PREFIX"]; !ok {
		_, env["SHOP_REDIS_KEY_PREFIX"] = testenv.Redis(t)
	}
	if _, ok := env["SHOP_WARM_UP"]; !ok {
		env["SHOP_WARM_UP"] = "0" // no product read but the test's own (queries are watched, tables locked)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	finished := make(chan struct{})
	var runErr error
	go func() {
		defer close(finished)
		runErr = run(ctx, []string{"shop", "serve"}, envFrom(env), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
			if runErr != nil {
				t.Errorf("run returned %v after shutdown, want nil", runErr)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("run did not return after shutdown")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-finished:
			t.Fatalf("run returned early: %v\nlogs:\n%s", runErr, logs)
		default:
		}
		if m := listeningLine.FindStringSubmatch(logs.String()); m != nil {
			return running{url: "http://" + m[1], logs: logs, stop: cancel, finished: finished, err: &runErr}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the shop never opened its port; logs:\n%s", logs)
	return running{}
}

// waitReady waits (up to 3 minutes: a first start imports the catalog) until /readyz
// answers want.
func (s running) waitReady(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-s.finished:
			t.Fatalf("run returned early: %v\nlogs:\n%s", *s.err, s.logs)
		default:
		}
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/readyz never answered %d; logs:\n%s", want, s.logs)
}

func body(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunServesTheShop(t *testing.T) {
	url := startShop(t, map[string]string{
		"SHOP_DATABASE_URL": testenv.SeededDBURL(t),
		"SHOP_REDIS_URL":    testenv.RedisURL(),
		"SHOP_SEED":         "false",
	})
	status, page := body(t, url+"/products/1")
	if status != 200 || !strings.Contains(page, "White Hanging Heart T-Light Holder") {
		t.Errorf("GET /products/1 = %d, want 200 with the white hanging heart", status)
	}
	// The served shop has its whole cache stack: Redis, then the near cache.
	var results []string
	for range 3 {
		resp, err := http.Get(url + "/products/2")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		results = append(results, resp.Header.Get("X-Cache"))
	}
	if strings.Join(results, " ") != "MISS HIT-L1 HIT-L1" {
		t.Errorf("X-Cache of three reads = %v, want MISS HIT-L1 HIT-L1", results)
	}
}

func TestCacheOffStillCounts(t *testing.T) {
	url, logs := startShopLogs(t, map[string]string{
		"SHOP_DATABASE_URL": testenv.SeededDBURL(t),
		"SHOP_REDIS_URL":    testenv.RedisURL(),
		"SHOP_SEED":         "false",
		"SHOP_CACHE":        "off",
	})
	for range 2 {
		resp, err := http.Get(url + "/products/1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Cache"); got != "BYPASS" {
			t.Errorf("X-Cache with the cache off = %q, want BYPASS", got)
		}
	}
	// /metrics is on its own listener (SHOP_METRICS_ADDR), not on the shop's port.
	if status, _ := body(t, url+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the shop's port = %d, want 404", status)
	}
	m := metricsLine.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no metrics listener in the logs:\n%s", logs)
	}
	metricsURL := "http://" + m[1] + "/metrics"
	_, metrics := body(t, metricsURL)
	if !strings.Contains(metrics, `shop_cache_requests_total{cache="product",result="bypass"} 2`) {
		t.Error("/metrics does not count the bypasses of a shop with its cache off")
	}
	_, lab := body(t, url+"/lab")
	if !strings.Contains(lab, "The cache is off") || !strings.Contains(lab, "<b>product</b>") {
		t.Error("/lab does not show the cache off and its counters")
	}
}

// seedLockKey is the advisory lock dataset.Load takes for its transaction ("shopseed").
const seedLockKey = 0x73686f7073656564

// TestServeSeedsAnEmptyDatabase starts the shop on a real empty database. Its port opens at
// once and serves the warming-up page while the catalog is imported — held here by taking
// the import's advisory lock first — then the shop, with fresh planner statistics.
func TestServeSeedsAnEmptyDatabase(t *testing.T) {
	dbURL := testenv.EmptyDB(t) // not even migrated
	ctx := context.Background()
	hold, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close(ctx)
	if _, err := hold.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(seedLockKey)); err != nil {
		t.Fatal(err)
	}
	s := launchRun(t, map[string]string{"SHOP_DATABASE_URL": dbURL, "SHOP_REDIS_URL": testenv.RedisURL()})
	url := s.url
	// Warming up until the import gets the lock: wait for the progress line that says so.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/products")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "warming up") {
			t.Fatalf("GET /products while warming up = %d (Retry-After %q), want 503 with Retry-After and the warming-up page:\n%s",
				resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
		if strings.Contains(string(b), "importing the default data set") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the warming-up page never showed the import:\n%s\nlogs:\n%s", b, s.logs)
		}
	}
	if status, _ := body(t, url+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while warming up = %d, want 200", status)
	}
	if status, _ := body(t, url+"/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while warming up = %d, want 503", status)
	}
	if _, err := hold.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(seedLockKey)); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, http.StatusOK)

	status, page := body(t, url+"/")
	if status != 200 || !strings.Contains(page, "Popcorn Holder") {
		t.Errorf("GET / = %d, want 200 with the bestsellers of the imported history", status)
	}
	pool := testenv.Pool(t, dbURL)
	var lines int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM order_items`).Scan(&lines); err != nil || lines != 541_909 {
		t.Errorf("order lines after first start = %d (%v), want 541909", lines, err)
	}
	var unanalyzed []string
	// Column statistics exist once a table was analysed (pg_stats reads pg_statistic, which
	// ANALYZE writes synchronously; the pg_stat_* views may lag).
	rows, _ := pool.Query(ctx, `SELECT t FROM unnest(ARRAY['products', 'orders', 'order_items']) t
		WHERE NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = 'public' AND s.tablename = t)`)
	unanalyzed, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(unanalyzed) > 0 {
		t.Errorf("tables without statistics after the import: %v (%v), want none (ANALYZE)", unanalyzed, err)
	}
}

func TestSubcommands(t *testing.T) {
	dbURL := testenv.EmptyDB(t)
	env := envFrom(map[string]string{"SHOP_DATABASE_URL": dbURL})
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"shop", "migrate"}, env, &out, io.Discard); err != nil {
		t.Fatalf("shop migrate: %v", err)
	}
	for range 2 {
		out.Reset()
		if err := run(ctx, []string{"shop", "seed", "--dataset", "dummyjson"}, env, &out, io.Discard); err != nil {
			t.Fatalf("shop seed --dataset dummyjson: %v", err)
		}
	}
	if !strings.Contains(out.String(), "products 194 (0 new)") {
		t.Errorf("second seed printed %q, want it to report 194 products, 0 new", out.String())
	}

	bad := [][]string{
		{"shop", "frobnicate"},
		{"shop", "seed", "--dataset", "nope"},
		{"shop", "seed", "--dataset", "dummyjson", "--orders"},
		{"shop", "seed", "--bogus"},
		{"shop", "seed", "extra"},
		{"shop", "migrate", "extra"},
		{"shop", "leaderboard"},
		{"shop", "leaderboard", "frobnicate"},
		{"shop", "leaderboard", "rebuild", "extra"},
	}
	for _, args := range bad {
		if err := run(ctx, args, env, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"shop", "help"}, env, &out, io.Discard); err != nil || !strings.Contains(out.String(), "seed --dataset") {
		t.Errorf("shop help = %v, %q", err, out.String())
	}
}

func TestMigrateCreatesTheDatabase(t *testing.T) {
	name := fmt.Sprintf("shop_t_create_%d", time.Now().UnixNano())
	dbURL := testenv.DatabaseURL(t, name)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), testenv.AdminURL())
		if err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	// Two instances starting at once on a missing database: both must come up.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = run(context.Background(), []string{"shop", "migrate"}, envFrom(map[string]string{"SHOP_DATABASE_URL": dbURL}), io.Discard, io.Discard)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("shop migrate on a missing database, twice at once: %v", err)
		}
	}
	pool := testenv.Pool(t, dbURL)
	var tables int
	err := pool.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name IN ('products', 'orders', 'order_items')`).Scan(&tables)
	if err != nil || tables != 3 {
		t.Errorf("tables after migrate = %d (%v), want 3", tables, err)
	}
}

func TestConfig(t *testing.T) {
	cfg, err := loadConfig(envFrom(nil))
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.Addr != ":8080" || cfg.DatabaseURL != defaultDatabaseURL || cfg.RedisURL != defaultRedisURL || !cfg.Seed ||
		!cfg.CacheEnabled || cfg.L1.Size != 10_000 || cfg.L1.TTL != 5*time.Second || cfg.TTL.Product.Base != 300*time.Second ||
		cfg.SessionIdleTimeout != 30*time.Minute || cfg.SessionLifetime != 24*time.Hour {
		t.Errorf("defaults = %+v", cfg)
	}
	bad := []struct {
		name, value, want string
	}{
		{"SHOP_ADDR", "8080", "SHOP_ADDR: want host:port"},
		{"SHOP_ADDR", ":99999", "SHOP_ADDR: want host:port with a port"},
		{"SHOP_DATABASE_URL", "mysql://x@y/z", "SHOP_DATABASE_URL: want postgres://"},
		{"SHOP_DATABASE_URL", "postgres://u:secret@host:5432/", "SHOP_DATABASE_URL: want a URL that names one database"},
		{"SHOP_DATABASE_URL", "postgres://u@host:5432/shop/extra", "names one database"},
		{"SHOP_DATABASE_URL", "postgres://u:secret@host:notaport/db", "SHOP_DATABASE_URL"},
		{"SHOP_REDIS_URL", "http://127.0.0.1:6379", "SHOP_REDIS_URL: want redis://"},
		{"SHOP_REDIS_URL", "redis://:tok@127.0.0.1:6379/abc", "SHOP_REDIS_URL"},
		{"SHOP_SEED", "maybe", "SHOP_SEED: want true or false"},
		{"SHOP_LOG_LEVEL", "loud", "SHOP_LOG_LEVEL"},
		{"SHOP_SHUTDOWN_TIMEOUT", "-1s", "SHOP_SHUTDOWN_TIMEOUT"},
		{"SHOP_SESSION_IDLE_TIMEOUT", "48h", "no longer than SHOP_SESSION_LIFETIME"},
		{"SHOP_SESSION_SECURE", "yes please", "SHOP_SESSION_SECURE: want true or false"},
		{"SHOP_ADMIN_EMAIL", "admin@example.com", "together with SHOP_ADMIN_PASSWORD"},
		{"SHOP_ELASTICACHE_SECRET", "{not json", "SHOP_ELASTICACHE_SECRET: want the JSON"},
		{"SHOP_ELASTICACHE_SECRET", `{"host":"h","port":0,"auth":"secret"}`, `"port" must be a number`},
		{"SHOP_ELASTICACHE_SECRET", `{"port":6379,"auth":"secret"}`, `"host" is missing`},
		{"SHOP_REDIS_MODE", "sharded", "SHOP_REDIS_MODE"},
		{"SHOP_REDIS_KEY_PREFIX", "has space", "SHOP_REDIS_KEY_PREFIX"},
		{"SHOP_VIEWS_FLUSH_INTERVAL", "soon", "SHOP_VIEWS_FLUSH_INTERVAL: want a positive duration"},
		{"SHOP_VIEWS_FLUSH_INTERVAL", "1ms", "SHOP_VIEWS_FLUSH_INTERVAL: want a duration from 10ms to 1h"},
		{"SHOP_VIEWS_BATCH_INTERVAL", "soon", "SHOP_VIEWS_BATCH_INTERVAL: want a positive duration"},
		{"SHOP_VIEWS_BATCH_INTERVAL", "1m", "SHOP_VIEWS_BATCH_INTERVAL: want 0 (off), or a duration from 1ms to 10s"},
		{"SHOP_LEADERBOARD_REPAIR_INTERVAL", "0s", "SHOP_LEADERBOARD_REPAIR_INTERVAL: want a positive duration"},
		{"SHOP_WARM_UP", "-1", "SHOP_WARM_UP: want a number of product pages from 0 (none) to 10000"},
		{"SHOP_REFRESH_AHEAD_BETA", "-1", "SHOP_REFRESH_AHEAD_BETA: want a number from 0 (off) to 100"},
		{"SHOP_REFRESH_AHEAD_BETA", "NaN", "SHOP_REFRESH_AHEAD_BETA: want a number from 0 (off) to 100"},
	}
	for _, tt := range bad {
		_, err := loadConfig(envFrom(map[string]string{tt.name: tt.value}))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%q: error %v, want one containing %q", tt.name, tt.value, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), ":tok@")) {
			t.Errorf("%s=%q: error shows the secret: %v", tt.name, tt.value, err)
		}
	}
	// TTLs take durations or bare seconds, as the article's table gives them.
	cfg, err = loadConfig(envFrom(map[string]string{"SHOP_TTL_PRODUCT": "120", "SHOP_TTL_PROFILE": "2h", "SHOP_DB_LATENCY": "50ms", "SHOP_CACHE": "off"}))
	if err != nil || cfg.TTL.Product.Base != 2*time.Minute || cfg.TTL.Profile.Base != 2*time.Hour ||
		cfg.TTL.List.Base != 300*time.Second || cfg.DBLatency != 50*time.Millisecond || cfg.CacheEnabled {
		t.Errorf("TTL and cache settings = %+v, %v", cfg, err)
	}
	// Refresh-ahead: on (beta 1) by default, a beta of one's own, or off.
	for v, want := range map[string]float64{"": 1, "2.5": 2.5, "0": 0, "off": 0} {
		cfg, err := loadConfig(envFrom(map[string]string{"SHOP_REFRESH_AHEAD_BETA": v}))
		if err != nil || cfg.RefreshAheadBeta != want {
			t.Errorf("SHOP_REFRESH_AHEAD_BETA=%q: beta %v, %v; want %v", v, cfg.RefreshAheadBeta, err, want)
		}
	}

	// The near-cache mode: pub/sub by default, tracking on a standalone Redis only.
	for v, want := range map[string]bool{"": false, "pubsub": false, "tracking": true} {
		cfg, err := loadConfig(envFrom(map[string]string{"SHOP_NEAR_CACHE": v}))
		if err != nil || cfg.NearTracking != want {
			t.Errorf("SHOP_NEAR_CACHE=%q: tracking %v, %v; want %v", v, cfg.NearTracking, err, want)
		}
	}
	for _, env := range []map[string]string{
		{"SHOP_NEAR_CACHE": "l1"},
		{"SHOP_NEAR_CACHE": "tracking", "SHOP_REDIS_MODE": "cluster"},
		{"SHOP_NEAR_CACHE": "tracking", "SHOP_REDIS_READER_URL": "redis://replica:6379"},
	} {
		_, err := loadConfig(envFrom(env))
		if err == nil || !strings.Contains(err.Error(), "SHOP_NEAR_CACHE") {
			t.Errorf("%v: error %v, want one naming SHOP_NEAR_CACHE", env, err)
			continue
		}
		for name := range env {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%v: error %v does not name %s", env, err, name)
			}
		}
	}

	// The ElastiCache secret of the bundled Terraform becomes a TLS URL with the AUTH token.
	cfg, err = loadConfig(envFrom(map[string]string{
		"SHOP_ELASTICACHE_SECRET": `{"host":"master.shop.abc.euw1.cache.amazonaws.com","port":6379,"auth":"tok/en@x","reader":"replica.shop"}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil || opts.TLSConfig == nil || opts.Password != "tok/en@x" || opts.Addr != "master.shop.abc.euw1.cache.amazonaws.com:6379" {
		t.Errorf("SHOP_ELASTICACHE_SECRET gave %s (%v), want TLS to the host with the token", redactURL(cfg.RedisURL), err)
	}
	if ropts, err := redis.ParseURL(cfg.RedisReaderURL); err != nil || ropts.TLSConfig == nil || ropts.Addr != "replica.shop:6379" || ropts.Password != "tok/en@x" {
		t.Errorf("the secret's reader gave %s (%v), want TLS to the reader endpoint with the token", redactURL(cfg.RedisReaderURL), err)
	}
	if _, err := loadConfig(envFrom(map[string]string{"SHOP_ELASTICACHE_SECRET": `{"host":"h","port":"6379","auth":"a"}`, "SHOP_REDIS_URL": "redis://x:1"})); err == nil {
		t.Error("SHOP_ELASTICACHE_SECRET with SHOP_REDIS_URL: no error, want one")
	}

	// Logged configuration carries no secrets.
	cfg, err = loadConfig(envFrom(map[string]string{
		"SHOP_DATABASE_URL": "postgres://u@db:5432/shop?sslmode=require&password=pgsecret",
		"SHOP_REDIS_URL":    "rediss://default:redissecret@cache:6379/0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("starting", "config", cfg)
	if strings.Contains(logs.String(), "pgsecret") || strings.Contains(logs.String(), "redissecret") || !strings.Contains(logs.String(), "cache:6379") {
		t.Errorf("logged config = %s, want hosts without secrets", logs.String())
	}
}

func TestEmbeddedRedisExpiresKeysInRealTime(t *testing.T) {
	cfg, err := loadConfig(envFrom(map[string]string{"SHOP_DATABASE_URL": testenv.AdminURL()}))
	if err != nil {
		t.Fatal(err)
	}
	nothing := func(string) bool { return false }
	stop, err := startEmbedded(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nothing)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if cfg.RedisURL == defaultRedisURL || cfg.DatabaseURL != testenv.AdminURL() {
		t.Fatalf("embedded mode left redis %s, database %s; want an in-process Redis and the given database", cfg.RedisURL, cfg.DatabaseURL)
	}
	opts, _ := redis.ParseURL(cfg.RedisURL)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", 100*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	// The in-process Redis expires keys in real time: the key goes (within a generous bound).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := rdb.Get(ctx, "k").Err()
		if errors.Is(err, redis.Nil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET of a key 10 s past its 100 ms TTL = %v, want redis.Nil", err)
		}
	}
}

func TestEmbeddedPostgresRefusesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: embedded Postgres would start; tried by hand, see README")
	}
	cfg, err := loadConfig(envFrom(map[string]string{"SHOP_REDIS_URL": testenv.RedisURL()}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = startEmbedded(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) bool { return false })
	if !errors.Is(err, errRootPostgres) || !strings.Contains(err.Error(), "SHOP_DATABASE_URL") {
		t.Errorf("startEmbedded as root = %v, want errRootPostgres naming SHOP_DATABASE_URL", err)
	}
}
