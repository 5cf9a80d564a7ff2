package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/leaderboard"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWarmUpReadsTheBestsellersPages: Start returns at once and reads the product pages of
// the top bestsellers in the background, into Redis and the near cache, and logs so.
func TestWarmUpReadsTheBestsellersPages(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	cfg := app.Defaults(testenv.SeededDBURL(t), testenv.RedisURL())
	cfg.Seed, cfg.RedisKeyPrefix, cfg.WarmUp = false, prefix, 7
	logs := &syncBuffer{}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Start(context.Background())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "cache warm-up"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warm-up logged; logs:\n%s", logs.String())
		}
	}
	if line := logs.String(); !strings.Contains(line, "pages=7 of=7 already_in_redis=0 loaded_from_postgres=7 failed=0") {
		t.Fatalf("warm-up log = %s; want 7 pages loaded", line)
	}
	top, err := a.Board.Top(context.Background(), leaderboard.AllTime, 7)
	if err != nil || len(top) != 7 {
		t.Fatalf("top 7 = %v, %v", top, err)
	}
	for _, e := range top {
		if n := rdb.Exists(context.Background(), prefix+keys.Product(e.ProductID)).Val(); n != 1 {
			t.Errorf("bestseller %d's page is not in Redis after the warm-up", e.ProductID)
		}
	}
	if n := a.Cache.NearSize(); n < 7 {
		t.Errorf("near cache holds %d entries; want the 7 pages at least", n)
	}
}
