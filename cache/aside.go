package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// Loader loads one value from the source of truth with the version of its row. It returns
// the cache's NotFound error when there is no such row.
type Loader[T any] func(ctx context.Context) (value T, version int64, err error)

// Versioned is a value with the version of the row it came from.
type Versioned[T any] struct {
	Value   T
	Version int64
}

// AsideOptions configure one cache-aside cache. TTL is required.
type AsideOptions struct {
	TTL         TTL           // time to live of a filled value
	NegativeTTL TTL           // time to live of a "not found" tombstone; zero Base: no negative caching
	NotFound    error         // the loader's not-found error, remembered for NegativeTTL
	LeaseTTL    time.Duration // longest a loader may hold a key's lease; default 2 s
	LeaseWait   time.Duration // how long others wait for the lease holder's value; default Options.LeaseWait

	// L1 puts a near cache in front of Redis for this cache's keys; zero Size for none.
	L1 L1Options
	// KeyPrefixes are the prefixes of this cache's keys ("product:"), by which expirations
	// seen through keyspace notifications are counted.
	KeyPrefixes []string
	// Unprotected turns the stampede and stale-set protection off: a miss loads at once
	// (no singleflight in this process, no lease across processes) and fills with a plain
	// SET (no version check). It is the naive cache-aside that the Lab's stampede and
	// stale-set experiments replay next to the protected one; the shop's caches never set it.
	Unprotected bool
}

// Aside is a cache-aside (lazy loading) cache of values of type T, stored as JSON with their
// version. It also does the write-through and delete-on-write of those keys.
type Aside[T any] struct {
	c     *Cache
	name  string
	o     AsideOptions
	stats *Stats
	group *singleflight.Group
	near  *near[T] // nil without an L1

	// The shared loads in progress (loadShared), and the keys being refreshed ahead of
	// their expiry (maybeRefresh), by key, under mu.
	mu         sync.Mutex
	flights    map[string]*flight
	refreshing map[string]bool
	lastLoad   atomic.Int64 // how long the last load took, ns: the delta of entries without their own

	// Test hooks, set from export_test.go: afterLoad runs after a load and before the fill
	// (to make races deterministic); unprotected fills with a plain SET, no lease and no
	// version check (to show the stale-set race the protection prevents).
	afterLoad func(key string)
	// beforeNear runs in keepNear before a value goes to the near cache (the tracking race).
	beforeNear  func(key string)
	unprotected bool
}

// NewAside returns the cache-aside cache called name ("product", "profile", "list") on c.
func NewAside[T any](c *Cache, name string, o AsideOptions) *Aside[T] {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 2 * time.Second
	}
	if o.LeaseWait <= 0 {
		o.LeaseWait = c.leaseWait
	}
	a := &Aside[T]{c: c, name: name, o: o, stats: c.statsFor(name, o.TTL), group: new(singleflight.Group), flights: map[string]*flight{}, refreshing: map[string]bool{}}
	if o.L1.Size > 0 {
		a.near = newNear[T](name, o.L1, c.tracking)
		c.register(a.near, a.stats, o.KeyPrefixes)
	} else {
		c.register(nil, a.stats, o.KeyPrefixes)
	}
	return a
}

// Name is the cache's name, as in metrics.
func (a *Aside[T]) Name() string { return a.name }

// entry is a value as stored: "<version>:<json>", or "<version>:@<delta µs>:<json>" when it
// carries the time its load took (delta, for refresh-ahead), or a tombstone "0:" for "not
// found". Both shapes start with "<version>:", which is all the Lua scripts read; the
// entry's expiry is the key's own TTL, read with it (PTTL) in the same round trip.
type entry struct {
	version  int64
	delta    time.Duration // how long the load that produced it took; 0 when not recorded
	payload  string
	negative bool
}

// encode returns the stored form of payload at version, loaded in delta (0: not recorded).
func encode(version int64, delta time.Duration, payload []byte) string {
	head := strconv.FormatInt(version, 10) + ":"
	if delta > 0 {
		head += "@" + strconv.FormatInt(max(delta.Microseconds(), 1), 10) + ":"
	}
	return head + string(payload)
}

const tombstone = "0:"

