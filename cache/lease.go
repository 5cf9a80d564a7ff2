package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// loadAndFill is the miss path: lease, load, fill.
func (a *Aside[T]) loadAndFill(ctx context.Context, key string, load Loader[T]) (T, error) {
	var zero T
	if a.unprotected || a.o.Unprotected {
		a.countLoad(ctx)
		v, version, err := load(ctx)
		if a.afterLoad != nil {
			a.afterLoad(key)
		}
		if err != nil {
			return zero, err
		}
		payload, _ := json.Marshal(v)
		_ = a.c.rdb.Set(ctx, a.c.Key(key), encode(version, 0, payload), a.c.storedFor(a.o.TTL.Next())).Err()
		return v, nil
	}

	m := a.c.mark()
	token := newToken()
	got, err := a.c.rdb.SetNX(ctx, a.c.leaseKey(key), token, a.o.LeaseTTL).Result()
	if err != nil {
		a.countError(err)
		return a.load(ctx, key, load, true)
	}
	if !got {
		// Another process is loading this key: wait a little for its value.
		if v, err, ok := a.waitForFill(ctx, key); ok {
			return v, err
		}
		return a.load(ctx, key, load, false) // it took too long: load, but leave the filling to it
	}

	a.countLoad(ctx)
	start := time.Now()
	v, version, err := load(ctx)
	delta := time.Since(start)
	if a.afterLoad != nil {
		a.afterLoad(key)
	}
	switch {
	case err != nil && a.o.NotFound != nil && errors.Is(err, a.o.NotFound) && a.o.NegativeTTL.Base > 0:
		a.fill(ctx, key, token, tombstone, a.o.NegativeTTL.Next(), 0)
		return zero, err
	case err != nil:
		// Also when the load was cancelled (every caller left): others need not wait out
		// the lease. The guard bounds the call.
		_ = releaseScript.Run(context.WithoutCancel(ctx), a.c.rdb, []string{a.c.leaseKey(key)}, token).Err()
		return zero, err
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return zero, fmt.Errorf("cache: encode %s: %w", key, err)
	}
	a.lastLoad.Store(int64(delta))
	ttl := a.o.TTL.Next()
	if a.fill(ctx, key, token, encode(version, delta, payload), ttl, version) {
		a.keepNear(key, v, version, ttl, delta, m)
	}
	return v, nil
}

// waitForFill polls key until the lease holder fills it or LeaseWait passes. ok is false
// when the wait ran out (or Redis failed) and the caller must load for itself.
func (a *Aside[T]) waitForFill(ctx context.Context, key string) (v T, err error, ok bool) {
	m := a.c.mark()
	deadline := time.Now().Add(a.o.LeaseWait)
	pause := 2 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return v, ctx.Err(), true
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
		e, ttl, rerr := a.read(ctx, a.c.rdb, key) // the primary: the holder fills there
		_, fresh := a.c.fresh(ttl)
		switch {
		case errors.Is(rerr, redis.Nil), rerr == nil && !fresh: // not filled yet
			continue
		case rerr != nil:
			return v, nil, false
		case e.negative:
			return v, a.o.NotFound, true
		}
		if json.Unmarshal([]byte(e.payload), &v) == nil {
			left, _ := a.c.fresh(ttl)
			a.keepNear(key, v, e.version, left, e.delta, m)
			return v, nil, true
		}
		return v, nil, false
	}
	return v, nil, false
}

// fill stores an encoded value if this loader still holds the lease and nothing newer is
// stored (fillScript), and reports whether it did. A refused fill means a writer got there
// first: its state stands.
func (a *Aside[T]) fill(ctx context.Context, key, token, value string, ttl time.Duration, version int64) bool {
	return a.fillAs(ctx, key, token, value, ttl, version, false)
}

// fillAs is fill; with renew set (refresh-ahead) it also replaces an entry of the same
// version that is still fresh, to give it its new TTL.
func (a *Aside[T]) fillAs(ctx context.Context, key, token, value string, ttl time.Duration, version int64, renew bool) bool {
	renewArg := "0"
	if renew {
		renewArg = "1"
	}
	stored, err := fillScript.Run(ctx, a.c.rdb, []string{a.c.Key(key), a.c.leaseKey(key)},
		token, value, a.c.storedFor(ttl).Milliseconds(), version, a.c.grace.Milliseconds(), renewArg).Int64()
	a.countError(err)
	if err == nil && stored == 0 {
		a.stats.fillsRefused.Add(1)
	}
	return err == nil && stored == 1
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// storedAtLeast (Lua) reports whether KEYS' entry, "<version>:<json>", holds version or newer.
const storedAtLeast = `local function storedAtLeast(key, version)
  local cur = redis.call('GET', key)
  if not cur then return false end
  local v = tonumber(string.match(cur, '^(%d+):'))
  return v ~= nil and v >= tonumber(version)
end
`

// fillScript: KEYS value, lease; ARGV token, entry, ttl ms, version, stale grace ms, renew
// ("1" or absent). Stores the entry only if the caller still holds the lease and nothing as
// new is stored — a value of the same version is replaced when it is kept past its TTL (PTTL
// at or below the grace), so that it is fresh again, or when renew is "1" (refresh-ahead).
// Returns 1 if stored.
// The lease is left to expire, not deleted: a reader that missed just before the fill and
// comes for the lease just after it finds it taken, waits, and reads the filled value
// instead of loading again.
var fillScript = redis.NewScript(storedAtLeast + `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if storedAtLeast(KEYS[1], ARGV[4]) then
  local grace = tonumber(ARGV[5] or 0)
  local staleSame = not storedAtLeast(KEYS[1], tonumber(ARGV[4]) + 1)
    and (ARGV[6] == '1' or grace > 0 and redis.call('PTTL', KEYS[1]) <= grace)
  if not staleSame then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// releaseScript: KEYS lease; ARGV token. Deletes the lease if the caller holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
