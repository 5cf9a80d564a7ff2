package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/keys"
)

// InvalidationChannel is the pub/sub channel (after the key prefix) on which every write
// announces the key it changed and the key's new version.
const InvalidationChannel = keys.InvalidationChannel

// invalidation is one message on InvalidationChannel.
type invalidation struct {
	Key     string `json:"key"`     // without the prefix, e.g. "product:42"
	Version int64  `json:"version"` // the row's version after the change; 0: whatever is cached
	At      int64  `json:"at"`      // when the change committed, Unix microseconds
	From    string `json:"from"`    // the instance that published it
}

// register adds a cache's near cache (nil for none), counters and key prefixes to the
// ones that invalidations and expirations reach.
func (c *Cache) register(n nearCache, s *Stats, prefixes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n != nil {
		c.nears = append(c.nears, n)
	}
	for _, p := range prefixes {
		c.byPrefix = append(c.byPrefix, prefixStats{p, s})
	}
}

type prefixStats struct {
	prefix string
	stats  *Stats
}

func (c *Cache) nearCaches() []nearCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nears)
}

// flushNear empties every near cache: after a gap in the subscription, any of them may hold
// a value whose invalidation was lost.
func (c *Cache) flushNear() {
	for _, n := range c.nearCaches() {
		n.flush()
	}
}

// NearSize returns the number of entries each near cache holds, tombstones included.
func (c *Cache) NearSize() int {
	total := 0
	for _, n := range c.nearCaches() {
		total += n.size()
	}
	return total
}

// Invalidate deletes key from Redis unless it already holds version or newer (version 0:
// whatever it holds), drops the key's lease, evicts it from this process's near caches, and
// publishes the invalidation so every instance evicts it too. at is when the change
// committed, for the lag metric. The event-driven path (a Postgres notification) calls it
// directly; the caches call it for delete-on-write.
func (c *Cache) Invalidate(ctx context.Context, key string, version int64, at time.Time) error {
	if c.disabled {
		return nil
	}
	for _, n := range c.nearCaches() {
		n.evict(key, version)
	}
	defer c.publish(ctx, key, version, at)
	err := invalidateScript.Run(ctx, c.rdb, []string{c.Key(key), c.leaseKey(key)}, version).Err()
	if err != nil {
		return fmt.Errorf("cache: invalidate %s: %w", key, err)
	}
	return nil
}

// publish announces that key changed to version at at. A failure is logged: the other
// instances' near copies then live out their (short) TTL.
func (c *Cache) publish(ctx context.Context, key string, version int64, at time.Time) {
	msg, _ := json.Marshal(invalidation{Key: key, Version: version, At: at.UnixMicro(), From: c.instance})
	err := c.rdb.Publish(ctx, c.prefix+InvalidationChannel, msg).Err()
	if err != nil && c.log != nil {
		c.log.Warn("cache: invalidation not published; other instances' near copies live out their TTL", "key", key, "err", err)
	}
}

// receive applies one invalidation to this process's near caches and records its lag.
func (c *Cache) receive(payload string) {
	var m invalidation
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.Key == "" {
		if c.log != nil {
			c.log.Warn("cache: unreadable invalidation, flushing the near caches", "payload", payload)
		}
		c.flushNear()
		return
	}
	for _, n := range c.nearCaches() {
		n.evict(m.Key, m.Version)
	}
	if m.At > 0 {
		c.lags.observe(time.Since(time.UnixMicro(m.At)))
	}
}

// Witness is a second path by which this process hears every committed change: package
// pgnotify's Postgres listener, which hands each change to Invalidate whether Redis answers
// or not. While it is connected, and has been since a gap in the pub/sub subscription
// began, nothing was missed, so the near caches need not be flushed for that gap.
type Witness interface {
	// Session returns a number that changes each time the path (re)connects, and whether it
	// is connected now.
	Session() (session uint64, connected bool)
}

// witnessConnected reports whether the Witness hears every committed change now.
func (c *Cache) witnessConnected() bool {
	if c.witness == nil {
		return false
	}
	_, connected := c.witness.Session()
	return connected
}

// SetWitness makes a gap in the subscription flush the near caches only when w cannot vouch
// for it (see RunInvalidations). Call it before RunInvalidations; nil: every gap flushes.
func (c *Cache) SetWitness(w Witness) { c.witness = w }

// RunInvalidations subscribes to InvalidationChannel and applies every message to the near
// caches until ctx ends. go-redis reconnects a subscription that breaks and subscribes
// again. Messages published while the connection was down are lost (go-redis #1070, redis
// #11767), so a gap — from the first error to the next subscription — flushes the near
// caches whole, unless the Witness (the Postgres listener) was connected when the gap began
// and has stayed connected on the same session throughout: then every change committed
// meanwhile reached Invalidate through it, and the near caches are kept. So a Redis outage
// does not also empty every instance's near cache onto Postgres. When the witness drops or
// reconnects during the gap, the next event of the gap (each failed attempt, the
// resubscription) flushes. Messages are read one at a time with Receive, not through
// go-redis's buffered channel, so none is dropped: a subscriber that falls too far behind is
// disconnected by Redis (client-output-buffer-limit pubsub) and flushes on reconnecting.
func (c *Cache) RunInvalidations(ctx context.Context) {
	if c.disabled {
		close(c.subscribed)
		return
	}
	var once sync.Once
	var gap struct {
		open, vouched bool
		session       uint64
	}
	onGap := func(broken bool) string {
		defer func() {
			if !broken {
				gap.open = false
				once.Do(func() { close(c.subscribed) })
			}
		}()
		var session uint64
		connected := false
		if c.witness != nil {
			session, connected = c.witness.Session()
		}
		if !gap.open && broken { // a gap begins
			gap.open, gap.vouched, gap.session = true, connected, session
		}
		if gap.open && gap.vouched && connected && session == gap.session {
			return "near caches kept: the Postgres listener hears every change meanwhile"
		}
		gap.vouched = false
		c.flushNear()
		return "near caches flushed"
	}
	c.subscribe(ctx, c.rdb, []string{c.prefix + InvalidationChannel}, func(m *redis.Message) { c.receive(m.Payload) }, onGap)
}

