package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/internal/testenv"
)

// TestLiveColumnTypeChange: a migration that changes a column's type while the shop serves
// (every pooled connection has its statements prepared) gives no error page. Postgres
// refuses to run a prepared statement whose result type changed ("cached plan must not
// change result type", SQLSTATE 0A000); the shop reads again on fresh connections.
func TestLiveColumnTypeChange(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	// The cache off: every page reads Postgres, on every pooled connection.
	srv := newShop(t, dbURL, func(c *app.Config) { c.CacheEnabled = false })
	paths := []string{"/products/1", "/products/2", "/products", "/search?q=heart", "/"}

	var served atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(srv.URL + paths[(w+i)%len(paths)])
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				served.Add(1)
			}
		})
	}
	waitServed := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for served.Load() < n {
			if time.Now().After(deadline) {
				close(stop)
				t.Fatalf("only %d pages served in 60s, want %d", served.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitServed(100) // every connection of the pool has prepared the pages' statements

	pool := testenv.Pool(t, dbURL)
	if _, err := pool.Exec(context.Background(), `ALTER TABLE products ALTER COLUMN currency TYPE varchar(3)`); err != nil {
		close(stop)
		t.Fatal(err)
	}
	waitServed(served.Load() + 100)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if statuses[http.StatusOK] == 0 || len(statuses) != 1 {
		t.Errorf("statuses of pages served across the column's type change = %v, want only 200", fmt.Sprint(statuses))
	}
}
