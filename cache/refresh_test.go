package cache_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/keys"
)

// refreshShop is one process's cache with refresh-ahead at beta, its XFetch draw fixed at
// draw, whose reads' results are recorded.
type refreshShop struct {
	c  *cache.Cache
	a  *cache.Aside[item]
	mu sync.Mutex
	rs []cache.Result
}

func newRefreshShop(t *testing.T, prefix string, beta, draw float64, l1 cache.L1Options) *refreshShop {
	return newRefreshShopLease(t, prefix, beta, draw, l1, time.Minute)
}

func newRefreshShopLease(t *testing.T, prefix string, beta, draw float64, l1 cache.L1Options, lease time.Duration) *refreshShop {
	t.Helper()
	rdb := newClient(t)
	cache.NewGuard(cache.GuardOptions{CallTimeout: 3 * time.Second}).Install(rdb)
	s := &refreshShop{}
	s.c = cache.New(rdb, cache.Options{Prefix: prefix, RefreshAheadBeta: beta,
		Observer: func(_ context.Context, _, _ string, r cache.Result, _ time.Duration) {
			s.mu.Lock()
			s.rs = append(s.rs, r)
			s.mu.Unlock()
		}})
	s.c.SetRand(func() float64 { return draw })
	// The lease a refresh takes is left to expire after its fill: long by default, so that
	// no second refresh can start during the test however slow the machine.
	s.a = cache.NewAside[item](s.c, "thing", cache.AsideOptions{
		TTL: cache.TTL{Base: time.Minute}, NotFound: errNotFound, LeaseTTL: lease, L1: l1,
	})
	return s
}

// newClient is a client of the test Redis of its own (a process's), closed after the test.
func newClient(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func (s *refreshShop) stats() cache.StatsSnapshot {
	for _, st := range s.c.Stats() {
		if st.Name == "thing" {
			return st
		}
	}
	return cache.StatsSnapshot{}
}

func (s *refreshShop) results() []cache.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]cache.Result(nil), s.rs...)
}

