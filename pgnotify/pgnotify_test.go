package pgnotify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/pgnotify"
)

// instance is one shop process, as app.New builds it, sharing Redis and Postgres with the
// others; its background work (the pub/sub subscriber, the Postgres listener, expirations)
// runs.
type instance struct {
	name    string
	cache   *cache.Cache
	catalog *catalog.Cached
}

type world struct {
	t          *testing.T
	dbURL      string
	pool       *pgxpool.Pool // the test's own look at the database
	redisURL   string
	prefix     string
	l1         cache.L1Options
	policy     cache.Policy
	pubsubOnly bool          // start instances without the Postgres listener: pub/sub alone
	stale      time.Duration // app.Config.StaleIfError of the instances; the default's
}

func newWorld(t *testing.T, redisURL, prefix string) *world {
	dbURL := testenv.SeededDBURL(t)
	return &world{t: t, dbURL: dbURL, pool: testenv.Pool(t, dbURL), redisURL: redisURL, prefix: prefix,
		// A long near-cache TTL, so that only invalidation can make an instance fresh.
		l1: cache.L1Options{Size: 10_000, TTL: time.Minute}, policy: cache.DefaultPolicy(),
		stale: app.Defaults("", "").StaleIfError}
}

func (w *world) start(name string, logs io.Writer) *instance {
	t := w.t
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	cfg := app.Defaults(w.dbURL, w.redisURL)
	cfg.Seed = false
	cfg.RedisKeyPrefix = w.prefix
	cfg.L1, cfg.TTL = w.l1, w.policy
	cfg.Instance = name
	cfg.PGNotify = !w.pubsubOnly
	cfg.StaleIfError = w.stale
	// No product read but the test's own: where a read was answered is judged by the counters.
	cfg.WarmUp = 0
	cfg.RedisCallTimeout, cfg.LeaseWait = 3*time.Second, 3*time.Second // not about timeouts
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	t.Cleanup(func() {
		// A graceful stop's final flush of the page views waits out an open breaker.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Error(err)
		}
		a.Close()
	})
	<-a.Cache.Subscribed()
	if cfg.PGNotify {
		<-a.Listening()
	}
	return &instance{name: name, cache: a.Cache, catalog: a.Catalog}
}

// product reads product id through the instance and says where it was answered.
func (in *instance) product(t *testing.T, id int64) (catalog.Product, cache.Result) {
	t.Helper()
	var result cache.Result
	ctx := context.Background()
	before := in.cache.Stats()
	p, err := in.catalog.FindProduct(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	after := in.cache.Stats()
	for i, s := range after {
		if s.Name != "product" {
			continue
		}
		var b cache.StatsSnapshot
		if i < len(before) {
			b = before[i]
		}
		switch {
		case s.HitsL1 > b.HitsL1:
			result = cache.HitL1
		case s.HitsRedis > b.HitsRedis:
			result = cache.HitRedis
		default:
			result = cache.Miss
		}
	}
	return p, result
}

// waitFor polls until cond holds; limit is a generous bound for liveness, not a measure.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
	}
}

func TestUpdateThroughAReachesB(t *testing.T) {
	_, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	w.pubsubOnly = true // pub/sub alone must do it
	a, b := w.start("a", nil), w.start("b", nil)
	before, _ := b.product(t, 1)
	if _, r := b.product(t, 1); r != cache.HitL1 {
		t.Fatalf("second read on b = %s, want HIT-L1", r)
	}
	if _, err := a.catalog.UpdateProduct(context.Background(), 1, catalog.ProductUpdate{
		Name: "UPDATED ON A", Price: before.Price, Stock: before.Stock, Version: before.Version,
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b serves the update made through a", func() bool {
		p, _ := b.product(t, 1)
		return p.Name == "UPDATED ON A"
	})
	if b.cache.Lags().Count == 0 {
		t.Error("b measured no invalidation lag")
	}
}