func decodeEntry(s string) (entry, error) {
	v, payload, ok := strings.Cut(s, ":")
	version, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil {
		return entry{}, fmt.Errorf("cache: malformed entry %.20q", s)
	}
	e := entry{version: version, payload: payload, negative: version == 0}
	if rest, ok := strings.CutPrefix(payload, "@"); ok { // JSON never starts with "@"
		d, p, ok := strings.Cut(rest, ":")
		us, err := strconv.ParseInt(d, 10, 64)
		if !ok || err != nil || us < 0 {
			return entry{}, fmt.Errorf("cache: malformed entry %.20q", s)
		}
		e.delta, e.payload = time.Duration(us)*time.Microsecond, p
	}
	return e, nil
}

// Get returns the value of key: from Redis on a hit; else from load, filling Redis. While
// Redis is away it loads without filling. It returns the loader's errors, and NotFound for a
// remembered "not found".
func (a *Aside[T]) Get(ctx context.Context, key string, load Loader[T]) (T, error) {
	v, r, ttl, err := a.get(ctx, key, load)
	a.stats.countIn(ctx, r)
	a.c.observe(ctx, a.name, key, r, ttl)
	return v, err
}

func (a *Aside[T]) get(ctx context.Context, key string, load Loader[T]) (T, Result, time.Duration, error) {
	var zero T
	if a.c.disabled {
		v, err := a.loadShared(ctx, key, load, false)
		return v, Bypass, 0, err
	}
	if a.near != nil {
		if v, ttl, meta, ok := a.near.get(key); ok {
			if a.c.beta > 0 {
				a.maybeRefresh(key, load, meta.delta, time.Until(meta.expires))
			}
			return v, HitL1, ttl, nil
		}
	}
	m := a.c.mark()
	e, ttl, err := a.readFromReplica(ctx, key)
	var stale *entry // past its TTL: loaded again, and served if that load fails
	if err == nil {
		left, fresh := a.c.fresh(ttl)
		if !fresh {
			stale, err = &e, redis.Nil
		}
		ttl = left
	}
	switch {
	case err == nil && e.negative:
		return zero, HitRedis, ttl, a.o.NotFound
	case err == nil:
		var v T
		if jerr := json.Unmarshal([]byte(e.payload), &v); jerr == nil {
			a.keepNear(key, v, e.version, ttl, e.delta, m)
			a.maybeRefresh(key, load, e.delta, ttl)
			return v, HitRedis, ttl, nil
		}
		// An entry this code cannot read (an older shape): load and refill over it.
		_ = a.Invalidate(ctx, key, 0)
	case errors.Is(err, redis.Nil):
	default:
		v, err := a.loadShared(ctx, key, load, false)
		return v, Bypass, 0, err
	}
	var v T
	if a.o.Unprotected {
		v, err = a.loadAndFill(ctx, key, load)
	} else {
		v, err = a.loadShared(ctx, key, load, true)
	}
	if err != nil && stale != nil && (a.o.NotFound == nil || !errors.Is(err, a.o.NotFound)) {
		if stale.negative {
			return zero, Stale, 0, a.o.NotFound
		}
		var old T
		if json.Unmarshal([]byte(stale.payload), &old) == nil {
			return old, Stale, 0, nil
		}
	}
	return v, Miss, 0, err
}

// readFromReplica reads key from the reader endpoint when there is one, and from the
// primary when the replica has nothing, or has a version older than an invalidation this
// process has already seen (the replica lags behind a write: read-your-writes).
func (a *Aside[T]) readFromReplica(ctx context.Context, key string) (entry, time.Duration, error) {
	if a.c.reader == nil {
		return a.read(ctx, a.c.rdb, key)
	}
	e, ttl, err := a.read(ctx, a.c.reader, key)
	floor := int64(0)
	if a.near != nil {
		floor = a.near.floor(key)
	}
	if err == nil && e.version >= floor || err != nil && !errors.Is(err, redis.Nil) {
		return e, ttl, err
	}
	return a.read(ctx, a.c.rdb, key)
}

// read gets key and its remaining TTL from client in one round trip.
func (a *Aside[T]) read(ctx context.Context, client redis.UniversalClient, key string) (entry, time.Duration, error) {
	var get *redis.StringCmd
	var pttl *redis.DurationCmd
	_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, a.c.Key(key))
		pttl = p.PTTL(ctx, a.c.Key(key))
		return nil
	})
	if err != nil {
		a.countError(err)
		return entry{}, 0, err
	}
	e, err := decodeEntry(get.Val())
	if err != nil {
		return entry{}, 0, redis.Nil
	}
	return e, max(pttl.Val(), 0), nil
}

