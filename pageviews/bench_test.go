package pageviews_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/pageviews"
)

// Views per second, written behind through Redis (with the flusher running every 100 ms)
// and the same load written straight to Postgres, side by side (docs/benchmarks.md):
//
//	go test -run '^$' -bench View -benchmem -cpu 1,2,8 ./views
func BenchmarkView(b *testing.B) {
	b.Run("write-behind", func(b *testing.B) {
		pool := newDB(b)
		rdb, prefix := testenv.Redis(b)
		c := pageviews.NewCounter(rdb, pool, prefix)
		f := pageviews.NewFlusher(c, 100*time.Millisecond, discard)
		f.Start()
		ctx := context.Background()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.View(ctx, int64(1+rand.IntN(products))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		if err := f.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
		if _, sum := flushed(b, pool); sum != int64(b.N) {
			b.Errorf("Postgres holds %d views, want %d", sum, b.N)
		}
	})
	b.Run("straight-to-postgres", func(b *testing.B) {
		pool := newDB(b)
		ctx := context.Background()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var n int64
				err := pool.QueryRow(ctx, `INSERT INTO product_views AS v (product_id, views) VALUES ($1, 1)
					ON CONFLICT (product_id) DO UPDATE SET views = v.views + 1, updated_at = now()
					RETURNING views`, 1+rand.IntN(products)).Scan(&n)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
	})
}
