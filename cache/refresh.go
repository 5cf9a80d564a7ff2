package cache

import (
	"context"
	"encoding/json"
	"math"
	"time"
)

// Refresh-ahead by probabilistic early expiration (XFetch: Vattani, Chierichetti and
// Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015). A read that
// finds a value with ttlLeft to live, whose load took delta, reloads it early when
//
//	-delta × beta × ln(rand()) ≥ ttlLeft,   rand() uniform in [0, 1)
//
// which almost never happens long before the expiry and ever more often as it nears, the
// sooner the slower the load. The paper proves this spreads the recomputations of a key so
// that, with beta = 1, about one happens per expiry, just before it. Here the read that draws
// it is not made to wait: it returns the value it found (a hit) and starts the reload in the
// background, under the key's lease, so that one process at a time reloads a key (the others
// find the lease taken and keep serving). A hot key thus never misses: its value is replaced
// before it expires. A larger beta refreshes earlier; 0 turns refresh-ahead off.

// early reports whether a read that found a value with ttlLeft to live, loaded in delta,
// refreshes it now (the XFetch draw).
func (c *Cache) early(delta, ttlLeft time.Duration) bool {
	if c.beta <= 0 || delta <= 0 {
		return false
	}
	gap := -float64(delta) * c.beta * math.Log(c.rand()) // +Inf when rand() is 0
	return gap >= float64(ttlLeft)
}

// delta is the load time to weigh a cached value by: its own, or when it has none recorded
// (written through by a writer, or by an older version of the shop), this cache's last one.
func (a *Aside[T]) delta(own time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return time.Duration(a.lastLoad.Load())
}

// maybeRefresh draws whether to refresh key, found with ttlLeft to live, early, and if so
// starts it in the background — one at a time per key in this process.
func (a *Aside[T]) maybeRefresh(key string, load Loader[T], delta, ttlLeft time.Duration) {
	if !a.c.early(a.delta(delta), ttlLeft) {
		return
	}
	a.mu.Lock()
	if a.refreshing[key] {
		a.mu.Unlock()
		return
	}
	a.refreshing[key] = true
	a.mu.Unlock()
	go func() {
		defer func() {
			a.mu.Lock()
			delete(a.refreshing, key)
			a.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), a.c.loadMax)
		defer cancel()
		a.refresh(ctx, key, load)
	}()
}

// refresh reloads key and stores it again with a new TTL, if it can take the key's lease
// (else another process is loading it, or has just refreshed it: the lease is left to
// expire after a fill). The fill is refused, as any fill is, when a writer came in between.
func (a *Aside[T]) refresh(ctx context.Context, key string, load Loader[T]) {
	m := a.c.mark()
	token := newToken()
	got, err := a.c.rdb.SetNX(ctx, a.c.leaseKey(key), token, a.o.LeaseTTL).Result()
	if err != nil || !got {
		a.countError(err)
		return
	}
	a.stats.loads.Add(1)
	a.stats.refreshes.Add(1)
	start := time.Now()
	v, version, err := load(ctx)
	delta := time.Since(start)
	if a.afterLoad != nil {
		a.afterLoad(key)
	}
	var payload []byte
	if err == nil {
		payload, err = json.Marshal(v)
	}
	if err != nil {
		// Not found (deleted meanwhile) or failing: leave the key to its TTL and the usual
		// miss path, which remembers a "not found" or serves stale-if-error.
		_ = releaseScript.Run(context.WithoutCancel(ctx), a.c.rdb, []string{a.c.leaseKey(key)}, token).Err()
		return
	}
	a.lastLoad.Store(int64(delta))
	ttl := a.o.TTL.Next()
	if a.fillAs(ctx, key, token, encode(version, delta, payload), ttl, version, true) {
		a.keepNear(key, v, version, ttl, delta, m)
	}
}
