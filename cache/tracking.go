package cache

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// TrackingChannel is the channel on which Redis sends the invalidations of server-assisted
// client-side caching to a RESP2 connection that redirects them to itself.
const TrackingChannel = "__redis__:invalidate"

// TrackingClientName is the CLIENT SETNAME of RunTracking's connection, to find it in
// CLIENT LIST.
const TrackingClientName = "shop-near-tracking"

// tracker is the state of the tracking near-cache mode (Options.Tracking): Redis itself
// announces every change to a near-cached key (CLIENT TRACKING in broadcasting mode), with
// no version. It keeps the near caches right with a sequence instead:
//
//   - seq counts the invalidations received. A reader notes it (mark) before the Redis
//     read, Postgres load or write whose value it will put in a near cache.
//   - Each invalidation of a key takes the next seq and leaves it on the key as a tombstone
//     (near.evictTracked). A put whose mark is older than the key's tombstone is refused: the
//     value was read before a change it has not seen. The tombstone and the put meet in the
//     same otter Compute of that key, so either the put lands first and the tombstone
//     replaces it, or the tombstone is there first and the put is refused.
//   - A tombstone lives the near cache's TTL; a put whose mark is older than that is refused
//     (its tombstone may have expired), and one dropped early for room raises lost, which
//     refuses every put marked before it.
//   - gate is the oldest mark a put may carry. While tracking is not established (at start,
//     after any break of the connection, on a "flush everything" message) the gate is shut
//     (math.MaxUint64): the near caches are flushed, neither serve nor take values. When
//     tracking is on again, the caches are flushed once more and the gate opens at the next
//     seq: a value read before that point may predate a change nobody announced.
//
// mu makes a put's gate check and store one step against a gate change and its flush.
type tracker struct {
	seq  atomic.Uint64
	lost atomic.Uint64
	open atomic.Bool // the gate is open: near caches may serve
	mu   sync.RWMutex
	gate uint64 // under mu
}

func newTracker() *tracker {
	t := &tracker{}
	t.gate = math.MaxUint64
	return t
}

// mark is what a reader notes before its read: the invalidations seen so far, and when.
// The zero mark (pub/sub mode) is never refused.
type mark struct {
	seq uint64
	at  time.Time
}

// mark notes where the invalidations are before a read whose value may go to a near cache.
func (c *Cache) mark() mark {
	if c.tracking == nil {
		return mark{}
	}
	return mark{seq: c.tracking.seq.Load(), at: time.Now()}
}

// shut closes the gate and empties the near caches: tracking is not (or no longer)
// established, so nothing near may be served or kept.
func (c *Cache) shut() {
	t := c.tracking
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open.Store(false)
	t.gate = math.MaxUint64
	c.flushNear()
}

// reopen empties the near caches and opens the gate to values read from now on.
func (c *Cache) reopen() {
	t := c.tracking
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gate = t.seq.Add(1)
	c.flushNear()
	t.open.Store(true)
}

// trackedInvalidation applies one message of TrackingChannel: the full keys that changed,
// or none (a nil payload: FLUSHALL, FLUSHDB, or tracking ended), meaning all of them.
func (c *Cache) trackedInvalidation(m *redis.Message) {
	if len(m.PayloadSlice) == 0 {
		c.lags.countOnly()
		c.shut()
		c.reopen()
		return
	}
	for _, full := range m.PayloadSlice {
		key, ok := strings.CutPrefix(full, c.prefix)
		if !ok {
			continue
		}
		s := c.tracking.seq.Add(1)
		for _, n := range c.nearCaches() {
			n.evictTracked(key, s)
		}
		c.lags.countOnly()
	}
}

// nearPrefixesLocked returns the full key prefixes to track: those of the caches with a
// near cache, or the whole key prefix when one of them declared none.
func (c *Cache) trackedPrefixes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.nearPrefixes {
		if p == "" {
			return []string{c.prefix}
		}
		out = append(out, c.prefix+p)
	}
	return out
}

// RunTracking keeps the near caches right in the tracking mode (Options.Tracking) until ctx
// ends: one connection of its own, in RESP2, that on each (re)connect asks CLIENT ID, turns
// on CLIENT TRACKING in broadcasting mode (BCAST) for the near-cached key prefixes with
// REDIRECT to itself, and subscribes to TrackingChannel. Redis then sends it the name of
// every key under those prefixes that anyone changes (a write, a delete, an expiry, an
// eviction), which it evicts. No NOLOOP: the shop's own writes must reach the other
// instances, and come back here harmlessly. Tracking lives and dies with that one
// connection, so any break of it shuts the near caches (flushed, not used) until it is
// subscribed again; the Postgres listener is no witness here. The connection is outside the
// shop's pool and its Guard: its only calls are this handshake and the subscription's
// reads and pings, bounded by the client's dial and read timeouts.
func (c *Cache) RunTracking(ctx context.Context) {
	if c.disabled || c.tracking == nil {
		close(c.subscribed)
		return
	}
	base, ok := c.rdb.(*redis.Client)
	if !ok {
		close(c.subscribed)
		return
	}
	prefixes := c.trackedPrefixes()
	opt := *base.Options()
	opt.Protocol = 2 // invalidations arrive as pub/sub messages, not RESP3 pushes
	opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns = 1, 0, 0
	opt.ClientName = TrackingClientName
	opt.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		args := []any{"CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST"}
		for _, p := range prefixes {
			args = append(args, "PREFIX", p)
		}
		return cn.Do(ctx, args...).Err()
	}
	client := redis.NewClient(&opt)
	defer client.Close()
	var once sync.Once
	onGap := func(broken bool) string {
		if broken {
			c.shut()
			return "near caches flushed and unused until tracking is back"
		}
		c.reopen()
		once.Do(func() { close(c.subscribed) })
		return "near caches flushed; tracking on"
	}
	c.shut()
	c.subscribe(ctx, client, []string{TrackingChannel}, c.trackedInvalidation, onGap)
	c.shut()
}

// Tracking reports whether the near caches use the tracking mode, and whether tracking is
// established now (the near caches are in use).
func (c *Cache) Tracking() (mode, established bool) {
	if c.tracking == nil {
		return false, false
	}
	return true, c.tracking.open.Load()
}
