package cache

import (
	"time"

	"github.com/maypok86/otter/v2"
)

// L1Options size a near cache: at most Size entries, each kept at most TTL after it was
// written. A zero Size turns the near cache off.
type L1Options struct {
	Size int
	TTL  time.Duration
}

// nearEntry is a value in the near cache with its version; gone marks an invalidation seen
// for a key (a tombstone), so that a slower read of an older value cannot be put back.
type nearEntry[T any] struct {
	value   T
	version int64
	gone    bool
	seq     uint64        // of a tombstone: the tracked invalidation that left it (tracking.go); 0: none
	meta    freshness     // of the Redis entry it came from, for refresh-ahead
	life    time.Duration // how long it is kept; 0: the near cache's TTL (see outageLife)
}

// freshness is what refresh-ahead needs of a cached value: when its Redis entry expires (its
// TTL, not the near cache's) and how long loading it took (delta; 0 when unknown).
type freshness struct {
	expires time.Time
	delta   time.Duration
}

// near is the in-process near cache (L1) of one Aside: bounded, short-lived, versioned.
type near[T any] struct {
	name string
	c    *otter.Cache[string, nearEntry[T]]
	t    *tracker      // nil in the pub/sub mode
	ttl  time.Duration // L1Options.TTL
}

func newNear[T any](name string, o L1Options, t *tracker) *near[T] {
	opts := &otter.Options[string, nearEntry[T]]{
		MaximumSize: o.Size,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, nearEntry[T]]) time.Duration {
			if e.Value.life > 0 {
				return e.Value.life
			}
			return o.TTL
		}),
	}
	if t != nil {
		// A tracked tombstone dropped (expired or evicted for room) can no longer refuse a
		// put marked before it: lost makes every such put refused.
		opts.OnAtomicDeletion = func(e otter.DeletionEvent[string, nearEntry[T]]) {
			if e.Value.seq == 0 || e.Cause == otter.CauseReplacement || e.Cause == otter.CauseInvalidation {
				return
			}
			for {
				l := t.lost.Load()
				if l >= e.Value.seq || t.lost.CompareAndSwap(l, e.Value.seq) {
					return
				}
			}
		}
	}
	return &near[T]{name: name, c: otter.Must(opts), t: t, ttl: o.TTL}
}

// get returns the value of key, how long it has left in the near cache, and the freshness of
// its Redis entry, if the near cache holds it.
func (n *near[T]) get(key string) (T, time.Duration, freshness, bool) {
	if n.t != nil && !n.t.open.Load() {
		var zero T
		return zero, 0, freshness{}, false
	}
	e, ok := n.c.GetEntry(key)
	if !ok || e.Value.gone {
		var zero T
		return zero, 0, freshness{}, false
	}
	return e.Value.value, e.ExpiresAfter(), e.Value.meta, true
}

// put stores v at version unless the near cache has seen a newer version (as a value or as
// an invalidation). The same version again only renews the freshness of the entry held (its
// Redis entry was refreshed), when that expires later. In the tracking mode it also refuses
// a value read (at m) before a tracked invalidation of key, before a tombstone that was
// dropped, before the gate opened, or longer ago than a tombstone lives (tracking.go).
func (n *near[T]) put(key string, v T, version int64, meta freshness, m mark, life time.Duration) {
	if n.t != nil {
		n.t.mu.RLock()
		defer n.t.mu.RUnlock()
		if m.seq < n.t.gate || time.Since(m.at) >= n.ttl {
			return
		}
	}
	n.c.Compute(key, func(old nearEntry[T], found bool) (nearEntry[T], otter.ComputeOp) {
		switch {
		case n.t != nil && (found && old.seq > m.seq || n.t.lost.Load() > m.seq):
			return old, otter.CancelOp
		case found && old.version > version:
			return old, otter.CancelOp
		case found && old.version == version && !old.gone:
			if !meta.expires.After(old.meta.expires) {
				return old, otter.CancelOp
			}
			old.meta, old.life = meta, life
			return old, otter.WriteOp
		}
		return nearEntry[T]{value: v, version: version, meta: meta, life: life}, otter.WriteOp
	})
}

// evict drops key unless the near cache already holds version or newer, and remembers the
// invalidation until the entry expires. Version 0 drops whatever is there.
// A tombstone of a tracked invalidation is kept (with its seq) in either case.
func (n *near[T]) evict(key string, version int64) {
	if version == 0 && n.t == nil {
		n.c.Invalidate(key)
		return
	}
	n.c.Compute(key, func(old nearEntry[T], found bool) (nearEntry[T], otter.ComputeOp) {
		switch {
		case version == 0 && found && old.gone:
			return old, otter.CancelOp
		case version == 0:
			return old, otter.InvalidateOp
		case found && old.version >= version:
			return old, otter.CancelOp
		}
		return nearEntry[T]{version: version, gone: true, seq: old.seq}, otter.WriteOp
	})
}

// floor is the version of an invalidation seen for key (0 when none): a value older than
// that is stale.
func (n *near[T]) floor(key string) int64 {
	e, ok := n.c.GetIfPresent(key)
	if !ok || !e.gone {
		return 0
	}
	return e.version
}

// evictTracked drops key for the tracked invalidation seq (tracking.go): a tombstone that
// keeps the version it replaced (as a floor) and refuses any put marked before seq.
func (n *near[T]) evictTracked(key string, seq uint64) {
	n.c.Compute(key, func(old nearEntry[T], found bool) (nearEntry[T], otter.ComputeOp) {
		return nearEntry[T]{version: old.version, gone: true, seq: seq}, otter.WriteOp
	})
}

func (n *near[T]) flush() { n.c.InvalidateAll() }

// size is the number of entries held, tombstones included.
func (n *near[T]) size() int {
	n.c.CleanUp()
	return n.c.EstimatedSize()
}

// nearCache is what the invalidation bus needs of any near cache, whatever its value type.
type nearCache interface {
	evict(key string, version int64)
	evictTracked(key string, seq uint64)
	flush()
	size() int
}
