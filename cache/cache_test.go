package cache_test

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

var errNotFound = errors.New("not found")

type item struct {
	Name string
}

// source is a fake table of the source of truth: a value and its version, and a count of
// loads. (The domain packages' own tests use the real Postgres; here the subject is the
// cache's protocol against a real Redis.)
type source struct {
	mu      sync.Mutex
	name    string
	version int64
	loads   atomic.Int64
	delay   time.Duration
}

func (s *source) load(ctx context.Context) (item, int64, error) {
	s.loads.Add(1)
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version == 0 {
		return item{}, 0, errNotFound
	}
	return item{Name: s.name}, s.version, nil
}

func (s *source) write(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.name = name
	s.version++
	return s.version
}

func newAside(t *testing.T, rdb *redis.Client, prefix string, o cache.AsideOptions) (*cache.Cache, *cache.Aside[item]) {
	t.Helper()
	cache.NewGuard(cache.GuardOptions{CallTimeout: 3 * time.Second}).Install(rdb) // not about timeouts
	c := cache.New(rdb, cache.Options{Prefix: prefix})
	if o.TTL.Base == 0 {
		o.TTL = cache.TTL{Base: time.Minute, Jitter: 0.1}
	}
	if o.NotFound == nil {
		o.NotFound = errNotFound
	}
	return c, cache.NewAside[item](c, "thing", o)
}

func TestCacheAsideHitMissFillTTL(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	var observed []cache.Result
	c := cache.New(rdb, cache.Options{Prefix: prefix, Observer: func(_ context.Context, _, _ string, r cache.Result, _ time.Duration) {
		observed = append(observed, r)
	}})
	a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: 100 * time.Second, Jitter: 0.1}, NotFound: errNotFound})
	src := &source{}
	src.write("lantern")
	ctx := context.Background()
	for range 3 {
		v, err := a.Get(ctx, "thing:1", src.load)
		if err != nil || v.Name != "lantern" {
			t.Fatalf("Get = %+v, %v", v, err)
		}
	}
	if src.loads.Load() != 1 {
		t.Errorf("loads = %d, want 1 (one miss, then hits)", src.loads.Load())
	}
	if want := []cache.Result{cache.Miss, cache.HitRedis, cache.HitRedis}; len(observed) != 3 || observed[0] != want[0] || observed[2] != want[2] {
		t.Errorf("results = %v, want %v", observed, want)
	}
	ttl := rdb.PTTL(ctx, prefix+"thing:1").Val()
	if ttl < 89*time.Second || ttl > 110*time.Second {
		t.Errorf("TTL = %v, want within 100 s ± 10 %%", ttl)
	}
	raw := rdb.Get(ctx, prefix+"thing:1").Val()
	if !regexp.MustCompile(`^1:@\d+:\{"Name":"lantern"\}$`).MatchString(raw) {
		t.Errorf("stored %q, want the version, the load time in µs, the JSON", raw)
	}
	s := c.Stats()[0]
	if s.Misses != 1 || s.HitsRedis != 2 || s.Loads != 1 || s.HitRatio() < 0.66 {
		t.Errorf("stats = %+v", s)
	}
}

