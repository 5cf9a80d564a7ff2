package app

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/leaderboard"
)

// The warm-up at start (Start runs it in the background, so it never delays serving): the
// product pages of the Config.WarmUp all-time bestsellers — the head of the shop's traffic — are read once
// through the cache, so that this instance's near cache holds them, and Redis too if no
// instance had them, before the first visitors ask.
const (
	warmUpConcurrency = 4                // reads at once: a newly started instance must not swamp Postgres
	warmUpTimeout     = 20 * time.Second // the whole warm-up gives up after this
)

// warmUp reads the product pages of the top bestsellers through the cache and logs what it
// did: how many pages, how many were already in Redis, how many were loaded from Postgres.
func (a *App) warmUp(ctx context.Context) {
	if !a.cfg.CacheEnabled || a.cfg.WarmUp <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, warmUpTimeout)
	defer cancel()
	start := time.Now()
	top, err := a.Board.Top(ctx, leaderboard.AllTime, a.cfg.WarmUp)
	if err != nil {
		a.log.Warn("cache warm-up skipped: no bestseller board", "err", err)
		return
	}
	var hits, loaded, failed atomic.Int64
	ids := make(chan int64)
	var wg sync.WaitGroup
	for range warmUpConcurrency {
		wg.Go(func() {
			for id := range ids {
				rctx, stats := reqstats.Start(ctx)
				if _, err := a.Catalog.FindProductPage(rctx, id); err != nil {
					failed.Add(1)
					continue
				}
				switch cache.Result(stats.Result(keys.Product(id))) {
				case cache.HitL1, cache.HitRedis:
					hits.Add(1)
				default:
					loaded.Add(1)
				}
			}
		})
	}
feed:
	for _, e := range top {
		select {
		case ids <- e.ProductID:
		case <-ctx.Done():
			break feed
		}
	}
	close(ids)
	wg.Wait()
	log := a.log.Info
	if ctx.Err() != nil || failed.Load() > 0 {
		log = a.log.Warn
	}
	log("cache warm-up: bestsellers' product pages read", "pages", hits.Load()+loaded.Load(), "of", len(top),
		"already_in_redis", hits.Load(), "loaded_from_postgres", loaded.Load(), "failed", failed.Load(),
		"took", time.Since(start).Round(time.Millisecond), "timed_out", ctx.Err() != nil)
}
