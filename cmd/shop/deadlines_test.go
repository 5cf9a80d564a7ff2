package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopcache/shop/internal/testenv"
)

// lockProducts takes an ACCESS EXCLUSIVE lock on the products table of the database at
// dbURL, in a transaction of the test's own: every query that reads products waits until
// release is called (or the test ends). It is how a slow database is made for real.
func lockProducts(t *testing.T, dbURL string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE products IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_ = tx.Rollback(ctx)
			_ = conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// activeQueries counts the statements of the database at dbURL, other than the counter's
// own, that are running now and whose text contains substr.
func activeQueries(t *testing.T, dbURL, substr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var n int
	err = admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() AND position($2 in query) > 0`,
		cfg.Database, substr).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually polls cond every 50 ms until it holds or within passes; it reports whether it
// held.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAbandonedSlowSearchesStopOnPostgres is issue 13's finding: searches that Postgres is
// slow to answer (here: waiting on a table lock), whose clients give up, must not keep
// running on the server — nor hold the pool so that the shop cannot answer anything else.
func TestAbandonedSlowSearchesStopOnPostgres(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	url := startShop(t, map[string]string{
		"SHOP_DATABASE_URL": dbURL,
		"SHOP_REDIS_URL":    testenv.RedisURL(),
		"SHOP_SEED":         "false",
		// Shorter than the defaults (10s, 5s) so that the test is quick; what they bound is
		// the same.
		"SHOP_REQUEST_TIMEOUT": "2s", "SHOP_DB_STATEMENT_TIMEOUT": "3s",
	})
	// A product page read before Postgres turns slow is in the cache.
	if status, _ := body(t, url+"/products/1"); status != 200 {
		t.Fatalf("GET /products/1 = %d, want 200", status)
	}
	release := lockProducts(t, dbURL)

	const clients = 50
	impatient := &http.Client{Timeout: time.Second}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			// Ten different searches, five clients each: shared loads and separate ones.
			resp, err := impatient.Get(fmt.Sprintf("%s/search?q=heart+w%d", url, i%10))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	if !eventually(30*time.Second, func() bool { return activeQueries(t, dbURL, "p.search @@ to_tsquery") > 0 }) {
		t.Fatal("the searches never reached Postgres")
	}
	// A patient client is answered when its request's deadline passes: 503, not a hang.
	patient := &http.Client{Timeout: 60 * time.Second}
	if resp, err := patient.Get(url + "/search?q=patient"); err != nil {
		t.Errorf("GET /search while Postgres is slow: %v, want a 503 at the request's deadline", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET /search while Postgres is slow = %d, want 503 at the request's deadline", resp.StatusCode)
		}
	}
	wg.Wait() // every client has given up (or, improbably, been answered)

	if !eventually(30*time.Second, func() bool { return activeQueries(t, dbURL, "p.search @@ to_tsquery") == 0 }) {
		t.Errorf("%d abandoned searches still running on Postgres 30s after their clients left, want 0",
			activeQueries(t, dbURL, "p.search @@ to_tsquery"))
	}
	// Meanwhile (the table still locked) the shop answers: it is ready, and a cached page
	// is served.
	ready := eventually(30*time.Second, func() bool {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if !ready {
		_, b := body(t, url+"/readyz")
		t.Errorf("GET /readyz after the clients left = %s, want 200 (the pool is not held by abandoned loads)", b)
	}
	if status, page := body(t, url+"/products/1"); status != 200 || !strings.Contains(page, "White Hanging Heart") {
		t.Errorf("GET /products/1 (cached) while Postgres is slow = %d, want 200", status)
	}
	release()
}

// TestStatementTimeout: a statement that runs longer than SHOP_DB_STATEMENT_TIMEOUT is ended
// by Postgres, whoever waits for it (here a background write with no deadline of its own:
// the views flusher, held by a table lock), so that the pool is not held forever.
func TestStatementTimeout(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	url, logs := startShopLogs(t, map[string]string{
		"SHOP_DATABASE_URL":         dbURL,
		"SHOP_REDIS_URL":            testenv.RedisURL(),
		"SHOP_SEED":                 "false",
		"SHOP_DB_STATEMENT_TIMEOUT": "1s",
		"SHOP_VIEWS_FLUSH_INTERVAL": "100ms",
	})
	if status, _ := body(t, url+"/products/1"); status != 200 { // a view to flush
		t.Fatalf("GET /products/1 = %d, want 200", status)
	}
	release := lockProducts(t, dbURL)
	defer release()
	if !eventually(60*time.Second, func() bool {
		return strings.Contains(logs.String(), "57014") || strings.Contains(logs.String(), "statement timeout")
	}) {
		t.Fatalf("no statement was ended by statement_timeout while the table was locked; logs:\n%s", logs)
	}
}
