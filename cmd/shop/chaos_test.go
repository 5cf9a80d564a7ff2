package main

// The chaos suite (issue 13): real shop processes, their own Redis and Postgres, a bounded
// load, and one fault at a time. `make chaos` runs the full version (build tag chaos:
// 15-second faults, a 5-minute Postgres outage) and writes its table to docs/resilience.md;
// `go test` runs the short version (2-second faults, a low rate) and asserts only what cannot
// flake on a busy machine. Wall-clock figures are measured and written, never asserted.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
)

// chaosMode is the size of a chaos run: mode (chaos_full_test.go or chaos_short_test.go)
// is one of two.
type chaosMode struct {
	full         bool
	dataset      string
	rate         int           // requests per second of the page and cart-add mix
	pages        int           // products whose pages are looked at
	cartShoppers int           // signed-in shoppers adding to their carts
	buyers       int           // signed-in shoppers checking out, one round per buyEvery each
	buyEvery     time.Duration //
	baseline     time.Duration // load before the fault
	fault        time.Duration // a fault's length (Redis down or hung, Postgres crashed)
	pgOutage     time.Duration // Postgres stopped
	after        time.Duration // load after the fault, at least
	recoverCap   time.Duration // and at most this long waiting for two clean seconds
	drainDelay   time.Duration // SHOP_DRAIN_DELAY
	abandoned    int           // slow requests abandoned by their clients
	homePages    int           // concurrent home pages on a cold bestseller list
}

// scenario is one fault and what the suite expects of the shop under it.
type scenario struct {
	name  string // subtest name
	title string // row title
	short bool   // also in the short version
	redis string // "aof" (as the compose file), "plain" (no persistence), "replicated", "cluster"
	env   map[string]string
	// noLoad: the fault makes its own requests; noBuyers: no checkouts; cachedOnly: the load
	// is product pages and cart adds only.
	noLoad, noBuyers, cachedOnly bool
	// mayLose says why acknowledged writes may be lost under this fault; empty: none may.
	mayLose string
	fault   func(e *chaosEnv)
}

// chaosEnv is one scenario's world.
type chaosEnv struct {
	t        *testing.T
	sc       scenario
	pg       *pgCluster
	db       string
	redis    *testenv.RedisServer
	repl     *testenv.Replicated
	cluster  *testenv.Cluster
	shopEnv  map[string]string
	shops    []*shopProc
	lb       *balancer
	load     *load
	rec      *recorder
	shoppers []shopper // cart shoppers, then buyers
	pages    []int64

	t0, faultStart, faultEnd, end time.Time
	notes                         []string
	extra                         []sample // requests the fault made itself
}

func (e *chaosEnv) note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}

// row is one line of the table.
type row struct {
	title, requests, errors, p99, max, throughput, dbRate, recover, lost, notes string

	code500, getFailures, writesLost, viewsLost, phantom int
	recovered, clean                                     bool
	errorLog                                             string // the shops' ERROR lines
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos suite starts Postgres, Redis and shop processes")
	}
	pg := startPostgres(t)
	pg.exec("postgres", "CREATE DATABASE chaos_tmpl")
	args := []string{"seed", "--dataset", mode.dataset}
	if mode.dataset == "online-retail" {
		args = append(args, "--orders")
	}
	if out, err := childCommand(t, map[string]string{"SHOP_DATABASE_URL": pg.URL("chaos_tmpl")}, args...).CombinedOutput(); err != nil {
		t.Fatalf("shop seed: %v\n%s", err, out)
	}

	var rows []row
	for _, sc := range scenarios() {
		// SHOP_CHAOS=all runs every fault at the short version's sizes (to work on the suite).
		if !mode.full && !sc.short && os.Getenv("SHOP_CHAOS") != "all" {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			r := runScenario(t, pg, sc)
			rows = append(rows, r)
			t.Logf("%s: errors %s, p99 %s, max %s, throughput min %s, DB %s, recovered %s, lost %s; %s",
				r.title, r.errors, r.p99, r.max, r.throughput, r.dbRate, r.recover, r.lost, r.notes)
			if r.code500 > 0 {
				t.Errorf("%d requests answered 500; a failing dependency must be a 503; the shops logged:\n%s", r.code500, r.errorLog)
			}
			if r.phantom > 0 {
				t.Errorf("%d cart adds reported as failed changed the cart", r.phantom)
			}
			if sc.mayLose == "" && (r.writesLost > 0 || r.viewsLost > 0) {
				t.Errorf("acknowledged writes lost: %s", r.lost)
			}
			if !r.clean {
				t.Errorf("no two clean seconds within %s after the fault ended", mode.recoverCap)
			}
		})
	}
	table := chaosTable(rows)
	t.Log("\n" + table)
	if mode.full && len(rows) == len(scenarios()) {
		if err := writeResilience("../../docs/resilience.md", table); err != nil {
			t.Error(err)
		}
	}
}

