package cache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// Reads on an Uncounted context are served as any other, and leave the counters alone.
func TestUncountedReads(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	c, a := newAside(t, rdb, prefix, cache.AsideOptions{})
	src := &source{}
	src.write("watched")
	ctx := cache.Uncounted(context.Background())
	for range 3 {
		if v, err := a.Get(ctx, "thing:1", src.load); err != nil || v.Name != "watched" {
			t.Fatalf("uncounted Get = %+v, %v", v, err)
		}
	}
	many := func(ctx context.Context, missing []int) (map[int]cache.Versioned[item], error) {
		out := map[int]cache.Versioned[item]{}
		for _, i := range missing {
			out[i] = cache.Versioned[item]{Value: item{Name: "other"}, Version: 1}
		}
		return out, nil
	}
	if vs, found, err := a.GetMany(ctx, []string{"thing:1", "thing:2"}, many); err != nil || !found[0] || !found[1] || vs[0].Name != "watched" {
		t.Fatalf("uncounted GetMany = %+v, %v, %v", vs, found, err)
	}
	s := c.Stats()[0]
	if s.Requests() != 0 || s.Loads != 0 {
		t.Errorf("after uncounted reads: %d reads, %d loads counted; want none", s.Requests(), s.Loads)
	}
	if _, err := a.Get(context.Background(), "thing:1", src.load); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats()[0]; s.Requests() != 1 || s.HitsRedis != 1 {
		t.Errorf("after a counted hit: %+v; want one Redis hit", s)
	}
}

// An unprotected cache (the Lab's naive cache-aside) lets every concurrent miss load; the
// protected one loads once.
func TestUnprotectedStampede(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	_, naive := newAside(t, rdb, prefix, cache.AsideOptions{Unprotected: true})
	src := &source{delay: 50 * time.Millisecond}
	src.write("popular")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			if _, err := naive.Get(context.Background(), "thing:hot", src.load); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := src.loads.Load(); n < 2 {
		t.Errorf("20 concurrent cold reads without protection made %d loads; want several", n)
	}
}

// ForceOpen skips every call, as an open breaker does, until it ends or is undone.
func TestGuardForceOpen(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	g := cache.NewGuard(cache.GuardOptions{CallTimeout: 3 * time.Second})
	g.Install(rdb)
	ctx := context.Background()
	if err := rdb.Set(ctx, prefix+"k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	g.ForceOpen(time.Now().Add(time.Hour))
	if err := rdb.Get(ctx, prefix+"k").Err(); !errors.Is(err, cache.ErrBypass) {
		t.Errorf("GET while forced open = %v, want ErrBypass", err)
	}
	if g.Available() || !g.Forced() {
		t.Error("forced open, yet Available or not Forced")
	}
	g.ForceOpen(time.Time{})
	if v, err := rdb.Get(ctx, prefix+"k").Result(); err != nil || v != "v" {
		t.Errorf("GET after ForceOpen ended = %q, %v", v, err)
	}
	if !g.Available() || g.Forced() {
		t.Error("undone, yet not Available or still Forced")
	}
}
