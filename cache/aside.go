package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

	// DisableStaleSetProtection fills with a plain SET: no lease, no version check. It exists
	// only so that a test can show the stale-set race the protection prevents.
	DisableStaleSetProtection bool
	// AfterLoad, when set, runs after a load and before the fill: a test hook that makes
	// races deterministic.
	AfterLoad func(key string)

	// L1 puts a near cache in front of Redis for this cache's keys; zero Size for none.
	L1 L1Options
	// KeyPrefixes are the prefixes of this cache's keys ("product:"), by which expirations
	// seen through keyspace notifications are counted.
	KeyPrefixes []string
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
}

// NewAside returns the cache-aside cache called name ("product", "profile", "list") on c.
func NewAside[T any](c *Cache, name string, o AsideOptions) *Aside[T] {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 2 * time.Second
	}
	if o.LeaseWait <= 0 {
		o.LeaseWait = c.leaseWait
	}
	a := &Aside[T]{c: c, name: name, o: o, stats: c.statsFor(name, o.TTL), group: new(singleflight.Group)}
	if o.L1.Size > 0 {
		a.near = newNear[T](name, o.L1)
		c.register(a.near, a.stats, o.KeyPrefixes)
	} else {
		c.register(nil, a.stats, o.KeyPrefixes)
	}
	return a
}

// Name is the cache's name, as in metrics.
func (a *Aside[T]) Name() string { return a.name }

// entry is a value as stored: "<version>:<json>", or a tombstone "0:" for "not found".
type entry struct {
	version  int64
	payload  string
	negative bool
}

func encode(version int64, payload []byte) string {
	return strconv.FormatInt(version, 10) + ":" + string(payload)
}

const tombstone = "0:"

func decodeEntry(s string) (entry, error) {
	v, payload, ok := strings.Cut(s, ":")
	version, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil {
		return entry{}, fmt.Errorf("cache: malformed entry %.20q", s)
	}
	return entry{version: version, payload: payload, negative: version == 0}, nil
}

// Get returns the value of key: from Redis on a hit; else from load, filling Redis. While
// Redis is away it loads without filling. It returns the loader's errors, and NotFound for a
// remembered "not found".
func (a *Aside[T]) Get(ctx context.Context, key string, load Loader[T]) (T, error) {
	v, r, ttl, err := a.get(ctx, key, load)
	a.stats.count(r)
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
		if v, ttl, ok := a.near.get(key); ok {
			return v, HitL1, ttl, nil
		}
	}
	e, ttl, err := a.readFromReplica(ctx, key)
	switch {
	case err == nil && e.negative:
		return zero, HitRedis, ttl, a.o.NotFound
	case err == nil:
		var v T
		if jerr := json.Unmarshal([]byte(e.payload), &v); jerr == nil {
			a.keepNear(key, v, e.version)
			return v, HitRedis, ttl, nil
		}
		// An entry this code cannot read (an older shape): load and refill over it.
		_ = a.Invalidate(ctx, key, 0)
	case errors.Is(err, redis.Nil):
	default:
		v, err := a.loadShared(ctx, key, load, false)
		return v, Bypass, 0, err
	}
	v, err := a.loadShared(ctx, key, load, true)
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
	err := a.c.Do(ctx, func(ctx context.Context) error {
		_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
			get = p.Get(ctx, a.c.Key(key))
			pttl = p.PTTL(ctx, a.c.Key(key))
			return nil
		})
		return err
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

// keepNear puts a value read from Redis or loaded into the near cache, if there is one.
func (a *Aside[T]) keepNear(key string, v T, version int64) {
	if a.near != nil {
		a.near.put(key, v, version)
	}
}

func (a *Aside[T]) countError(err error) {
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, ErrBypass) {
		a.stats.errors.Add(1)
	}
}

// loadShared merges concurrent loads of key in this process into one (singleflight), whether
// they missed or bypassed Redis: the first caller decides. With fill set it takes the key's
// lease and fills Redis; without, it only loads.
func (a *Aside[T]) loadShared(ctx context.Context, key string, load Loader[T], fill bool) (T, error) {
	// The load outlives a caller that gives up, so that the others sharing it still get it.
	shared := context.WithoutCancel(ctx)
	v, err, _ := a.group.Do(key, func() (any, error) {
		if !fill {
			return a.load(shared, key, load)
		}
		return a.loadAndFill(shared, key, load)
	})
	if v == nil {
		var zero T
		return zero, err
	}
	return v.(T), err
}

func (a *Aside[T]) load(ctx context.Context, key string, load Loader[T]) (T, error) {
	a.stats.loads.Add(1)
	v, _, err := load(ctx)
	return v, err
}

