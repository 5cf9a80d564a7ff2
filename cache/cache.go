package cache

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/shopcache/shop/keys"
)

// ErrBypass is returned by a Redis call the circuit breaker skipped.
var ErrBypass = errors.New("cache: Redis skipped while the circuit breaker is open")

// Observer is told of every read: which cache, which key (without the prefix), where it was
// answered and, for a hit, how long the value has left to live (0 when unknown).
type Observer func(ctx context.Context, cache, key string, r Result, ttlLeft time.Duration)

// Options configure a Cache. The zero value of each field means its default.
type Options struct {
	Prefix          string        // starts every key; empty by default
	CallTimeout     time.Duration // bound on one Redis round trip; default 250 ms
	BreakerFailures uint32        // consecutive failures that open the breaker; default 3
	BreakerCooldown time.Duration // how long the open breaker skips Redis before a probe; default 2 s
	LeaseWait       time.Duration // default for AsideOptions.LeaseWait: 200 ms
	Observer        Observer      // optional
	Logger          *slog.Logger  // optional; breaker state changes are logged
	Instance        string        // names this process in invalidation messages
	// Disabled turns the cache off (SHOP_CACHE=off, to compare): every read loads from the
	// database and counts as a bypass; writes to the cache do nothing.
	Disabled bool
	// Reader, when set, is a client of the reader endpoint (replicas): cache-aside reads go
	// there first; writes, leases, scripts and pub/sub stay on the primary.
	Reader redis.UniversalClient
	// OnLag, when set, is given each invalidation's lag from commit to eviction here.
	OnLag func(time.Duration)
}

// Cache is the Redis side that every strategy shares: the client, the key prefix, the
// per-call timeout, the circuit breaker, and the counters of each named cache.
type Cache struct {
	rdb        redis.UniversalClient
	reader     redis.UniversalClient // nil: read from rdb
	disabled   bool
	prefix     string
	timeout    time.Duration
	leaseWait  time.Duration
	breaker    *gobreaker.CircuitBreaker[struct{}]
	observer   Observer
	log        *slog.Logger
	instance   string
	lags       lagWindow
	subscribed chan struct{}

	mu       sync.Mutex
	stats    map[string]*Stats
	nears    []nearCache
	byPrefix []prefixStats
}

// New returns a Cache over rdb.
func New(rdb redis.UniversalClient, o Options) *Cache {
	if o.CallTimeout <= 0 {
		o.CallTimeout = 250 * time.Millisecond
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 3
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 2 * time.Second
	}
	if o.LeaseWait <= 0 {
		o.LeaseWait = 200 * time.Millisecond
	}
	c := &Cache{
		rdb: rdb, reader: o.Reader, disabled: o.Disabled, prefix: o.Prefix, timeout: o.CallTimeout, leaseWait: o.LeaseWait, observer: o.Observer,
		log: o.Logger, instance: o.Instance, lags: lagWindow{onLag: o.OnLag}, stats: map[string]*Stats{},
		subscribed: make(chan struct{}),
	}
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     o.BreakerCooldown,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= o.BreakerFailures },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, redis.Nil)
		},
		// A caller that went away says nothing about Redis.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if o.Logger != nil {
				o.Logger.Warn("cache: circuit breaker", "from", from.String(), "to", to.String())
			}
		},
	})
	return c
}

// Key returns the full Redis key of a cache key: the prefix and the key.
func (c *Cache) Key(key string) string { return c.prefix + key }

// leaseKey is the lease of a key. Its hash tag is the full value key, so both sit in one
// cluster slot (a key without braces hashes as a whole, exactly as its tag does).
func (c *Cache) leaseKey(key string) string { return c.prefix + keys.Lease(c.prefix+key) }

// Available reports whether the breaker lets calls through (closed or probing).
func (c *Cache) Available() bool { return c.breaker.State() != gobreaker.StateOpen }

// Disabled reports whether the cache was turned off (Options.Disabled).
func (c *Cache) Disabled() bool { return c.disabled }

// Do runs fn, one Redis round trip, under the breaker and the call timeout. redis.Nil is
// passed through and is not a failure. It returns ErrBypass while the breaker is open.
func (c *Cache) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	var callErr error
	_, err := c.breaker.Execute(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		callErr = fn(ctx)
		return struct{}{}, callErr
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrBypass
	}
	if errors.Is(callErr, redis.Nil) {
		return redis.Nil
	}
	return err
}

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