// keepNear puts a value read from Redis or loaded into the near cache, if there is one,
// with the TTL its Redis entry has left and the time its load took (0: not recorded). m is
// the mark taken before the read, load or write that produced it (Cache.mark).
func (a *Aside[T]) keepNear(key string, v T, version int64, ttlLeft, delta time.Duration, m mark) {
	a.keepNearFor(key, v, version, ttlLeft, delta, m, 0)
}

// keepNearFor is keepNear for life (0: the near cache's TTL).
func (a *Aside[T]) keepNearFor(key string, v T, version int64, ttlLeft, delta time.Duration, m mark, life time.Duration) {
	if a.near != nil {
		if a.beforeNear != nil {
			a.beforeNear(key)
		}
		a.near.put(key, v, version, freshness{expires: time.Now().Add(ttlLeft), delta: delta}, m, life)
	}
}

// outageLife is how long a value loaded while Redis is away is kept in the near cache, when
// the Witness vouches for it: 50 to 70 s, spread so that values loaded together are not all
// loaded again together. Longer than the near cache's usual TTL (a backstop for a missed
// pub/sub message), because every committed change reaches it through the Witness; without
// it, each instance would load every key it serves once per near-cache TTL for as long as
// Redis is away (×2.6 the normal Postgres rate in the chaos suite's Redis outage).
func outageLife() time.Duration { return 50*time.Second + rand.N(20*time.Second) }

func (a *Aside[T]) countError(err error) {
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, ErrBypass) {
		a.stats.errors.Add(1)
	}
}

// loadShared merges concurrent loads of key in this process into one (singleflight), whether
// they missed or bypassed Redis: the first caller decides. With fill set it takes the key's
// lease and fills Redis; without, it only loads.
//
// The shared load runs on a context of its own, bounded by the cache's LoadTimeout, so that
// one caller giving up does not fail the others; each caller waits only as long as its own
// ctx, and when the last one has left, the load is cancelled (its query stopped) rather than
// left to run for nobody.
func (a *Aside[T]) loadShared(ctx context.Context, key string, load Loader[T], fill bool) (T, error) {
	var zero T
	a.mu.Lock()
	f := a.flights[key]
	if f == nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.c.loadMax)
		f = &flight{ctx: lctx, cancel: cancel}
		a.flights[key] = f
	}
	f.waiters++
	// DoChan under a.mu: the call it starts or joins is the one of f (it runs fn in a
	// goroutine of its own, which takes a.mu only when done).
	ch := a.group.DoChan(key, func() (any, error) {
		defer a.land(key, f)
		if !fill {
			return a.load(f.ctx, key, load, true)
		}
		return a.loadAndFill(f.ctx, key, load)
	})
	a.mu.Unlock()
	select {
	case res := <-ch:
		a.leave(key, f)
		if res.Val == nil {
			return zero, res.Err
		}
		return res.Val.(T), res.Err
	case <-ctx.Done():
		a.leave(key, f)
		return zero, fmt.Errorf("cache: load %s: %w", key, context.Cause(ctx))
	}
}

// flight is one shared load: its context, and how many callers wait for it.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// land ends flight f of key when its load has returned.
func (a *Aside[T]) land(key string, f *flight) {
	a.mu.Lock()
	if a.flights[key] == f {
		delete(a.flights, key)
	}
	a.mu.Unlock()
	f.cancel()
}

// leave takes one caller off flight f of key; the last one to leave cancels the load, and
// makes the next caller start a new one instead of joining the cancelled one.
func (a *Aside[T]) leave(key string, f *flight) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	f.cancel()
	if a.flights[key] == f {
		delete(a.flights, key)
		a.group.Forget(key)
	}
}

// load runs load without filling Redis (Redis failed: away is set; or another process
// fills). While the Witness hears every committed change, the value is kept in the near
// cache (at its version: an invalidation seen meanwhile wins) — with Redis away, for
// outageLife — so that a Redis outage does not send every read of a key to Postgres once
// its near-cache entry has expired.
func (a *Aside[T]) load(ctx context.Context, key string, load Loader[T], away bool) (T, error) {
	a.countLoad(ctx)
	m := a.c.mark()
	v, version, err := load(ctx)
	if err == nil && !a.c.disabled && a.c.witnessConnected() {
		var life time.Duration
		if away {
			life = outageLife()
		}
		a.keepNearFor(key, v, version, a.o.TTL.Next(), 0, m, life)
	}
	return v, err
}