func scenarios() []scenario {
	f := mode.fault
	return []scenario{
		{name: "RedisKilled", title: fmt.Sprintf("Redis killed %s, restarted (AOF everysec)", f), short: true, redis: "aof",
			fault: func(e *chaosEnv) {
				e.faultStart = time.Now()
				e.redis.Stop()
				time.Sleep(f)
				e.redis.Start()
				e.faultEnd = time.Now()
			}},
		{name: "RedisKilledNoPersistence", title: fmt.Sprintf("Redis killed %s, restarted (no persistence)", f), redis: "plain",
			mayLose: "Redis without AOF loses sessions, carts and pending views by design (item 9)",
			fault: func(e *chaosEnv) {
				e.faultStart = time.Now()
				e.redis.Stop()
				time.Sleep(f)
				e.redis.Start()
				e.faultEnd = time.Now()
			}},
		{name: "RedisHung", title: fmt.Sprintf("Redis hung (SIGSTOP) %s", f), short: true, redis: "aof",
			fault: func(e *chaosEnv) {
				e.faultStart = time.Now()
				e.redis.Pause()
				time.Sleep(f)
				e.redis.Resume()
				e.faultEnd = time.Now()
			}},
		{name: "Failover", title: "primary/replica swap behind the endpoint", short: true, redis: "replicated",
			fault: func(e *chaosEnv) {
				e.faultStart = time.Now()
				e.repl.FailOver(e.t)
				e.faultEnd = time.Now()
			}},
		{name: "ClusterShardKilled", title: "cluster mode: a shard's master killed", redis: "cluster",
			mayLose: "a replica promoted after its master died lacks the writes not yet replicated (asynchronous replication)",
			fault:   killShardMaster},
		{name: "PostgresStopped", title: fmt.Sprintf("Postgres stopped (clean) %s", mode.pgOutage), redis: "aof",
			fault: func(e *chaosEnv) {
				e.faultStart = time.Now()
				e.pg.Stop("fast")
				time.Sleep(mode.pgOutage)
				e.pg.Start()
				e.faultEnd = time.Now()
				stalePages(e)
			}},
		{name: "PostgresCrashed", title: fmt.Sprintf("Postgres crashed (immediate) mid-request, down %s", f), short: true, redis: "aof",
			fault: func(e *chaosEnv) {
				e.faultStart = time.Now()
				e.pg.Stop("immediate")
				time.Sleep(f)
				e.pg.Start()
				e.faultEnd = time.Now()
			}},
		{name: "AbandonedSlowRequests", title: fmt.Sprintf("%d abandoned slow requests", mode.abandoned), redis: "aof",
			// The other requests are cached product pages and cart adds, and no background work
			// queries Postgres, so that every active query is one of the abandoned ones. Only
			// the clients leaving may end them: no shorter load or statement deadline steps in.
			noBuyers: true, cachedOnly: true,
			env: map[string]string{"SHOP_LOAD_TIMEOUT": "60s", "SHOP_DB_STATEMENT_TIMEOUT": "60s",
				"SHOP_VIEWS_FLUSH_INTERVAL": "1h", "SHOP_LEADERBOARD_REPAIR_INTERVAL": "1h"},
			fault: abandonSlowRequests},
		{name: "ColdBestsellers", title: fmt.Sprintf("cold bestseller list, %d concurrent home pages", mode.homePages), redis: "aof", noLoad: true,
			env:   map[string]string{"SHOP_VIEWS_FLUSH_INTERVAL": "1h", "SHOP_LEADERBOARD_REPAIR_INTERVAL": "1h", "SHOP_L1_TTL": "1s"},
			fault: coldHomePages},
		{name: "SIGTERM", title: "SIGTERM of an instance under load", short: true, redis: "aof", fault: sigtermInstance},
		{name: "Kill9", title: "kill -9 of an instance under load (restarted 2 s later)", short: true, redis: "aof", fault: killInstance},
	}
}

