package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// withLabDuration shortens the main phase of the Lab's experiments.
func withLabDuration(d time.Duration) option { return func(c *app.Config) { c.LabDuration = d } }

// labAdmin makes the admin account and returns a shopper signed in with it.
func labAdmin(t *testing.T, shop *testShop) *shopper {
	t.Helper()
	if _, err := accounts.NewStore(shop.pool, bcrypt.MinCost).EnsureAdmin(context.Background(), "admin@example.com", "admin password"); err != nil {
		t.Fatal(err)
	}
	admin := newShopper(t, shop.URL)
	expect(t, "admin login", admin.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}}), http.StatusSeeOther)
	return admin
}

// labCounts is what the Lab counts of the shop's traffic: the caches' reads and loads, and
// the recorder's requests.
func labCounts(t *testing.T, shop *testShop) (reads, loads, requests int64) {
	t.Helper()
	for _, s := range shop.Cache.Stats() {
		reads += s.Requests()
		loads += s.Loads
	}
	for _, n := range shop.LabCollector.Figures(context.Background()).Requests {
		requests += n
	}
	return reads, loads, requests
}

// The Lab's own requests — its pages, its streams, its questions — are not counted in what
// it shows, even for a signed-in visitor whose profile every page reads from the cache;
// the shop's pages are.
func TestLabTrafficNotCounted(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	s.register("watcher@example.com", "Watcher", "a fine long password")
	expect(t, "account", s.get("/account"), http.StatusOK)

	reads, loads, requests := labCounts(t, shop)
	for _, path := range []string{"/lab", "/lab", "/lab/cache-aside", "/lab/fail-open", "/lab/questions/catalog", "/lab/questions/sessions"} {
		expect(t, path, s.get(path), http.StatusOK)
	}
	// The dashboard's stream sends the dashboard at once.
	req, _ := http.NewRequest(http.MethodGet, shop.URL+"/lab/events", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("GET /lab/events: Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sawEvent := false
	for sc.Scan() {
		if sc.Text() == "event: dashboard" {
			sawEvent = true
			break
		}
	}
	resp.Body.Close()
	if !sawEvent {
		t.Error("GET /lab/events sent no dashboard event")
	}

	r2, l2, q2 := labCounts(t, shop)
	if r2 != reads || l2 != loads || q2 != requests {
		t.Errorf("after visiting the Lab: cache reads %d → %d, loads %d → %d, requests %d → %d; want them unchanged",
			reads, r2, loads, l2, requests, q2)
	}
	// The same visitor on a shop page is counted (so the check above can fail).
	expect(t, "product", s.get("/products/1"), http.StatusOK)
	if r3, _, q3 := labCounts(t, shop); r3 <= r2 || q3 != q2+1 {
		t.Errorf("after a product page: cache reads %d → %d, requests %d → %d; want more reads and one request", r2, r3, q2, q3)
	}
}

// Fault injection and data changes are for administrators: a visitor and a shopper get 403,
// a cross-origin form from an admin's browser is refused, and nothing runs.
func TestLabFaultInjectionAdminOnly(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t), withLabDuration(time.Second))
	anon := newShopper(t, shop.URL)
	plain := newShopper(t, shop.URL)
	plain.register("plain@example.com", "Plain", "a fine long password")
	admin := labAdmin(t, shop)
	for _, exp := range []string{"fail-open", "write-through", "invalidation"} {
		expect(t, "visitor runs "+exp, anon.post("/lab/"+exp+"/run", nil), http.StatusForbidden, "only administrators")
		expect(t, "shopper runs "+exp, plain.post("/lab/"+exp+"/run", nil), http.StatusForbidden, "only administrators")
		req, _ := http.NewRequest(http.MethodPost, shop.URL+"/lab/"+exp+"/run", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		expect(t, "cross-site form runs "+exp, admin.do(req), http.StatusForbidden, "came from another site")
		if _, ok, err := shop.LabRunner.Last(context.Background(), exp); err != nil || ok {
			t.Errorf("%s: a run exists after refused starts (ok %v, err %v)", exp, ok, err)
		}
	}
	if shop.Guard.Forced() || !shop.Guard.Available() {
		t.Error("the breaker was forced open by a refused request")
	}
	expect(t, "the page says who may run it", plain.get("/lab/fail-open"), http.StatusOK, "Only administrators can run this experiment")
	expect(t, "unknown experiment", admin.post("/lab/no-such/run", nil), http.StatusNotFound)
}

// One experiment at a time in the deployment: of concurrent starts, on two instances that
// share Redis, exactly one runs and the others get 409.
func TestLabOneExperimentAtATime(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	a := newShop(t, dbURL, withLabDuration(time.Second))
	b := newShop(t, dbURL, withPrefix(a.prefix), withLabDuration(time.Second))
	admins := []*shopper{labAdmin(t, a), labAdmin(t, b), labAdmin(t, a), labAdmin(t, b)}
	exps := []string{"fail-open", "write-through", "stampede", "cache-aside"}
	statuses := make([]int, len(admins))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range admins {
		wg.Go(func() {
			<-start
			statuses[i] = s.post("/lab/"+exps[i]+"/run", nil).status
		})
	}
	close(start)
	wg.Wait()
	ran, busy := 0, 0
	for i, st := range statuses {
		switch st {
		case http.StatusSeeOther:
			ran++
		case http.StatusConflict:
			busy++
		default:
			t.Errorf("start of %s = %d, want 303 or 409", exps[i], st)
		}
	}
	if ran != 1 || busy != len(admins)-1 {
		t.Errorf("concurrent starts: %d ran, %d got 409 (%v); want exactly one to run", ran, busy, statuses)
	}
	a.LabRunner.Wait()
	b.LabRunner.Wait()
	// Once it has finished, the next one starts.
	expect(t, "start after the first ended", admins[0].post("/lab/stale-set/run", nil), http.StatusSeeOther)
	a.LabRunner.Wait()
}

// The experiments that change data or inject a fault undo it: every price is what it was,
// the product pages serve it, and the breaker is closed again — and the shop served pages
// while it was open.
func TestLabExperimentsUndoTheirChanges(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t), withLabDuration(time.Second), withL1(cache.L1Options{Size: 100, TTL: time.Minute}))
	ctx := context.Background()
	go shop.Cache.RunInvalidations(ctx) // the near cache hears the write-through's messages
	prices := func() map[int64]int64 {
		rows, err := shop.pool.Query(ctx, `SELECT id, price FROM products`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[int64]int64{}
		for rows.Next() {
			var id, p int64
			if err := rows.Scan(&id, &p); err != nil {
				t.Fatal(err)
			}
			m[id] = p
		}
		return m
	}
	before := prices()
	admin := labAdmin(t, shop)

	for _, exp := range []string{"write-through", "fail-open"} {
		expect(t, "run "+exp, admin.post("/lab/"+exp+"/run", nil), http.StatusSeeOther)
		shop.LabRunner.Wait()
		run, ok, err := shop.LabRunner.Last(ctx, exp)
		if err != nil || !ok || run.Running() || run.Failed != "" {
			t.Fatalf("%s: run %+v, ok %v, err %v; want a finished run", exp, run, ok, err)
		}
		expect(t, exp+" page shows the result", admin.get("/lab/"+exp), http.StatusOK, "Last run", "<svg")
		switch exp {
		case "write-through":
			if run.Numbers["wt_reads"] == 0 || run.Numbers["lazy_reads"] == 0 || run.Numbers["lazy_stale"] == 0 {
				t.Errorf("write-through numbers %v: want reads on both sides and stale reads with lazy loading", run.Numbers)
			}
			after := prices()
			for id, p := range before {
				if after[id] != p {
					t.Errorf("product %d: price %d after the experiment, want %d", id, after[id], p)
				}
			}
			// And the cached pages serve the restored price.
			for id, p := range before {
				if after[id] == p && strings.Contains(run.Settings, "product "+itoa(id)+" ") {
					got, err := shop.Catalog.FindProduct(ctx, id)
					if err != nil || got.Price != p {
						t.Errorf("cached product %d: price %d (err %v), want %d", id, got.Price, err, p)
					}
				}
			}
		case "fail-open":
			if shop.Guard.Forced() || !shop.Guard.Available() {
				t.Error("the breaker is still open after the experiment")
			}
			if run.Numbers["during"] == 0 || run.Numbers["during_ok"] != run.Numbers["during"] {
				t.Errorf("fail-open: %v of %v pages served while Redis was skipped; want all", run.Numbers["during_ok"], run.Numbers["during"])
			}
		}
	}
	expect(t, "the catalog question quotes the run", admin.get("/lab/questions/catalog"), http.StatusOK, "reads stale")
}

