package cache

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/keys"
)

// Observer is told of every read: which cache, which key (without the prefix), where it was
// answered and, for a hit, how long the value has left to live (0 when unknown).
type Observer func(ctx context.Context, cache, key string, r Result, ttlLeft time.Duration)

// Options configure a Cache. The zero value of each field means its default.
type Options struct {
	Prefix    string        // starts every key; empty by default
	LeaseWait time.Duration // default for AsideOptions.LeaseWait: 200 ms
	Observer  Observer      // optional
	Logger    *slog.Logger  // optional
	Instance  string        // names this process in invalidation messages
	// Disabled turns the cache off (SHOP_CACHE=off, to compare): every read loads from the
	// database and counts as a bypass; writes to the cache do nothing.
	Disabled bool
	// Reader, when set, is a client of the reader endpoint (replicas): cache-aside reads go
	// there first; writes, leases, scripts and pub/sub stay on the primary.
	Reader redis.UniversalClient
	// OnLag, when set, is given each invalidation's lag from commit to eviction here.
	OnLag func(time.Duration)
	// LoadTimeout bounds a load that requests share (singleflight), which runs on its own
	// context so that one caller giving up does not fail the others; default 5 s.
	LoadTimeout time.Duration
	// StaleIfError keeps each cache-aside value this long past its TTL (in Redis, which
	// stores it for TTL + StaleIfError): a read past the TTL loads again as a miss does, and
	// is answered with the old value, marked Stale, when that load fails (the database is
	// down or too slow). Zero keeps nothing past the TTL.
	StaleIfError time.Duration
	// RefreshAheadBeta is the beta of refresh-ahead (refresh.go): a read reloads a value
	// early, in the background under its lease, with a probability that grows as its expiry
	// nears, the sooner the larger beta and the slower its load. 1 is the paper's optimum;
	// zero (or less) turns refresh-ahead off.
	RefreshAheadBeta float64
	// Tracking selects the tracking near-cache mode (SHOP_NEAR_CACHE=tracking, tracking.go):
	// Redis announces every change to a near-cached key and RunTracking evicts it, in place
	// of the cache:invalidations bus (RunInvalidations). Standalone Redis only, and no Reader.
	Tracking bool
}

// Cache is the Redis side that every strategy shares: the client, the key prefix, and the
// counters of each named cache. Its client must have the shop's Guard installed (per-call
// timeout, circuit breaker): the cache makes plain calls and falls back from their errors.
type Cache struct {
	rdb        redis.UniversalClient
	reader     redis.UniversalClient // nil: read from rdb
	disabled   bool
	prefix     string
	leaseWait  time.Duration
	loadMax    time.Duration
	grace      time.Duration // Options.StaleIfError
	observer   Observer
	log        *slog.Logger
	instance   string
	lags       lagWindow
	subscribed chan struct{}
	witness    Witness        // nil: every gap in the subscription flushes the near caches
	tracking   *tracker       // nil: the pub/sub mode
	beta       float64        // Options.RefreshAheadBeta
	rand       func() float64 // uniform in [0, 1): the XFetch draw; tests replace it

	mu    sync.Mutex
	stats map[string]*Stats
	nears []nearCache
	// nearPrefixes are the key prefixes of the caches with a near cache ("" when one of
	// them declared none): what the tracking mode tracks.
	nearPrefixes []string
	byPrefix     []prefixStats
}

// New returns a Cache over rdb.
func New(rdb redis.UniversalClient, o Options) *Cache {
	if o.LeaseWait <= 0 {
		o.LeaseWait = 200 * time.Millisecond
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = 5 * time.Second
	}
	c := &Cache{
		rdb: rdb, reader: o.Reader, disabled: o.Disabled, prefix: o.Prefix, leaseWait: o.LeaseWait, observer: o.Observer,
		loadMax: o.LoadTimeout, grace: max(o.StaleIfError, 0), log: o.Logger, instance: o.Instance, lags: lagWindow{onLag: o.OnLag}, stats: map[string]*Stats{},
		subscribed: make(chan struct{}), beta: o.RefreshAheadBeta, rand: rand.Float64,
	}
	if o.Tracking {
		c.tracking = newTracker()
	}
	return c
}

// Key returns the full Redis key of a cache key: the prefix and the key.
func (c *Cache) Key(key string) string { return c.prefix + key }

// leaseKey is the lease of a key. Its hash tag is the full value key, so both sit in one
// cluster slot (a key without braces hashes as a whole, exactly as its tag does).
func (c *Cache) leaseKey(key string) string { return c.prefix + keys.Lease(c.prefix+key) }

// Disabled reports whether the cache was turned off (Options.Disabled).
func (c *Cache) Disabled() bool { return c.disabled }

// statsFor returns the counters of the cache called name, creating them.
func (c *Cache) statsFor(name string, ttl TTL) *Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stats[name]
	if !ok {
		s = &Stats{name: name, ttl: ttl}
		c.stats[name] = s
	}
	return s
}

// Stats returns the counters of every named cache, sorted by name.
func (c *Cache) Stats() []StatsSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]StatsSnapshot, 0, len(c.stats))
	for _, s := range c.stats {
		out = append(out, s.Snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Cache) observe(ctx context.Context, cache, key string, r Result, ttl time.Duration) {
	if c.observer != nil {
		c.observer(ctx, cache, key, r, ttl)
	}
}

// storedFor is how long Redis keeps a value whose TTL is ttl: the TTL and the stale grace.
func (c *Cache) storedFor(ttl time.Duration) time.Duration { return ttl + c.grace }

// fresh turns the remaining PTTL of a stored value into its TTL left, and reports whether
// that is above zero (false: the value is past its TTL, kept only to serve if a load fails).
func (c *Cache) fresh(pttl time.Duration) (time.Duration, bool) {
	if c.grace == 0 {
		return pttl, true
	}
	return pttl - c.grace, pttl > c.grace
}