// runScenario builds the scenario's world, runs the load with the fault in it, stops
// everything and measures.
func runScenario(t *testing.T, pg *pgCluster, sc scenario) row {
	e := &chaosEnv{t: t, sc: sc, pg: pg, db: "c_" + strings.ToLower(sc.name), rec: &recorder{}}
	pg.exec("postgres", "CREATE DATABASE "+e.db+" TEMPLATE chaos_tmpl")
	t.Cleanup(func() {
		// The cluster may be down if the test failed during a Postgres fault.
		if conn, err := pgx.Connect(context.Background(), pg.URL("postgres")); err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e.db+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	redisURL, redisMode := "", "standalone"
	switch sc.redis {
	case "aof": // the compose file's persistence
		e.redis = testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "everysec", "--notify-keyspace-events", "Ex")
		redisURL = e.redis.URL()
	case "plain":
		e.redis = testenv.StartRedis(t, "--notify-keyspace-events", "Ex")
		redisURL = e.redis.URL()
	case "replicated":
		e.repl = testenv.StartReplicated(t)
		redisURL = "redis://" + e.repl.Endpoint.Addr() + "/0"
	case "cluster":
		e.cluster = testenv.StartCluster(t)
		redisURL, redisMode = e.cluster.URL(), "cluster"
	}
	e.shopEnv = map[string]string{
		"SHOP_DATABASE_URL": pg.URL(e.db), "SHOP_REDIS_URL": redisURL, "SHOP_REDIS_MODE": redisMode,
		"SHOP_REDIS_KEY_PREFIX": "chaos:", "SHOP_SEED": "false", "SHOP_DRAIN_DELAY": mode.drainDelay.String(),
		"SHOP_LOGIN_LIMIT_ACCOUNT": "off", "SHOP_LOGIN_LIMIT_IP": "off", "SHOP_SIGNUP_LIMIT_IP": "off",
	}
	for k, v := range sc.env {
		e.shopEnv[k] = v
	}
	e.shops = []*shopProc{startShopProc(t, "a", e.shopEnv), startShopProc(t, "b", e.shopEnv)}
	e.lb = newBalancer(e.shops...)
	defer e.lb.close()

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL(e.db))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(sql string, args ...any) []int64 {
		rows, _ := conn.Query(ctx, sql, args...)
		out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	e.pages = ids(`SELECT id FROM products WHERE merchandise ORDER BY id LIMIT $1`, mode.pages)
	buyProducts := ids(`SELECT id FROM products WHERE merchandise ORDER BY stock DESC, id LIMIT 10`)
	cartProducts := ids(`SELECT id FROM products WHERE merchandise ORDER BY stock DESC, id OFFSET 10 LIMIT 20`)
	e.pages = append(e.pages, cartProducts...) // their pages are cached, as a shopper adds from one
	for i := range mode.cartShoppers + mode.buyers {
		sh := register(t, e.lb.pick(), fmt.Sprintf("chaos%d@example.com", i))
		if err := conn.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, sh.email).Scan(&sh.id); err != nil {
			t.Fatal(err)
		}
		e.shoppers = append(e.shoppers, sh)
	}
	// Every page looked at is cached before the load (on each instance: near caches).
	for _, s := range e.shops {
		for _, p := range e.pages {
			getStatus(fmt.Sprintf("%s/products/%d", s.url, p), 30*time.Second)
		}
	}
	viewsBefore := productViews(t, conn)
	conn.Close(ctx)

	dbs := startDBSampler(func() []*shopProc {
		e.lb.mu.Lock()
		defer e.lb.mu.Unlock()
		return append([]*shopProc(nil), e.lb.shops...)
	})
	e.load = &load{lb: e.lb, rate: mode.rate, products: e.pages, cartProducts: cartProducts, buyProducts: buyProducts,
		shoppers: e.shoppers[:mode.cartShoppers], buyEvery: mode.buyEvery, rec: e.rec, cachedOnly: sc.cachedOnly}
	if !sc.noBuyers {
		e.load.buyers = e.shoppers[mode.cartShoppers:]
	}
	e.t0 = time.Now()
	if !sc.noLoad {
		e.load.start()
		time.Sleep(mode.baseline)
	}
	sc.fault(e)
	clean := true // two seconds without a failed request came within mode.recoverCap
	if !sc.noLoad {
		clean = waitRecovered(e)
		e.load.stop()
	}
	e.end = time.Now()

	// Sessions: which shoppers are still signed in.
	sessionsLost := 0
	for _, sh := range e.shoppers {
		if code, _, _, _ := sh.get(e.lb.pick(), "/account"); code != 200 {
			sessionsLost++
		}
	}
	dbs.close()
	var stopping sync.WaitGroup
	for _, s := range e.lb.shops {
		stopping.Go(func() { s.stop(t) }) // graceful: the pending views are flushed
	}
	stopping.Wait()
	r := e.measure(dbs)
	r.clean = clean
	e.countLosses(&r, viewsBefore, sessionsLost)
	// What the shops said of their failed requests, by path and error (the test's log).
	failed := map[string]int{}
	pathRE, errRE := regexp.MustCompile(`path=(/[a-z]*)`), regexp.MustCompile(`err="?([^"]{0,120})`)
	for _, s := range e.lb.shops {
		b, _ := os.ReadFile(s.logPath)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "level=ERROR") {
				r.errorLog += s.name + ": " + l + "\n"
			}
			if strings.Contains(l, `msg="request failed`) {
				var path, msg string
				if m := pathRE.FindStringSubmatch(l); m != nil {
					path = m[1]
				}
				if m := errRE.FindStringSubmatch(l); m != nil {
					msg = m[1]
				}
				failed[path+" "+msg]++
			}
		}
	}
	for _, k := range chaosKeys(failed) {
		t.Logf("shops' failed requests: %d × %s", failed[k], k)
	}
	return r
}