func TestSQLUpdateReachesEveryInstance(t *testing.T) {
	_, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	ins := []*instance{w.start("a", nil), w.start("b", nil), w.start("c", nil)}
	var id int64
	var price int64
	if err := w.pool.QueryRow(context.Background(), `SELECT id, price FROM products WHERE sku = '85123A'`).Scan(&id, &price); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		in.product(t, id)
		in.product(t, id) // now in every near cache
	}
	// An operator's UPDATE, in psql: a plain connection, no shop code, no version column.
	conn, err := pgx.Connect(context.Background(), w.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE products SET price = 1234 WHERE sku = '85123A'`); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		waitFor(t, 10*time.Second, in.name+" serves the psql update", func() bool {
			p, _ := in.product(t, id)
			return p.Price == 1234
		})
	}
	p, _ := ins[0].product(t, id)
	var version int64
	w.pool.QueryRow(context.Background(), `SELECT version FROM products WHERE id = $1`, id).Scan(&version)
	if p.Version != version || version < 2 {
		t.Errorf("served version %d, database version %d: the trigger must bump it", p.Version, version)
	}
}

// TestSubscriberGapFlushes cuts b's connections to Redis — its subscription with them, as
// CLIENT KILL TYPE pubsub does — and holds them down while a publishes an invalidation,
// which b therefore never receives. Once b reconnects it must not serve the stale product,
// though its near copy would live another minute.
func TestSubscriberGapFlushes(t *testing.T) {
	srv := testenv.StartRedis(t)
	proxy := testenv.NewProxy(t, srv.Addr())
	w := newWorld(t, srv.URL(), "")
	a := w.start("a", nil)
	w.redisURL = "redis://" + proxy.Addr() + "/0"
	w.pubsubOnly = true // b learns of a's change by pub/sub only
	var logs bytes.Buffer
	var mu sync.Mutex
	b := w.start("b", lockedWriter{&logs, &mu})
	before, _ := b.product(t, 1)
	if _, r := b.product(t, 1); r != cache.HitL1 {
		t.Fatalf("b read %s, want HIT-L1", r)
	}
	proxy.Cut()
	if _, err := a.catalog.UpdateProduct(context.Background(), 1, catalog.ProductUpdate{
		Name: "CHANGED IN THE GAP", Price: before.Price, Stock: before.Stock, Version: before.Version,
	}); err != nil {
		t.Fatal(err)
	}
	// UpdateProduct has returned: its PUBLISH was delivered to every subscriber there was,
	// and b had none.
	proxy.Restore()
	waitFor(t, 10*time.Second, "b serves the change made while its subscriber was away", func() bool {
		p, _ := b.product(t, 1)
		return p.Name == "CHANGED IN THE GAP"
	})
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "subscription broken") {
		t.Errorf("b did not notice its subscription broke; logs:\n%s", logs.String())
	}
}

// TestClientKillPubsub kills the subscribers with CLIENT KILL TYPE pubsub right before a
// change: the instance that lost its subscriber still ends up fresh.
func TestClientKillPubsub(t *testing.T) {
	srv := testenv.StartRedis(t)
	w := newWorld(t, srv.URL(), "")
	w.pubsubOnly = true // pub/sub only
	a, b := w.start("a", nil), w.start("b", nil)
	before, _ := b.product(t, 1)
	b.product(t, 1)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.catalog.UpdateProduct(context.Background(), 1, catalog.ProductUpdate{
		Name: "AFTER THE KILL", Price: before.Price, Stock: before.Stock, Version: before.Version,
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b serves the change made as its subscriber was killed", func() bool {
		p, _ := b.product(t, 1)
		return p.Name == "AFTER THE KILL"
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestBurstOf1000Invalidations(t *testing.T) {
	_, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	_, b := w.start("a", nil), w.start("b", nil)
	ids := make([]int64, 1000)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	ctx := context.Background()
	old, err := b.catalog.FindProducts(ctx, ids) // all 1,000 in b's near cache
	if err != nil || len(old) != 1000 {
		t.Fatalf("warm: %d products (%v)", len(old), err)
	}
	// 1,000 changes in one statement: 1,000 notifications, each republished by every listener.
	if _, err := w.pool.Exec(ctx, `UPDATE products SET price = price + 1 WHERE id <= 1000`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "b serves all 1,000 new prices", func() bool {
		now, err := b.catalog.FindProducts(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if now[id].Price != old[id].Price+1 {
				return false
			}
		}
		return true
	})
}

func TestOutOfOrderMessagesKeepTheNewer(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	a, b := w.start("a", nil), w.start("b", nil)
	ctx := context.Background()
	p, _ := b.product(t, 1)
	for i := range 2 { // v+1, then v+2
		if _, err := a.catalog.UpdateProduct(ctx, 1, catalog.ProductUpdate{Name: fmt.Sprintf("V%d", i+1), Price: p.Price, Stock: p.Stock, Version: p.Version + int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "b holds v+2 in its near cache", func() bool {
		got, r := b.product(t, 1)
		return got.Version == p.Version+2 && r == cache.HitL1
	})
	// A late message for v+1 arrives after v+2 is held: it must not evict it. b counts a
	// message's lag once it has applied it.
	heard := b.cache.Lags().Count
	late := fmt.Sprintf(`{"key":"product:1","version":%d,"at":%d,"from":"test"}`, p.Version+1, time.Now().UnixMicro())
	if err := rdb.Publish(ctx, prefix+cache.InvalidationChannel, late).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b applies the late message", func() bool { return b.cache.Lags().Count > heard })
	if got, r := b.product(t, 1); r != cache.HitL1 || got.Version != p.Version+2 {
		t.Errorf("after a late v+1 message: %s v%d, want HIT-L1 at v%d", r, got.Version, p.Version+2)
	}
}

func TestNearCacheBound(t *testing.T) {
	_, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	w.l1.Size = 500
	in := w.start("a", nil)
	ctx := context.Background()
	var n int
	for start := int64(1); start <= 4070; start += 500 {
		ids := make([]int64, 0, 500)
		for id := start; id < start+500 && id <= 4070; id++ {
			ids = append(ids, id)
		}
		got, err := in.catalog.FindProducts(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		n += len(got)
	}
	if n != 4070 {
		t.Fatalf("read %d products, want the whole catalog of 4070", n)
	}
	if size := in.cache.NearSize(); size > 500 || size < 250 {
		t.Errorf("near cache holds %d entries after the whole catalog, want at most its size, 500 (and not empty)", size)
	}
}

func TestExpirationsCounted(t *testing.T) {
	srv := testenv.StartRedis(t, "--notify-keyspace-events", "Ex")
	w := newWorld(t, srv.URL(), "")
	w.policy.Product = cache.TTL{Base: 200 * time.Millisecond}
	w.stale = 0             // Redis drops a key, and says so, at its TTL plus the stale-if-error grace
	in := w.start("a", nil) // its background work listens for expirations
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	waitFor(t, 10*time.Second, "the expiration listener subscribed", func() bool {
		n := admin.PubSubNumSub(context.Background(), "__keyevent@0__:expired").Val()
		return n["__keyevent@0__:expired"] > 0
	})
	in.product(t, 1)
	in.product(t, 2)
	waitFor(t, 10*time.Second, "two product expirations counted", func() bool {
		for _, s := range in.cache.Stats() {
			if s.Name == "product" {
				return s.Expired >= 2
			}
		}
		return false
	})
}

func TestExpirationsOffIsSaidOnce(t *testing.T) {
	srv := testenv.StartRedis(t) // notify-keyspace-events is empty by default
	var buf bytes.Buffer
	var mu sync.Mutex
	logs := lockedWriter{&buf, &mu}
	said := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(buf.String(), "keyspace notifications are off")
	}
	w := newWorld(t, srv.URL(), "")
	in := w.start("a", logs) // its background work says it once
	waitFor(t, 10*time.Second, "the shop says keyspace notifications are off", func() bool { return said() > 0 })
	// A listener run with notifications off says so once and returns, rather than looping.
	done := make(chan struct{})
	go func() { in.cache.RunExpirations(context.Background(), 0); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunExpirations kept running with notifications off")
	}
	if n := said(); n != 2 {
		t.Errorf("said %d times after two runs, want once per run", n)
	}
}

// TestRedisOutageKeepsNearCacheWhileListening kills the instance's redis-server (SIGKILL)
// while its Postgres listener runs. The pub/sub subscription breaks, but the listener still
// hears every committed change, so the near cache is kept: its hits go on through the
// outage, and an UPDATE typed in psql during it still reaches the near cache (the stale copy
// is evicted and the new row served).
func TestRedisOutageKeepsNearCacheWhileListening(t *testing.T) {
	srv := testenv.StartRedis(t)
	w := newWorld(t, srv.URL(), "")
	var logs bytes.Buffer
	var mu sync.Mutex
	in := w.start("a", lockedWriter{&logs, &mu})
	ctx := context.Background()
	var id, price int64
	if err := w.pool.QueryRow(ctx, `SELECT id, price FROM products WHERE sku = '85123A'`).Scan(&id, &price); err != nil {
		t.Fatal(err)
	}
	const other = 2 // a product nobody changes
	if id == other {
		t.Fatal("85123A is product 2; pick another")
	}
	for _, p := range []int64{other, id} {
		in.product(t, p)
		if _, r := in.product(t, p); r != cache.HitL1 {
			t.Fatalf("second read of %d = %s, want HIT-L1", p, r)
		}
	}

	srv.Stop()
	// The subscriber notices, and tries again (and fails) at least once more.
	waitFor(t, 10*time.Second, "the subscriber notices Redis is gone, twice", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs.String(), "subscription broken") >= 2
	})
	if _, r := in.product(t, other); r != cache.HitL1 {
		t.Errorf("during the Redis outage, with the Postgres listener up, product %d = %s, want HIT-L1 (near cache kept)", other, r)
	}

	conn, err := pgx.Connect(ctx, w.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE products SET price = $1 WHERE id = $2`, price+111, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the psql update made during the outage is served", func() bool {
		p, _ := in.product(t, id)
		return p.Price == price+111
	})
	if _, r := in.product(t, other); r != cache.HitL1 {
		t.Errorf("after the update of another product, product %d = %s, want HIT-L1", other, r)
	}

	srv.Start() // empty: no persistence
	waitFor(t, 10*time.Second, "the subscriber is back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), "subscribed again")
	})
	if _, r := in.product(t, other); r != cache.HitL1 {
		t.Errorf("after Redis came back, the listener having been up throughout, product %d = %s, want HIT-L1", other, r)
	}
}