func TestJitterSpreadsTTLs(t *testing.T) {
	ttl := cache.TTL{Base: 300 * time.Second, Jitter: 0.1}
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := ttl.Next()
		if d < 270*time.Second || d > 330*time.Second {
			t.Fatalf("Next() = %v, outside 300 s ± 10 %%", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if hi-lo < 40*time.Second {
		t.Errorf("1000 TTLs span only %v: not jittered", hi-lo)
	}
}

func TestNegativeCaching(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	_, a := newAside(t, rdb, prefix, cache.AsideOptions{NegativeTTL: cache.TTL{Base: 30 * time.Second}})
	src := &source{} // no row
	ctx := context.Background()
	for range 5 {
		if _, err := a.Get(ctx, "thing:404", src.load); !errors.Is(err, errNotFound) {
			t.Fatalf("Get of a missing row = %v, want errNotFound", err)
		}
	}
	if src.loads.Load() != 1 {
		t.Errorf("loads = %d, want 1: not-found is remembered", src.loads.Load())
	}
	// A row that appears is written through over the tombstone.
	v := src.write("new")
	if err := a.Set(ctx, "thing:404", item{Name: "new"}, v); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "thing:404", src.load); err != nil || got.Name != "new" {
		t.Errorf("after write-through: %+v, %v", got, err)
	}
}

func TestStampedeOneLoad(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	src := &source{delay: 50 * time.Millisecond}
	src.write("popular")
	for _, instances := range []int{1, 2} {
		t.Run(map[int]string{1: "one process", 2: "two processes"}[instances], func(t *testing.T) {
			src.loads.Store(0)
			key := "thing:hot" + string(rune('0'+instances))
			asides := make([]*cache.Aside[item], instances)
			for i := range asides {
				_, asides[i] = newAside(t, rdb, prefix, cache.AsideOptions{LeaseWait: 2 * time.Second})
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 500 {
				wg.Go(func() {
					<-start
					v, err := asides[i%instances].Get(context.Background(), key, src.load)
					if err != nil || v.Name != "popular" {
						t.Errorf("Get = %+v, %v", v, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := src.loads.Load(); n != 1 {
				t.Errorf("500 concurrent cold reads over %d instance(s) made %d loads, want 1", instances, n)
			}
		})
	}
}

// TestStaleSetRace makes the race deterministic: a reader misses and loads version 1; before
// it fills, a writer commits version 2 and writes through (or deletes). The reader must not
// put version 1 back. With the protection switched off, it does — the test shows both.
func TestStaleSetRace(t *testing.T) {
	for _, tc := range []struct {
		name      string
		protected bool
		write     func(ctx context.Context, a *cache.Aside[item], src *source) error
		want      string // what the cache holds after the race: the new value, or nothing
	}{
		{"write-through", true, func(ctx context.Context, a *cache.Aside[item], src *source) error {
			return a.Set(ctx, "thing:1", item{Name: "v2"}, src.write("v2"))
		}, `2:{"Name":"v2"}`},
		{"delete-on-write", true, func(ctx context.Context, a *cache.Aside[item], src *source) error {
			return a.Invalidate(ctx, "thing:1", src.write("v2"))
		}, ""},
		{"write-through, protection off", false, func(ctx context.Context, a *cache.Aside[item], src *source) error {
			return a.Set(ctx, "thing:1", item{Name: "v2"}, src.write("v2"))
		}, `1:{"Name":"v1"}`},
		{"delete-on-write, protection off", false, func(ctx context.Context, a *cache.Aside[item], src *source) error {
			return a.Invalidate(ctx, "thing:1", src.write("v2"))
		}, `1:{"Name":"v1"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := testenv.Redis(t)
			src := &source{}
			src.write("v1")
			loaded, release := make(chan struct{}), make(chan struct{})
			_, reader := newAside(t, rdb, prefix, cache.AsideOptions{})
			reader.SetAfterLoad(func(string) { close(loaded); <-release })
			if !tc.protected {
				reader.DisableStaleSetProtection()
			}
			_, writer := newAside(t, rdb, prefix, cache.AsideOptions{})
			ctx := context.Background()
			done := make(chan item)
			go func() {
				v, _ := reader.Get(ctx, "thing:1", src.load)
				done <- v
			}()
			<-loaded // the reader holds version 1, not yet filled
			if err := tc.write(ctx, writer, src); err != nil {
				t.Fatal(err)
			}
			close(release)
			<-done
			got, _ := rdb.Get(ctx, prefix+"thing:1").Result()
			if got != tc.want {
				t.Errorf("cache after the race = %q, want %q", got, tc.want)
			}
			if !tc.protected && got == `1:{"Name":"v1"}` {
				t.Log("without the protection the stale value v1 was put back over v2, as expected")
			}
		})
	}
}

func TestWriteThroughKeepsTheNewestVersion(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	_, a := newAside(t, rdb, prefix, cache.AsideOptions{})
	ctx := context.Background()
	// Two writers committed 2 then 3, and their cache writes arrive out of order.
	if err := a.Set(ctx, "thing:1", item{Name: "v3"}, 3); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(ctx, "thing:1", item{Name: "v2"}, 2); err != nil {
		t.Fatal(err)
	}
	if err := a.Invalidate(ctx, "thing:1", 2); err != nil { // an old invalidation
		t.Fatal(err)
	}
	if got := rdb.Get(ctx, prefix+"thing:1").Val(); got != `3:{"Name":"v3"}` {
		t.Errorf("after Set(v3), Set(v2), Invalidate(2): %q, want v3", got)
	}
	if err := a.Invalidate(ctx, "thing:1", 4); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, prefix+"thing:1").Val(); n != 0 {
		t.Error("Invalidate(4) kept version 3")
	}
}

func TestRedisAwayFailsOpen(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	var last atomic.Value
	cache.NewGuard(cache.GuardOptions{BreakerCooldown: 500 * time.Millisecond}).Install(rdb)
	c := cache.New(rdb, cache.Options{Observer: func(_ context.Context, _, _ string, r cache.Result, _ time.Duration) {
		last.Store(r)
	}})
	a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute}, NotFound: errNotFound})
	src := &source{delay: 20 * time.Millisecond}
	src.write("sturdy")
	ctx := context.Background()
	if _, err := a.Get(ctx, "thing:1", src.load); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	src.loads.Store(0)
	for round := range 5 {
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if v, err := a.Get(ctx, "thing:1", src.load); err != nil || v.Name != "sturdy" {
					t.Errorf("round %d: Get with Redis down = %+v, %v; want the value from the source", round, v, err)
				}
			})
		}
		wg.Wait()
	}
	if last.Load() != cache.Bypass {
		t.Errorf("last result with Redis down = %v, want BYPASS", last.Load())
	}
	if n := src.loads.Load(); n > 10 {
		t.Errorf("500 reads in 5 waves with Redis down made %d loads; singleflight should merge each wave", n)
	}

	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		a.Get(ctx, "thing:1", src.load)
		if last.Load() == cache.HitRedis {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("no Redis hit within 5 s after Redis came back (last result %v)", last.Load())
}

// listening is a Witness that is always connected: the Postgres listener's part in
// TestRedisAwayKeepsLoadsLonger (pgnotify's tests run the real one).
type listening struct{}

func (listening) Session() (uint64, bool) { return 1, true }

// TestRedisAwayKeepsLoadsLonger: with Redis away and the Witness vouching, a value loaded
// from the source is kept in the near cache for about a minute instead of the near cache's
// TTL, so that an outage does not load every key again each TTL; without a Witness it is
// not kept at all; with Redis back, a value read from Redis gets the usual TTL.
func TestRedisAwayKeepsLoadsLonger(t *testing.T) {
	for _, witness := range []bool{true, false} {
		srv := testenv.StartRedis(t)
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
		t.Cleanup(func() { rdb.Close() })
		cache.NewGuard(cache.GuardOptions{}).Install(rdb)
		type seen struct {
			r   cache.Result
			ttl time.Duration
		}
		var last atomic.Value
		c := cache.New(rdb, cache.Options{Observer: func(_ context.Context, _, _ string, r cache.Result, ttl time.Duration) {
			last.Store(seen{r, ttl})
		}})
		if witness {
			c.SetWitness(listening{})
		}
		const l1 = 2 * time.Second
		a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Hour}, NotFound: errNotFound, L1: cache.L1Options{Size: 10, TTL: l1}})
		src := &source{}
		src.write("sturdy")
		ctx := context.Background()

		srv.Stop()
		if _, err := a.Get(ctx, "thing:1", src.load); err != nil {
			t.Fatal(err)
		}
		a.Get(ctx, "thing:1", src.load)
		got := last.Load().(seen)
		switch {
		case witness && (got.r != cache.HitL1 || got.ttl < 45*time.Second):
			t.Errorf("second read with Redis away, listener up = %s with %s left, want HIT-L1 kept about a minute", got.r, got.ttl)
		case !witness && got.r == cache.HitL1:
			t.Errorf("second read with Redis away, no listener = %s, want no near-cache hit", got.r)
		}
		if !witness {
			continue
		}
		srv.Start()
		a.Invalidate(ctx, "thing:1", 0) // Redis back: the next value comes through it
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			a.Get(ctx, "thing:1", src.load)
			if got := last.Load().(seen); got.r == cache.HitRedis || got.r == cache.HitL1 && got.ttl <= l1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no read through Redis within 10 s after it came back (last %+v)", last.Load())
			}
		}
		a.Get(ctx, "thing:1", src.load)
		if got := last.Load().(seen); got.r != cache.HitL1 || got.ttl > l1 {
			t.Errorf("read with Redis back = %s with %s left, want HIT-L1 within the near cache's %s", got.r, got.ttl, l1)
		}
	}
}