// waitRecovered lets the load run mode.after past the fault, then until two whole seconds
// in a row had no failed request (or mode.recoverCap).
func waitRecovered(e *chaosEnv) bool {
	time.Sleep(mode.after)
	for deadline := e.faultEnd.Add(mode.recoverCap); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		now := int(time.Since(e.t0) / time.Second)
		secs := perSecond(e.rec.all(), e.t0, now)
		if now >= 2 && secs[now-1].n > 0 && secs[now-2].n > 0 && secs[now-1].failed == 0 && secs[now-2].failed == 0 {
			return true
		}
	}
	return false
}

// measure turns the samples and query rates into the scenario's row.
func (e *chaosEnv) measure(dbs *dbSampler) row {
	r := row{title: e.sc.title}
	all := append(e.rec.all(), e.extra...)
	var during []sample
	var lats []time.Duration
	var maxLat time.Duration
	for _, s := range all {
		if s.start.Before(e.faultStart) || s.start.After(e.end) {
			continue
		}
		during = append(during, s)
		if s.code == 500 {
			r.code500++
		}
		if !s.write() && s.failed() {
			r.getFailures++
		}
		if s.code != 0 {
			lats = append(lats, s.lat)
			maxLat = max(maxLat, s.lat)
		}
	}
	r.requests = strconv.Itoa(len(during))
	r.errors = statusCounts(during)
	r.p99, r.max = fmtDur(percentile(lats, 0.99)), fmtDur(maxLat)
	r.throughput, r.dbRate, r.recover = "—", "—", "—"
	if e.sc.noLoad {
		r.recovered = true
	} else {
		n := int(e.end.Sub(e.t0) / time.Second)
		secs := perSecond(all, e.t0, n)
		bStart, fStart := 1, int(e.faultStart.Sub(e.t0)/time.Second)
		fEnd := int(math.Ceil(e.faultEnd.Sub(e.t0).Seconds()))
		var baseOK, baseRatio []float64
		for i := bStart; i < fStart && i < n; i++ {
			baseOK = append(baseOK, float64(secs[i].ok))
			if secs[i].productPages > 0 {
				baseRatio = append(baseRatio, float64(secs[i].productHits)/float64(secs[i].productPages))
			}
		}
		normalOK, normalRatio := median(baseOK), median(baseRatio)
		minOK := math.Inf(1)
		for i := fStart; i < n; i++ {
			minOK = min(minOK, float64(secs[i].ok))
		}
		if normalOK > 0 && !math.IsInf(minOK, 1) {
			r.throughput = fmt.Sprintf("%.0f/s of %.0f/s (%.0f %%)", minOK, normalOK, 100*minOK/normalOK)
		}
		normal := func(c second) bool {
			return c.n > 0 && c.failed == 0 && float64(c.ok) >= 0.5*normalOK &&
				(c.productPages < 3 || float64(c.productHits)/float64(c.productPages) >= 0.5*normalRatio)
		}
		first := -1
		for i := n - 1; i >= max(fEnd, fStart); i-- {
			if !normal(secs[i]) {
				break
			}
			first = i
		}
		if first >= 0 {
			r.recovered = true
			r.recover = fmt.Sprintf("%d s", max(0, first-fEnd+1))
			if first <= fEnd {
				r.recover = "≤ 1 s"
			}
		} else {
			r.recover = fmt.Sprintf("not within %d s", n-fEnd)
		}
		// Postgres statements per second: normal (median before the fault) and the highest
		// one-second rate from the fault's start to 5 s after its end.
		at, rates := dbs.rates()
		var base, during []float64
		peak := 0.0
		for i, a := range at {
			switch {
			case a.After(e.t0.Add(time.Second)) && a.Before(e.faultStart):
				base = append(base, rates[i])
			case a.After(e.faultStart) && a.Before(e.faultEnd.Add(5*time.Second)):
				peak = max(peak, rates[i])
				during = append(during, rates[i])
			}
		}
		mean := 0.0
		for _, x := range during {
			mean += x / float64(len(during))
		}
		if b := median(base); b > 0 {
			r.dbRate = fmt.Sprintf("%.0f → mean %.0f (×%.1f), peak %.0f (×%.1f)", b, mean, mean/b, peak, peak/b)
		} else {
			r.dbRate = fmt.Sprintf("%.0f → mean %.0f, peak %.0f", b, mean, peak)
		}
	}
	r.notes = strings.Join(e.notes, "; ")
	return r
}