// TestRedisOutageRefillsNearCacheWhileListening: during a Redis outage, with the Postgres
// listener up, a product first read after Redis went away is loaded from Postgres once and
// then served from the near cache (not from Postgres at every read, as the chaos suite
// measured: ×4.7 the normal query rate), and an UPDATE made during the outage still reaches
// it.
func TestRedisOutageRefillsNearCacheWhileListening(t *testing.T) {
	srv := testenv.StartRedis(t)
	w := newWorld(t, srv.URL(), "")
	var logs bytes.Buffer
	var mu sync.Mutex
	in := w.start("a", lockedWriter{&logs, &mu})
	ctx := context.Background()
	var id, price int64
	if err := w.pool.QueryRow(ctx, `SELECT id, price FROM products WHERE sku = '85123A'`).Scan(&id, &price); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	waitFor(t, 10*time.Second, "the subscriber notices Redis is gone", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs.String(), "subscription broken") >= 1
	})
	if _, r := in.product(t, id); r == cache.HitL1 {
		t.Fatalf("first read of %d during the outage = %s, want a load", id, r)
	}
	if _, r := in.product(t, id); r != cache.HitL1 {
		t.Errorf("second read of %d during the outage = %s, want HIT-L1 (kept while the listener vouches)", id, r)
	}
	conn, err := pgx.Connect(ctx, w.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE products SET price = $1 WHERE id = $2`, price+222, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the psql update made during the outage is served", func() bool {
		p, _ := in.product(t, id)
		return p.Price == price+222
	})
	srv.Start() // for the instance's final flush of views at Stop
}

// TestRedisOutageFlushesWhenTheListenerReconnects kills the redis-server, then cuts the
// Postgres listener's connection (pg_terminate_backend) during the outage: a change
// committed while it reconnected may have been missed by both paths, so the near cache must
// be flushed — the next read of a product is not a near-cache hit.
func TestRedisOutageFlushesWhenTheListenerReconnects(t *testing.T) {
	srv := testenv.StartRedis(t)
	w := newWorld(t, srv.URL(), "")
	var logs bytes.Buffer
	var mu sync.Mutex
	in := w.start("a", lockedWriter{&logs, &mu})
	in.product(t, 2)
	if _, r := in.product(t, 2); r != cache.HitL1 {
		t.Fatalf("second read = %s, want HIT-L1", r)
	}
	srv.Stop()
	// The subscriber retries with a growing pause (to 2 s): after five failures the
	// listener's reconnection (100 ms) most likely falls between two of them, so that what
	// flushes is the changed session, not an attempt made while the listener was down.
	waitFor(t, 20*time.Second, "the subscriber notices Redis is gone, five times", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs.String(), "subscription broken") >= 5
	})
	if _, r := in.product(t, 2); r != cache.HitL1 {
		t.Fatalf("with the listener up, product 2 = %s, want HIT-L1", r)
	}
	ctx := context.Background()
	var killed int
	if err := w.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+pgnotify.Channel+`'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listener connections (%v), want 1", killed, err)
	}
	waitFor(t, 10*time.Second, "the near cache is flushed once the listener can no longer vouch for the gap", func() bool {
		_, r := in.product(t, 2)
		return r != cache.HitL1
	})
	srv.Start() // for the instance's final flush of views at Stop
	waitFor(t, 10*time.Second, "the subscriber is back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), "subscribed again")
	})
}