// loadAndFill is the miss path: lease, load, fill.
func (a *Aside[T]) loadAndFill(ctx context.Context, key string, load Loader[T]) (T, error) {
	var zero T
	if a.o.DisableStaleSetProtection {
		a.stats.loads.Add(1)
		v, version, err := load(ctx)
		if a.o.AfterLoad != nil {
			a.o.AfterLoad(key)
		}
		if err != nil {
			return zero, err
		}
		payload, _ := json.Marshal(v)
		_ = a.c.Do(ctx, func(ctx context.Context) error {
			return a.c.rdb.Set(ctx, a.c.Key(key), encode(version, payload), a.o.TTL.Next()).Err()
		})
		return v, nil
	}

	token := newToken()
	var got bool
	err := a.c.Do(ctx, func(ctx context.Context) error {
		var err error
		got, err = a.c.rdb.SetNX(ctx, a.c.leaseKey(key), token, a.o.LeaseTTL).Result()
		return err
	})
	if err != nil {
		a.countError(err)
		return a.load(ctx, key, load)
	}
	if !got {
		// Another process is loading this key: wait a little for its value.
		if v, err, ok := a.waitForFill(ctx, key); ok {
			return v, err
		}
		return a.load(ctx, key, load) // it took too long: load, but leave the filling to it
	}

	a.stats.loads.Add(1)
	v, version, err := load(ctx)
	if a.o.AfterLoad != nil {
		a.o.AfterLoad(key)
	}
	switch {
	case err != nil && a.o.NotFound != nil && errors.Is(err, a.o.NotFound) && a.o.NegativeTTL.Base > 0:
		a.fill(ctx, key, token, tombstone, a.o.NegativeTTL.Next(), 0)
		return zero, err
	case err != nil:
		_ = a.c.Do(ctx, func(ctx context.Context) error {
			return releaseScript.Run(ctx, a.c.rdb, []string{a.c.leaseKey(key)}, token).Err()
		})
		return zero, err
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return zero, fmt.Errorf("cache: encode %s: %w", key, err)
	}
	if a.fill(ctx, key, token, encode(version, payload), a.o.TTL.Next(), version) {
		a.keepNear(key, v, version)
	}
	return v, nil
}

// waitForFill polls key until the lease holder fills it or LeaseWait passes. ok is false
// when the wait ran out (or Redis failed) and the caller must load for itself.
func (a *Aside[T]) waitForFill(ctx context.Context, key string) (v T, err error, ok bool) {
	deadline := time.Now().Add(a.o.LeaseWait)
	pause := 2 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return v, ctx.Err(), true
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
		e, _, rerr := a.read(ctx, a.c.rdb, key) // the primary: the holder fills there
		switch {
		case errors.Is(rerr, redis.Nil):
			continue
		case rerr != nil:
			return v, nil, false
		case e.negative:
			return v, a.o.NotFound, true
		}
		if json.Unmarshal([]byte(e.payload), &v) == nil {
			a.keepNear(key, v, e.version)
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
	var stored int64
	err := a.c.Do(ctx, func(ctx context.Context) error {
		var err error
		stored, err = fillScript.Run(ctx, a.c.rdb, []string{a.c.Key(key), a.c.leaseKey(key)},
			token, value, ttl.Milliseconds(), version).Int64()
		return err
	})
	a.countError(err)
	if err == nil && stored == 0 {
		a.stats.fillsRefused.Add(1)
	}
	return err == nil && stored == 1
}

// Set is the write-through: it stores v, at version, after the caller's transaction
// committed. It also takes away any reader's lease, so a slower reader cannot put an older
// value back. A newer version already stored is kept. If the write fails it deletes the key
// (the next read loads from the database); it returns an error only if that fails too, and
// then the old value lives at most its TTL.
func (a *Aside[T]) Set(ctx context.Context, key string, v T, version int64) error {
	if a.c.disabled {
		return nil
	}
	at := time.Now()
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache: encode %s: %w", key, err)
	}
	// Every instance drops its older near copy (this one's own message comes back to it too).
	defer a.c.publish(ctx, key, version, at)
	err = a.c.Do(ctx, func(ctx context.Context) error {
		return setScript.Run(ctx, a.c.rdb, []string{a.c.Key(key), a.c.leaseKey(key)},
			encode(version, payload), a.o.TTL.Next().Milliseconds(), version).Err()
	})
	if err == nil {
		a.keepNear(key, v, version)
		return nil
	}
	a.countError(err)
	if a.near != nil {
		a.near.evict(key, version)
	}
	// A plain DEL, not a script: a server out of memory refuses every script that may
	// write, but still deletes.
	derr := a.c.Do(ctx, func(ctx context.Context) error {
		return a.c.rdb.Del(ctx, a.c.Key(key), a.c.leaseKey(key)).Err()
	})
	if derr != nil {
		a.countError(derr)
		return fmt.Errorf("cache: write-through %s failed (%v) and so did the delete: %w", key, err, derr)
	}
	return nil
}

// Invalidate is the delete-on-write: it deletes key unless it already holds version or
// newer (version 0 deletes whatever is there), takes away any reader's lease, and tells
// every instance to drop its near copy.
func (a *Aside[T]) Invalidate(ctx context.Context, key string, version int64) error {
	err := a.c.Invalidate(ctx, key, version, time.Now())
	a.countError(errors.Unwrap(err))
	return err
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

// fillScript: KEYS value, lease; ARGV token, entry, ttl ms, version. Stores the entry only
// if the caller still holds the lease and nothing as new is stored. Returns 1 if stored.
// The lease is left to expire, not deleted: a reader that missed just before the fill and
// comes for the lease just after it finds it taken, waits, and reads the filled value
// instead of loading again.
var fillScript = redis.NewScript(storedAtLeast + `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if storedAtLeast(KEYS[1], ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// setScript: KEYS value, lease; ARGV entry, ttl ms, version. Deletes the lease, then stores
// the entry unless as new a version is stored. Returns 1 if stored.
var setScript = redis.NewScript(storedAtLeast + `
redis.call('DEL', KEYS[2])
if storedAtLeast(KEYS[1], ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// invalidateScript: KEYS value, lease; ARGV version. Deletes the lease, then the value unless
// it is at version or newer (version 0: always). Returns 1 if deleted.
var invalidateScript = redis.NewScript(storedAtLeast + `
redis.call('DEL', KEYS[2])
if ARGV[1] ~= '0' and storedAtLeast(KEYS[1], ARGV[1]) then return 0 end
return redis.call('DEL', KEYS[1])`)

// releaseScript: KEYS lease; ARGV token. Deletes the lease if the caller holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