// countLosses compares what the shop acknowledged with what is in Redis and Postgres once
// every instance has stopped: cart adds (303) against the carts, orders (303 to the order)
// against the orders table, views (a product page that showed its views) against
// product_views, and signed-in shoppers still signed in.
func (e *chaosEnv) countLosses(r *row, viewsBefore map[int64]int64, sessionsLost int) {
	t := e.t
	ctx := context.Background()
	all := e.rec.all()
	type line struct {
		shopper int
		product int64
	}
	acked, unknown := map[line]int{}, map[line]int{}
	var orderIDs []int64
	viewsAcked := map[int64]int64{}
	nCart, nViews := 0, int64(0)
	for _, s := range all {
		switch {
		case s.kind == "cart-add" && s.code == http.StatusSeeOther:
			acked[line{s.shopper, s.product}]++
			nCart++
		case s.kind == "cart-add" && s.code == 0:
			unknown[line{s.shopper, s.product}]++
		case s.kind == "checkout" && s.order > 0:
			orderIDs = append(orderIDs, s.order)
		case s.viewed:
			viewsAcked[s.product]++
			nViews++
		}
	}
	// Carts, from Redis.
	var rdb redis.UniversalClient
	switch {
	case e.cluster != nil:
		var addrs []string
		for _, n := range e.cluster.Nodes {
			addrs = append(addrs, n.Addr())
		}
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	case e.repl != nil:
		rdb = redis.NewClient(&redis.Options{Addr: e.repl.Endpoint.Addr()})
	default:
		rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
	}
	defer rdb.Close()
	cartsLost := 0
	for l, n := range acked {
		key := fmt.Sprintf("chaos:cart:u%d", e.shoppers[l.shopper].id)
		got, err := rdb.HGet(ctx, key, strconv.FormatInt(l.product, 10)).Int()
		if err != nil && err != redis.Nil {
			t.Fatalf("read cart %s: %v", key, err)
		}
		cartsLost += max(0, n-got)
		r.phantom += max(0, got-n-unknown[l])
	}
	// Orders and views, from Postgres.
	conn, err := pgx.Connect(ctx, e.pg.URL(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// An order acknowledged twice (two checkouts answered with one order) counts once.
	distinct := map[int64]bool{}
	for _, id := range orderIDs {
		distinct[id] = true
	}
	var found, partial int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders WHERE id = ANY($1)`, orderIDs).Scan(&found); err != nil {
		t.Fatal(err)
	}
	var buyerIDs []int64
	for _, sh := range e.shoppers {
		buyerIDs = append(buyerIDs, sh.id)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders o WHERE user_id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)`, buyerIDs).Scan(&partial); err != nil {
		t.Fatal(err)
	}
	viewsAfter := productViews(t, conn)
	for p, n := range viewsAcked {
		r.viewsLost += int(max(0, n-(viewsAfter[p]-viewsBefore[p])))
	}
	ordersLost := len(distinct) - found
	r.writesLost = cartsLost + ordersLost + partial
	r.lost = fmt.Sprintf("carts %d/%d, orders %d/%d, views %d/%d, sessions %d/%d",
		cartsLost, nCart, ordersLost, len(distinct), r.viewsLost, nViews, sessionsLost, len(e.shoppers))
	if twice := len(orderIDs) - len(distinct); twice > 0 {
		r.lost += fmt.Sprintf(", %d checkouts answered with an order placed before", twice)
	}
	if partial > 0 {
		r.lost += fmt.Sprintf(", %d orders without lines", partial)
	}
	if r.phantom > 0 {
		r.lost += fmt.Sprintf(", %d failed adds in the cart", r.phantom)
	}
}

func productViews(t *testing.T, conn *pgx.Conn) map[int64]int64 {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT product_id, views FROM product_views`)
	out := map[int64]int64{}
	var id, n int64
	_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "—"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// stalePages checks, after a Postgres outage, that the product pages seen before it were
// still served during it, and says what writes got.
func stalePages(e *chaosEnv) {
	seen := map[int64]bool{}
	var notOK, during, stale int
	writes := map[int]int{}
	for _, s := range e.rec.all() {
		switch {
		case s.kind == "product" && s.code == 200 && s.start.Before(e.faultStart):
			seen[s.product] = true
		}
	}
	for _, s := range e.rec.all() {
		if s.start.Before(e.faultStart) || s.start.After(e.faultEnd) {
			continue
		}
		if s.kind == "product" && seen[s.product] {
			during++
			if s.code != 200 {
				notOK++
			}
			if s.xcache == "STALE" {
				stale++
			}
		}
		if s.kind == "checkout" {
			writes[s.code]++
		}
	}
	e.note("pages seen before the outage: %d of %d answered 200 during it (%d marked STALE); checkouts during it: %v",
		during-notOK, during, stale, writes)
	if notOK > 0 {
		e.t.Errorf("%d product pages seen before the outage were not served during it", notOK)
	}
}

// killShardMaster kills a master of the cluster (not the configuration endpoint's node) and
// ends when one of its replicas has taken over.
func killShardMaster(e *chaosEnv) {
	ctx := context.Background()
	role := func(n *testenv.RedisServer) string {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
		defer c.Close()
		info, _ := c.Info(ctx, "replication").Result()
		role, port := "", ""
		for _, l := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "role:"); ok {
				role = v
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "master_port:"); ok {
				port = v
			}
		}
		if role == "slave" {
			return "master_port:" + port
		}
		return "role:" + role
	}
	var victim *testenv.RedisServer
	for _, n := range e.cluster.Nodes[1:] {
		if role(n) == "role:master" {
			victim = n
			break
		}
	}
	var replicas []*testenv.RedisServer
	for _, n := range e.cluster.Nodes {
		if role(n) == fmt.Sprintf("master_port:%d", victim.Port) {
			replicas = append(replicas, n)
		}
	}
	e.faultStart = time.Now()
	victim.Stop()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, n := range replicas {
			if role(n) == "role:master" {
				e.faultEnd = time.Now()
				e.note("replica promoted %.1f s after the kill", e.faultEnd.Sub(e.faultStart).Seconds())
				return
			}
		}
	}
	e.faultEnd = time.Now()
	e.t.Errorf("no replica of the killed master (port %d; replicas %d) took over within 60 s", victim.Port, len(replicas))
}

// abandonSlowRequests holds a lock on products (every query on it waits in Postgres), sends
// mode.abandoned searches of distinct words whose clients leave after 1 s, and counts 3 s
// later the shop's queries still running in Postgres.
func abandonSlowRequests(e *chaosEnv) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pg.URL(e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	e.faultStart = time.Now()
	if _, err := tx.Exec(ctx, `LOCK TABLE products IN ACCESS EXCLUSIVE MODE`); err != nil {
		e.t.Fatal(err)
	}
	// Asked on a connection of its own: within a transaction, pg_stat_activity is a snapshot
	// taken at its first use.
	watch, err := pgx.Connect(ctx, e.pg.URL(e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer watch.Close(ctx)
	running := func() int {
		rows, _ := watch.Query(ctx, `SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 80), pid::text || ' ' || round(extract(epoch FROM clock_timestamp() - query_start)::numeric, 1)::text
			FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'active'
			AND query LIKE '%websearch_to_tsquery%'`)
		var queries []string
		var q, age string
		_, err := pgx.ForEachRow(rows, []any{&q, &age}, func() error { queries = append(queries, age+" s: "+q); return nil })
		if err != nil {
			e.t.Fatal(err)
		}
		return len(queries)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for i := range mode.abandoned {
		wg.Go(func() {
			c := http.Client{Timeout: time.Second}
			start := time.Now()
			resp, err := c.Get(fmt.Sprintf("%s/search?q=abandoned%d", e.lb.pick(), i))
			s := sample{start: start, lat: time.Since(start), kind: "slow-search"}
			if err == nil {
				s.code = resp.StatusCode
				resp.Body.Close()
				mu.Lock()
				answered++
				mu.Unlock()
			}
			if s.code != 0 { // a client that left is not a failure of the shop
				mu.Lock()
				e.extra = append(e.extra, s)
				mu.Unlock()
			}
		})
	}
	time.Sleep(800 * time.Millisecond)
	before := running()
	wg.Wait()
	left := time.Now()
	time.Sleep(3 * time.Second) // the figure to reach is "3 s later"
	after := running()
	n := after
	for n > 0 && time.Since(left) < 30*time.Second {
		time.Sleep(100 * time.Millisecond)
		n = running()
	}
	gone := fmt.Sprintf("none %.1f s after", time.Since(left).Seconds())
	if n > 0 {
		gone = fmt.Sprintf("%d still %.0f s after", n, time.Since(left).Seconds())
	}
	e.note("searches running in Postgres: %d while their clients waited, %d 3 s after they left, %s (%d of %d answered within 1 s)",
		before, after, gone, answered, mode.abandoned)
	if after > 0 {
		e.t.Errorf("%d queries still running in Postgres %s after every client left", after, time.Since(left).Round(time.Millisecond))
	}
	tx.Rollback(ctx)
	e.faultEnd = time.Now()
}

// coldHomePages empties the home page's lists (the cached top list, as a checkout does, and
// the featured list) and sends mode.homePages home pages at once, half to each instance,
// counting each instance's Postgres statements.
func coldHomePages(e *chaosEnv) {
	ctx := context.Background()
	for _, s := range e.shops { // warm: everything but the lists in the caches
		getStatus(s.url+"/", 30*time.Second)
	}
	rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
	defer rdb.Close()
	var dropped []string
	for _, pattern := range []string{"chaos:*featured*", "chaos:lb:{bestsellers}:top*"} {
		keys, err := rdb.Keys(ctx, pattern).Result()
		if err != nil {
			e.t.Fatal(err)
		}
		dropped = append(dropped, keys...)
	}
	if len(dropped) == 0 {
		e.t.Fatal("no featured or top list in Redis to drop")
	}
	rdb.Del(ctx, dropped...)
	time.Sleep(2 * time.Second) // SHOP_L1_TTL is 1 s here: the near caches forget them too
	before := make([]float64, len(e.shops))
	for i, s := range e.shops {
		before[i], _ = s.metric("shop_db_queries_total")
	}
	e.faultStart = time.Now()
	startGate := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range mode.homePages {
		wg.Go(func() {
			<-startGate
			start := time.Now()
			code, err := getStatus(e.shops[i%len(e.shops)].url+"/", 60*time.Second)
			s := sample{start: start, lat: time.Since(start), kind: "home", code: code}
			if err != nil {
				s.err = err.Error()
			}
			mu.Lock()
			e.extra = append(e.extra, s)
			mu.Unlock()
		})
	}
	close(startGate)
	wg.Wait()
	e.faultEnd = time.Now()
	var per []string
	for i, s := range e.shops {
		after, _ := s.metric("shop_db_queries_total")
		per = append(per, strconv.Itoa(int(after-before[i])))
	}
	e.note("Postgres statements per instance: %s (dropped %s)", strings.Join(per, ", "), strings.Join(dropped, ", "))
}

// sigtermInstance stops instance a with SIGTERM under load, watching its /readyz every 20 ms:
// it must answer 503 before its listener closes.
func sigtermInstance(e *chaosEnv) {
	a := e.shops[0]
	var first503, firstRefused time.Time
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, err := getStatus(a.url+"/readyz", time.Second)
			now := time.Now()
			if code == 503 && first503.IsZero() {
				first503 = now
			}
			if err != nil && strings.Contains(err.Error(), "refused") && firstRefused.IsZero() {
				firstRefused = now
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	e.faultStart = time.Now()
	a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-time.After(2 * time.Minute):
		e.t.Error("the instance did not stop within 2 min of SIGTERM")
	}
	e.faultEnd = time.Now()
	close(stop)
	wg.Wait()
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		e.t.Errorf("the instance exited with %d after SIGTERM:\n%s", code, a.logTail())
	}
	switch {
	case first503.IsZero():
		e.t.Error("/readyz never answered 503 after SIGTERM")
	case !firstRefused.IsZero() && firstRefused.Before(first503):
		e.t.Error("the listener closed before /readyz answered 503")
	}
	if !first503.IsZero() && !firstRefused.IsZero() {
		e.note("/readyz 503 %d ms after SIGTERM, listener closed after %.1f s, process gone after %.1f s",
			first503.Sub(e.faultStart).Milliseconds(), firstRefused.Sub(e.faultStart).Seconds(), e.faultEnd.Sub(e.faultStart).Seconds())
	}
}

// killInstance kills instance a with SIGKILL under load and starts a new one 2 s later, as
// an orchestrator would (its start applies what the dead one's flusher had claimed).
func killInstance(e *chaosEnv) {
	e.faultStart = time.Now()
	e.shops[0].kill()
	e.faultEnd = time.Now()
	time.Sleep(2 * time.Second)
	e.shops[0] = startShopProc(e.t, "a2", e.shopEnv)
	e.lb.replace(0, e.shops[0])
	e.note("replacement ready %.1f s after the kill", time.Since(e.faultStart).Seconds())
}

// chaosTable is the table of rows in Markdown.
func chaosTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| fault | requests | failed or refused | p99 | slowest | lowest throughput | Postgres statements/s | recovered after | lost (lost/acknowledged) | notes |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.title, r.requests, r.errors, r.p99, r.max, r.throughput, r.dbRate, r.recover, r.lost, r.notes)
	}
	return b.String()
}

var generated = regexp.MustCompile(`(?s)<!-- chaos:begin -->.*<!-- chaos:end -->`)

// writeResilience puts table into the generated section of the document at path.
func writeResilience(path, table string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !generated.Match(doc) {
		return fmt.Errorf("%s has no <!-- chaos:begin --> … <!-- chaos:end --> section", path)
	}
	section := fmt.Sprintf("<!-- chaos:begin -->\n<!-- Generated by `make chaos` on %s; do not edit by hand. -->\n\n%s\n<!-- chaos:end -->",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), table)
	return os.WriteFile(path, generated.ReplaceAllLiteral(doc, []byte(section)), 0o644)
}
