package cache_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// Run: go test -run '^$' -bench . -benchmem ./cache

func BenchmarkGet(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	src := &source{}
	src.write("lantern")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		l1   cache.L1Options
	}{
		{"hit-redis", cache.L1Options{}},
		{"hit-l1", cache.L1Options{Size: 1000, TTL: time.Minute}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := cache.New(rdb, cache.Options{Prefix: prefix})
			a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute}, L1: tc.l1})
			if _, err := a.Get(ctx, "thing:bench", src.load); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Get(ctx, "thing:bench", src.load); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("miss-fill", func(b *testing.B) {
		c := cache.New(rdb, cache.Options{Prefix: prefix})
		a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute}})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := a.Get(ctx, "thing:miss:"+strconv.Itoa(i), src.load); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefreshAheadZipf is a load run in a benchmark's clothes: for 20 s per setting,
// 32 goroutines read keys drawn from a Zipf distribution (1,000 keys, s = 1.1) through a
// near cache (TTL 500 ms) and Redis, with a loader that takes 50 ms (as SHOP_DB_LATENCY=50ms)
// and a TTL short enough (3 s) that hot keys expire several times during the run. With
// refresh-ahead off, each expiry of a hot key makes its readers wait for a load; with it on
// (beta 1), the key is reloaded in the background just before. It reports reads per second,
// the read latency's percentiles (µs), the share of reads that waited for a load, and the
// misses of the ten hottest keys, all after every key was cached once. The run's length is
// fixed, whatever b.N:
//
//	go test -run '^$' -bench RefreshAheadZipf -benchtime 1x ./cache
func BenchmarkRefreshAheadZipf(b *testing.B) {
	const runFor, readers = 20 * time.Second, 32
	rdb, prefix := testenv.Redis(b)
	cache.NewGuard(cache.GuardOptions{CallTimeout: 3 * time.Second}).Install(rdb)
	for _, beta := range []float64{0, 1} {
		b.Run("beta="+strconv.FormatFloat(beta, 'g', -1, 64), func(b *testing.B) {
			var hotMisses atomic.Int64
			c := cache.New(rdb, cache.Options{Prefix: prefix + b.Name() + ":", RefreshAheadBeta: beta,
				Observer: func(_ context.Context, _, key string, r cache.Result, _ time.Duration) {
					if r == cache.Miss && len(key) == len("thing:0") {
						hotMisses.Add(1)
					}
				}})
			a := cache.NewAside[item](c, "thing", cache.AsideOptions{
				TTL: cache.TTL{Base: 3 * time.Second, Jitter: cache.DefaultJitter},
				L1:  cache.L1Options{Size: 10_000, TTL: 500 * time.Millisecond},
			})
			load := func(ctx context.Context) (item, int64, error) {
				time.Sleep(50 * time.Millisecond)
				return item{Name: "lantern"}, 1, nil
			}
			var wg sync.WaitGroup
			for k := range 1000 { // every key cached once before the run: no cold start counted
				wg.Go(func() { _, _ = a.Get(context.Background(), "thing:"+strconv.Itoa(k), load) })
			}
			wg.Wait()
			before := c.Stats()[0]
			hotMisses.Store(0)
			var mu sync.Mutex
			var all []time.Duration
			end := time.Now().Add(runFor)
			for range readers {
				wg.Go(func() {
					z := rand.NewZipf(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), 1.1, 1, 999)
					var mine []time.Duration
					ctx := context.Background()
					for time.Now().Before(end) {
						key := "thing:" + strconv.FormatUint(z.Uint64(), 10)
						start := time.Now()
						if _, err := a.Get(ctx, key, load); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(start))
					}
					mu.Lock()
					all = append(all, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			slices.Sort(all)
			at := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e3 }
			s := c.Stats()[0]
			b.ReportMetric(float64(len(all))/runFor.Seconds(), "reads/s")
			b.ReportMetric(at(0.50), "p50-µs")
			b.ReportMetric(at(0.99), "p99-µs")
			b.ReportMetric(at(0.999), "p99.9-µs")
			b.ReportMetric(100*float64(s.Misses-before.Misses)/float64(s.Requests()-before.Requests()), "%miss")
			b.ReportMetric(float64(hotMisses.Load()), "top10-misses")
			b.ReportMetric(float64(s.Refreshes-before.Refreshes), "refreshes")
			b.ReportMetric(float64(s.Loads-before.Loads), "loads")
		})
	}
}
