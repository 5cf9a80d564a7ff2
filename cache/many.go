package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ManyLoader loads the values of keys[i] for each i in missing, in one query, with their
// versions. An index absent from the result has no row.
type ManyLoader[T any] func(ctx context.Context, missing []int) (map[int]Versioned[T], error)

// GetMany is Get for many keys at once: one round trip reads them all; the misses, if any,
// take their leases in a second, are loaded by one call of load, and are filled in a third.
// It returns the value of each key, with found[i] false where there is none. The whole read
// is reported to the Observer once, as summary ("product ×24").
func (a *Aside[T]) GetMany(ctx context.Context, keys []string, load ManyLoader[T]) (values []T, found []bool, err error) {
	values, found = make([]T, len(keys)), make([]bool, len(keys))
	if len(keys) == 0 {
		return values, found, nil
	}
	result := HitL1
	defer func() {
		a.c.observe(ctx, a.name, fmt.Sprintf("%s ×%d", a.name, len(keys)), result, 0)
	}()
	// The near cache first (empty when the cache is disabled); Redis for the rest.
	var remote []int
	for i, k := range keys {
		if a.near != nil {
			if v, _, _, ok := a.near.get(k); ok {
				values[i], found[i] = v, true
				a.stats.countIn(ctx, HitL1)
				continue
			}
		}
		remote = append(remote, i)
	}
	if len(remote) == 0 {
		return values, found, nil
	}
	result = HitRedis
	m := a.c.mark()

	gets := make(map[int]*redis.StringCmd, len(remote))
	pttls := make(map[int]*redis.DurationCmd, len(remote))
	rerr := ErrBypass // a disabled cache skips Redis, as a failing one does
	if !a.c.disabled {
		_, rerr = a.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range remote {
				gets[i] = p.Get(ctx, a.c.Key(keys[i]))
				pttls[i] = p.PTTL(ctx, a.c.Key(keys[i]))
			}
			return nil
		})
		if errors.Is(rerr, redis.Nil) {
			rerr = nil // some keys missing: not a failure
		}
	}
	if rerr != nil {
		// Redis away or the cache off: load the rest, fill nothing.
		a.countError(rerr)
		result = Bypass
		for range remote {
			a.stats.countIn(ctx, Bypass)
		}
		a.countLoad(ctx)
		loaded, err := load(ctx, remote)
		if err != nil {
			return nil, nil, err
		}
		for i, v := range loaded {
			values[i], found[i] = v.Value, true
		}
		return values, found, nil
	}

	var missing []int
	stale := map[int]entry{} // past their TTL: loaded again, and served if that load fails
	for _, i := range remote {
		g := gets[i]
		e, err := decodeEntry(g.Val())
		if g.Err() != nil || err != nil {
			missing = append(missing, i)
			continue
		}
		if _, fresh := a.c.fresh(max(pttls[i].Val(), 0)); !fresh {
			stale[i] = e
			missing = append(missing, i)
			continue
		}
		a.stats.countIn(ctx, HitRedis)
		if e.negative {
			continue
		}
		if json.Unmarshal([]byte(e.payload), &values[i]) != nil {
			missing = append(missing, i)
			continue
		}
		found[i] = true
		left, _ := a.c.fresh(max(pttls[i].Val(), 0))
		a.keepNear(keys[i], values[i], e.version, left, e.delta, m)
	}
	if len(missing) == 0 {
		return values, found, nil
	}
	result = Miss

	// Leases for the misses, so that the fills cannot put back a value a writer replaced.
	token := newToken()
	leases := make([]*redis.BoolCmd, len(missing))
	_, lerr := a.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for j, i := range missing {
			leases[j] = p.SetNX(ctx, a.c.leaseKey(keys[i]), token, a.o.LeaseTTL)
		}
		return nil
	})
	a.countError(lerr)

	a.countLoad(ctx)
	start := time.Now()
	loaded, err := load(ctx, missing)
	delta := time.Since(start) // of the batch: about what loading one of them alone takes
	if err != nil && len(stale) == len(missing) {
		// Every value the load was for is kept past its TTL: serve those (stale-if-error).
		result = Stale
		for _, i := range missing {
			a.stats.countIn(ctx, Stale)
			if e := stale[i]; !e.negative && json.Unmarshal([]byte(e.payload), &values[i]) == nil {
				found[i] = true
			}
		}
		return values, found, nil
	}
	for range missing {
		a.stats.countIn(ctx, Miss)
	}
	if err != nil {
		return nil, nil, err
	}
	if a.afterLoad != nil {
		a.afterLoad(keys[missing[0]])
	}
	ttls := make(map[int]time.Duration, len(missing))
	_, ferr := a.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for j, i := range missing {
			if lerr != nil || !leases[j].Val() {
				continue // someone else is loading this one
			}
			value, ttl, version := tombstone, a.o.NegativeTTL.Next(), int64(0)
			if v, ok := loaded[i]; ok {
				payload, err := json.Marshal(v.Value)
				if err != nil {
					return err
				}
				ttl = a.o.TTL.Next()
				ttls[i] = ttl
				value, version = encode(v.Version, delta, payload), v.Version
			} else if a.o.NegativeTTL.Base <= 0 {
				continue
			}
			// EVAL, not EVALSHA: in a pipeline a missing script cannot be retried.
			fillScript.Eval(ctx, p, []string{a.c.Key(keys[i]), a.c.leaseKey(keys[i])},
				token, value, a.c.storedFor(ttl).Milliseconds(), version, a.c.grace.Milliseconds(), "0")
		}
		return nil
	})
	a.countError(ferr)
	for i, v := range loaded {
		values[i], found[i] = v.Value, true
		if ferr == nil && lerr == nil {
			a.keepNear(keys[i], v.Value, v.Version, ttls[i], delta, m)
		}
	}
	return values, found, nil
}
