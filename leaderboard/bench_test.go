package leaderboard_test

import (
	"context"
	"testing"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/leaderboard"
)

// The top-10 read paths of the home panel, with Redis round trips and Postgres queries per
// read (docs/benchmarks.md):
//
//	go test -run '^$' -bench Top10 -benchmem ./leaderboard
func BenchmarkTop10(b *testing.B) {
	pool := testenv.SeededDB(b)
	rdb, prefix := testenv.Redis(b)
	rdb.AddHook(reqstats.RedisHook{})
	board := leaderboard.New(rdb, pool, prefix, discard)
	if _, err := board.Rebuild(context.Background()); err != nil {
		b.Fatal(err)
	}
	store := catalog.NewStore(pool)
	paths := []struct {
		name string
		read func(context.Context) (int, error)
	}{
		{"cached", func(ctx context.Context) (int, error) {
			top, err := board.Top(ctx, leaderboard.AllTime, 10)
			return len(top), err
		}},
		{"fresh", func(ctx context.Context) (int, error) {
			top, err := board.Fresh(ctx, leaderboard.AllTime, 10)
			return len(top), err
		}},
		{"rolling7d", func(ctx context.Context) (int, error) {
			top, err := board.Top(ctx, leaderboard.Scope{Week: true}, 10)
			return len(top), err
		}},
		{"sql", func(ctx context.Context) (int, error) {
			top, err := store.ListBestsellers(ctx, 10)
			return len(top), err
		}},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			ctx, stats := reqstats.Start(context.Background())
			if _, err := p.read(context.Background()); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			s := stats.Snapshot()
			b.ReportMetric(float64(s.RedisCalls)/float64(b.N), "redis-rt/op")
			b.ReportMetric(float64(s.DBQueries)/float64(b.N), "pg-queries/op")
		})
	}
}

// BenchmarkRank is the product page's rank lookup (one script call).
func BenchmarkRank(b *testing.B) {
	pool := testenv.SeededDB(b)
	rdb, prefix := testenv.Redis(b)
	board := leaderboard.New(rdb, pool, prefix, discard)
	ctx := context.Background()
	if _, err := board.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := board.Rank(ctx, 55); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuild is `shop leaderboard rebuild` over the real history.
func BenchmarkRebuild(b *testing.B) {
	pool := testenv.SeededDB(b)
	rdb, prefix := testenv.Redis(b)
	board := leaderboard.New(rdb, pool, prefix, discard)
	for b.Loop() {
		if _, err := board.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
