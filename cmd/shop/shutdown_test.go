package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
)

// TestShutdownDrainsFirst is a graceful stop as a load balancer needs it: once run's context
// ends (SIGTERM), /readyz answers 503 while the listener still accepts, and a request in
// flight (held by a table lock) completes before run returns.
func TestShutdownDrainsFirst(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	shop := startRun(t, map[string]string{
		"SHOP_DATABASE_URL": dbURL,
		"SHOP_REDIS_URL":    testenv.RedisURL(),
		"SHOP_SEED":         "false",
		"SHOP_DRAIN_DELAY":  "5s",
		// The held request waits for the test, not for a deadline.
		"SHOP_REQUEST_TIMEOUT": "60s", "SHOP_LOAD_TIMEOUT": "60s", "SHOP_DB_STATEMENT_TIMEOUT": "60s",
	})
	release := lockProducts(t, dbURL)
	type answer struct {
		status int
		body   string
		err    error
	}
	inFlight := make(chan answer, 1)
	go func() {
		resp, err := http.Get(shop.url + "/products/3")
		if err != nil {
			inFlight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inFlight <- answer{resp.StatusCode, string(b), err}
	}()
	if !eventually(30*time.Second, func() bool { return activeQueries(t, dbURL, "FROM products p WHERE p.id") > 0 }) {
		t.Fatal("the product page's query never reached Postgres")
	}

	shop.stop() // SIGTERM
	var last string
	draining := eventually(30*time.Second, func() bool {
		resp, err := http.Get(shop.url + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = resp.Status + " " + string(b)
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if !draining {
		t.Errorf("GET /readyz after SIGTERM: last %s; want 503 from a listener still open", last)
	}
	select {
	case <-shop.finished:
		t.Fatalf("run returned (%v) while a request was in flight", *shop.err)
	default:
	}

	release()
	a := <-inFlight
	if a.err != nil || a.status != 200 || !strings.Contains(a.body, "</html>") {
		t.Errorf("the request in flight at SIGTERM = %d %v, want 200 with the whole page", a.status, a.err)
	}
	select {
	case <-shop.finished:
		if *shop.err != nil {
			t.Errorf("run = %v, want nil after a graceful stop", *shop.err)
		}
	case <-time.After(60 * time.Second):
		t.Error("run did not return after SIGTERM")
	}
}