// The near-cache and leaderboard experiments are open to visitors and run to completion on
// a deployment of two instances: every instance answers the near-cache probes (its reads,
// mostly from its near cache, and the write's invalidation reaching it), the leaderboard's
// top lists are read from the scratch board and by SQL, and neither leaves a key behind
// nor touches the shop's bestseller boards.
func TestLabNearCacheAndLeaderboard(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	a := newStartedShop(t, dbURL, withLabDuration(time.Second))
	b := newStartedShop(t, dbURL, withPrefix(a.prefix), func(c *app.Config) { c.Instance = t.Name() + "-b" })
	ctx := context.Background()
	// Both instances are live for the runner (the collector polls every second).
	deadline := time.Now().Add(30 * time.Second)
	for len(a.LabCollector.Live()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(a.LabCollector.Live()); n != 2 {
		t.Fatalf("%d live instances, want 2", n)
	}
	boards := func() string {
		out := ""
		for _, k := range []string{a.Board.AllKey(), a.Board.DayKey(time.Now())} {
			zs, err := a.rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			out += fmt.Sprint(k, zs)
		}
		return out
	}
	before := boards()
	visitor := newShopper(t, a.URL)
	for _, exp := range []string{"near-cache", "leaderboard"} {
		expect(t, "a visitor runs "+exp, visitor.post("/lab/"+exp+"/run", nil), http.StatusSeeOther)
		a.LabRunner.Wait()
		run, ok, err := b.LabRunner.Last(ctx, exp) // the other instance shows it too
		if err != nil || !ok || run.Running() || run.Failed != "" {
			t.Fatalf("%s: run %+v, ok %v, err %v; want a finished run", exp, run, ok, err)
		}
		expect(t, exp+" page shows the result", visitor.get("/lab/"+exp), http.StatusOK, "Last run", "<svg")
		left, err := a.rdb.Keys(ctx, a.prefix+"lab:data:*").Result()
		if err != nil || len(left) != 0 {
			t.Errorf("%s: Lab keys left behind: %v (err %v)", exp, left, err)
		}
		n := run.Numbers
		t.Logf("%s: %v", exp, n)
		switch exp {
		case "near-cache":
			if n["instances"] != 2 || n["answered"] != 2 || n["fanout_seen"] != 2 {
				t.Errorf("near-cache: %v instances, %v answered the reads, %v saw the write; want 2 each", n["instances"], n["answered"], n["fanout_seen"])
			}
			// The other instance's first read fills its near cache from Redis (the runner's
			// holds the copy it wrote); the rest are L1 hits.
			if n["l1_hits"]+n["redis_hits"] != 2*200 || n["l1_hits"] < 2*190 || n["redis_hits"] < 1 {
				t.Errorf("near-cache: %v L1 hits, %v Redis hits over 2 × 200 reads; want almost all from L1", n["l1_hits"], n["redis_hits"])
			}
		case "leaderboard":
			if n["sales"] == 0 || n["reads"] == 0 || n["sql_p50_ms"] == 0 || n["zset_p50_ms"] == 0 {
				t.Errorf("leaderboard numbers %v: want sales, reads and both latencies", n)
			}
		}
	}
	if after := boards(); after != before {
		t.Errorf("the shop's bestseller boards changed:\n%s\n→\n%s", before, after)
	}
}

// The fail-open run forces the breaker of every instance, each its own, and each instance
// releases its own at the end: on two instances, the other one's guard is seen forced while
// the run is on, both answer, and neither is forced after.
func TestLabFailOpenForcesEveryInstance(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	a := newStartedShop(t, dbURL, withLabDuration(2*time.Second))
	b := newStartedShop(t, dbURL, withPrefix(a.prefix), func(c *app.Config) { c.Instance = t.Name() + "-b" })
	deadline := time.Now().Add(30 * time.Second)
	for len(a.LabCollector.Live()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(a.LabCollector.Live()); n != 2 {
		t.Fatalf("%d live instances, want 2", n)
	}
	admin := labAdmin(t, a)
	expect(t, "run fail-open", admin.post("/lab/fail-open/run", nil), http.StatusSeeOther)
	sawForced := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !sawForced; {
		sawForced = b.Guard.Forced()
		time.Sleep(10 * time.Millisecond)
	}
	a.LabRunner.Wait()
	if !sawForced {
		t.Error("the other instance's breaker was never forced open")
	}
	run, ok, err := a.LabRunner.Last(context.Background(), "fail-open")
	if err != nil || !ok || run.Running() || run.Failed != "" {
		t.Fatalf("run %+v, ok %v, err %v; want a finished run", run, ok, err)
	}
	if run.Numbers["instances_forced"] != 2 {
		t.Errorf("instances forced: %v, want 2 (%v)", run.Numbers["instances_forced"], run.Results)
	}
	for name, s := range map[string]*testShop{"runner": a, "other": b} {
		if s.Guard.Forced() {
			t.Errorf("%s: the breaker is still forced after the run", name)
		}
	}
}

// TestLabRestoresWhatADeadRunChanged: an experiment that edits a price notes the price to
// put back before it changes it; a run killed midway (kill -9) leaves that note, and the
// next start of an instance — or, while an experiment holds the lock, the next run — puts
// the price back.
func TestLabRestoresWhatADeadRunChanged(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t), withLabDuration(time.Second))
	ctx := context.Background()
	price := func(id int64) int64 {
		t.Helper()
		var p int64
		if err := shop.pool.QueryRow(ctx, `SELECT price FROM products WHERE id = $1`, id).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const id = 3
	orig := price(id)
	restore := shop.prefix + "lab:{experiments}:restore"
	died := func() {
		t.Helper()
		if err := shop.rdb.HSet(ctx, restore, fmt.Sprint(id), orig).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := shop.pool.Exec(ctx, `UPDATE products SET price = price + 77 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}

	// While an experiment holds the lock, a start restores nothing: the note may be its own.
	died()
	lock := shop.prefix + "lab:{experiments}:lock"
	if err := shop.rdb.Set(ctx, lock, "someone stampede", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := shop.LabRunner.RestoreLeft(ctx); err != nil {
		t.Fatal(err)
	}
	if got := price(id); got != orig+77 {
		t.Fatalf("price with the lock held = %d, want it left at %d", got, orig+77)
	}
	shop.rdb.Del(ctx, lock)

	// At start, with no experiment running: restored, and the note gone.
	if err := shop.LabRunner.RestoreLeft(ctx); err != nil {
		t.Fatal(err)
	}
	if got := price(id); got != orig {
		t.Errorf("price after RestoreLeft = %d, want %d", got, orig)
	}
	if n := shop.rdb.HLen(ctx, restore).Val(); n != 0 {
		t.Errorf("%d prices still noted to restore", n)
	}
	if shop.rdb.Exists(ctx, lock).Val() != 0 {
		t.Error("RestoreLeft left the experiment lock behind")
	}

	// The next run restores too, before it starts.
	died()
	admin := labAdmin(t, shop)
	expect(t, "start a run", admin.post("/lab/stampede/run", nil), http.StatusSeeOther)
	shop.LabRunner.Wait()
	if got := price(id); got != orig {
		t.Errorf("price after the next run = %d, want %d", got, orig)
	}
}