// Subscribed is closed once RunInvalidations has first subscribed.
func (c *Cache) Subscribed() <-chan struct{} { return c.subscribed }

// subscribe runs a subscription loop: onMessage for each message, onGap at each
// subscription (broken false) and error (broken true), which says what it did for the log.
// It pings a silent connection so that a dead one is noticed.
func (c *Cache) subscribe(ctx context.Context, client redis.UniversalClient, channels []string, onMessage func(*redis.Message), onGap func(broken bool) string) {
	ps := client.Subscribe(ctx, channels...)
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	defer ps.Close()
	pause := 50 * time.Millisecond
	broken := false
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, 10*time.Second)
		var netErr net.Error
		switch m := msg.(type) {
		case *redis.Subscription:
			note := onGap(false)
			if broken && c.log != nil {
				c.log.Info("cache: subscribed again", "channels", channels, "near", note)
			}
			broken = false
			pause = 50 * time.Millisecond
			continue
		case *redis.Message:
			onMessage(m)
			continue
		case *redis.Pong:
			continue
		}
		switch {
		case err == nil:
		case errors.As(err, &netErr) && netErr.Timeout():
			_ = ps.Ping(ctx) // quiet: check the connection is alive
		case ctx.Err() != nil:
			return
		default:
			broken = true
			note := onGap(true)
			if c.log != nil {
				c.log.Warn("cache: subscription broken; reconnecting", "channels", channels, "near", note, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		}
	}
}

// RunExpirations counts key expirations per cache through keyspace notifications
// (__keyevent@db__:expired) until ctx ends. The server must have notify-keyspace-events
// with E and x (the bundled Terraform's parameter group sets "Ex"); when it says it has not,
// this logs so once and returns. Where CONFIG is not allowed (ElastiCache), it subscribes
// anyway. Keyspace events are local to a node, so on a cluster it listens to every master
// known at start (a master added later is not heard).
func (c *Cache) RunExpirations(ctx context.Context, db int) {
	if c.disabled {
		return
	}
	cluster, ok := c.rdb.(*redis.ClusterClient)
	if !ok {
		c.runExpirations(ctx, c.rdb, db)
		return
	}
	var wg sync.WaitGroup
	err := cluster.ForEachMaster(ctx, func(_ context.Context, master *redis.Client) error {
		wg.Go(func() { c.runExpirations(ctx, master, 0) })
		return nil
	})
	if err != nil && c.log != nil {
		c.log.Warn("cache: cannot list the cluster's masters; expirations are not counted", "err", err)
	}
	<-ctx.Done()
	wg.Wait()
}

func (c *Cache) runExpirations(ctx context.Context, client redis.UniversalClient, db int) {
	cfg, err := client.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err == nil {
		flags := cfg["notify-keyspace-events"]
		if !strings.Contains(flags, "E") || !strings.ContainsAny(flags, "xA") {
			if c.log != nil {
				c.log.Info("cache: keyspace notifications are off on this Redis (notify-keyspace-events lacks Ex); "+
					"expirations will not be counted", "notify-keyspace-events", flags)
			}
			return
		}
	}
	channel := keys.ExpiredChannel(db)
	c.subscribe(ctx, client, []string{channel}, func(m *redis.Message) { c.countExpired(m.Payload) }, func(bool) string { return "" })
}

func (c *Cache) countExpired(fullKey string) {
	key, ok := strings.CutPrefix(fullKey, c.prefix)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.byPrefix {
		if strings.HasPrefix(key, ps.prefix) {
			ps.stats.expired.Add(1)
			return
		}
	}
}

// lagWindow keeps the most recent invalidation lags, for percentiles on /lab, and hands
// each to onLag (the Prometheus histogram).
type lagWindow struct {
	mu     sync.Mutex
	recent []time.Duration // a ring of at most lagWindowSize
	next   int
	count  int64
	onLag  func(time.Duration)
}

const lagWindowSize = 1000

func (w *lagWindow) observe(d time.Duration) {
	if w.onLag != nil {
		w.onLag(d)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count++
	if len(w.recent) < lagWindowSize {
		w.recent = append(w.recent, d)
		return
	}
	w.recent[w.next] = d
	w.next = (w.next + 1) % lagWindowSize
}

// LagStats summarises the invalidation lags this process saw: from a change's commit to its
// eviction here.
type LagStats struct {
	Count    int64         // messages received since start
	P50, P99 time.Duration // over the most recent 1,000
}

// Lags returns the invalidation lags seen so far.
func (c *Cache) Lags() LagStats {
	c.lags.mu.Lock()
	recent := slices.Clone(c.lags.recent)
	count := c.lags.count
	c.lags.mu.Unlock()
	if len(recent) == 0 {
		return LagStats{}
	}
	slices.Sort(recent)
	at := func(q float64) time.Duration { return recent[int(q*float64(len(recent)-1))] }
	return LagStats{Count: count, P50: at(0.50), P99: at(0.99)}
}