// TestRefreshAheadOneReloadNoMiss: two processes (one with a near cache, one without) read a
// key whose Redis entry is near its expiry, concurrently, each read drawing "early": exactly
// one reload happens, under the lease, while every read is a hit on the value there was;
// the entry then has a full TTL again. The draw of a key far from its expiry reloads nothing.
func TestRefreshAheadOneReloadNoMiss(t *testing.T) {
	_, prefix := testenv.Redis(t)
	rdb := newClient(t)
	ctx := context.Background()
	src := &source{delay: time.Millisecond} // a load takes time: delta > 0
	src.write("lantern")

	// A draw of 0.5 weighs the load time by ln 2: far less than a minute.
	far := newRefreshShopLease(t, prefix, 1, 0.5, cache.L1Options{Size: 100, TTL: time.Minute}, 300*time.Millisecond)
	if _, err := far.a.Get(ctx, "thing:1", src.load); err != nil {
		t.Fatal(err)
	}
	stored, err := rdb.Get(ctx, prefix+"thing:1").Result()
	if err != nil || !regexp.MustCompile(`^1:@\d+:\{"Name":"lantern"\}$`).MatchString(stored) {
		t.Fatalf("stored entry = %q, %v; want version, load time in µs, JSON", stored, err)
	}
	for range 50 {
		if _, err := far.a.Get(ctx, "thing:1", src.load); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.loads.Load(); n != 1 || far.a.Refreshing() != 0 {
		t.Fatalf("far from its expiry: %d loads, %d refreshing; want the fill's 1 and none", n, far.a.Refreshing())
	}

	// Near its expiry (the fill's lease gone), and every draw early (0: -ln 0 is infinite).
	waitUntil(t, 30*time.Second, "the fill's lease to expire", func() bool {
		n, err := rdb.Exists(ctx, prefix+keys.Lease(prefix+"thing:1")).Result()
		return err == nil && n == 0
	})
	if err := rdb.PExpire(ctx, prefix+"thing:1", 20*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	near := newRefreshShop(t, prefix, 1, 0, cache.L1Options{})
	withL1 := newRefreshShop(t, prefix, 1, 0, cache.L1Options{Size: 100, TTL: time.Minute})
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range []*refreshShop{near, withL1} {
		for range 8 {
			wg.Go(func() {
				<-start
				for range 20 {
					if v, err := s.a.Get(ctx, "thing:1", src.load); err != nil || v.Name != "lantern" {
						t.Errorf("Get = %+v, %v", v, err)
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	waitUntil(t, 30*time.Second, "refreshes to end", func() bool {
		return near.a.Refreshing() == 0 && withL1.a.Refreshing() == 0 && src.loads.Load() >= 2
	})
	if n := src.loads.Load(); n != 2 {
		t.Fatalf("%d loads; want the fill and exactly one early reload", n)
	}
	if r := near.stats().Refreshes + withL1.stats().Refreshes; r != 1 {
		t.Fatalf("%d refreshes counted; want 1", r)
	}
	for _, s := range []*refreshShop{near, withL1} {
		for _, r := range s.results() {
			if r != cache.HitRedis && r != cache.HitL1 {
				t.Fatalf("a read was %s; want every read a hit", r)
			}
		}
	}
	if pttl := rdb.PTTL(ctx, prefix+"thing:1").Val(); pttl < 40*time.Second {
		t.Fatalf("PTTL after the refresh = %v; want a new TTL of about a minute", pttl)
	}
}

// TestRefreshAheadOffWithBetaZero: with beta 0 no read reloads early, even one that draws 0
// on a key about to expire.
func TestRefreshAheadOffWithBetaZero(t *testing.T) {
	_, prefix := testenv.Redis(t)
	rdb := newClient(t)
	ctx := context.Background()
	src := &source{delay: time.Millisecond}
	src.write("lantern")
	for _, l1 := range []cache.L1Options{{}, {Size: 100, TTL: time.Minute}} {
		s := newRefreshShop(t, prefix, 0, 0, l1)
		for range 20 {
			if _, err := s.a.Get(ctx, "thing:1", src.load); err != nil {
				t.Fatal(err)
			}
			if err := rdb.PExpire(ctx, prefix+"thing:1", 10*time.Second).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if s.a.Refreshing() != 0 || s.stats().Refreshes != 0 {
			t.Fatalf("beta 0: %d refreshing, %d refreshed; want none", s.a.Refreshing(), s.stats().Refreshes)
		}
	}
	if n := src.loads.Load(); n != 1 {
		t.Fatalf("%d loads; want the one fill", n)
	}
}

// TestRefreshAheadYieldsToAWriter: a writer that writes through while a refresh loads wins;
// the refresh's older value is not stored. An entry in the shape before refresh-ahead
// ("<version>:<json>") is still read.
func TestRefreshAheadYieldsToAWriter(t *testing.T) {
	_, prefix := testenv.Redis(t)
	rdb := newClient(t)
	ctx := context.Background()
	src := &source{delay: time.Millisecond}
	src.write("lantern")
	if err := rdb.Set(ctx, prefix+"thing:1", `1:{"Name":"lantern"}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	s := newRefreshShop(t, prefix, 1, 0, cache.L1Options{})
	if v, err := s.a.Get(ctx, "thing:other", src.load); err != nil || v.Name != "lantern" { // a load: the cache's delta
		t.Fatalf("Get = %+v, %v", v, err)
	}
	wrote := make(chan struct{})
	s.a.SetAfterLoad(func(string) {
		v := src.write("lamp")
		if err := s.a.Set(ctx, "thing:1", item{Name: "lamp"}, v); err != nil {
			t.Error(err)
		}
		close(wrote)
	})
	if v, err := s.a.Get(ctx, "thing:1", src.load); err != nil || v.Name != "lantern" {
		t.Fatalf("Get of the old-shape entry = %+v, %v", v, err)
	}
	<-wrote
	waitUntil(t, 30*time.Second, "the refresh to end", func() bool { return s.a.Refreshing() == 0 })
	if got := rdb.Get(ctx, prefix+"thing:1").Val(); got != `2:{"Name":"lamp"}` {
		t.Fatalf("stored = %q; want the writer's version 2", got)
	}
	if refused := s.stats().FillsRefused; refused != 1 {
		t.Fatalf("%d fills refused; want the refresh's", refused)
	}
}
