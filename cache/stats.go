package cache

import (
	"context"
	"sync/atomic"
	"time"
)

// Result is where a read was answered from; the values are those of the X-Cache header.
type Result string

// The results of a read.
const (
	HitL1    Result = "HIT-L1"    // the in-process near cache
	HitRedis Result = "HIT-REDIS" // Redis
	Miss     Result = "MISS"      // not cached: loaded from the database and filled
	Bypass   Result = "BYPASS"    // Redis skipped or failing: loaded from the database
	Stale    Result = "STALE"     // past its TTL, and the load failed: the old value (stale-if-error)
)

// Stats counts the reads of one cache. All methods are safe for concurrent use.
type Stats struct {
	name                                 string
	ttl                                  TTL
	hitsL1, hitsRedis, misses, bypasses  atomic.Int64
	loads, errors, fillsRefused, expired atomic.Int64
	stale, refreshes                     atomic.Int64
}

// StatsSnapshot is the counters of one cache at one moment.
type StatsSnapshot struct {
	Name         string        // "product", "profile", "list"
	TTL          time.Duration // base TTL in force
	HitsL1       int64         // reads answered by the near cache
	HitsRedis    int64         // reads answered by Redis
	Misses       int64         // reads that loaded from the database and filled
	Bypasses     int64         // reads that skipped Redis (away or failing)
	Stale        int64         // reads answered past the TTL because the load failed
	Loads        int64         // database loads caused by misses, bypasses and refreshes
	Refreshes    int64         // values reloaded ahead of their expiry (refresh-ahead), each one load
	Errors       int64         // Redis errors
	FillsRefused int64         // fills dropped because a writer took the lease (stale-set race avoided)
	Expired      int64         // expirations seen through keyspace notifications (at TTL + Options.StaleIfError)
}

// Hits is HitsL1 + HitsRedis.
func (s StatsSnapshot) Hits() int64 { return s.HitsL1 + s.HitsRedis }

// Requests is every read counted.
func (s StatsSnapshot) Requests() int64 { return s.Hits() + s.Misses + s.Bypasses + s.Stale }

// HitRatio is Hits / Requests, 0 with no requests.
func (s StatsSnapshot) HitRatio() float64 {
	if s.Requests() == 0 {
		return 0
	}
	return float64(s.Hits()) / float64(s.Requests())
}

type uncountedKey struct{}

// Uncounted returns a context whose cache reads are served as usual but not counted in the
// caches' Stats (nor, therefore, in /metrics or the Lab): for the Lab's own requests, so
// that watching the shop does not change what is watched. The observer is still told.
func Uncounted(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncountedKey{}, true)
}

// IsUncounted reports whether ctx came from Uncounted.
func IsUncounted(ctx context.Context) bool { return ctx.Value(uncountedKey{}) != nil }

// countIn counts r unless ctx is Uncounted.
func (s *Stats) countIn(ctx context.Context, r Result) {
	if !IsUncounted(ctx) {
		s.count(r)
	}
}

func (s *Stats) count(r Result) {
	switch r {
	case HitL1:
		s.hitsL1.Add(1)
	case HitRedis:
		s.hitsRedis.Add(1)
	case Miss:
		s.misses.Add(1)
	case Bypass:
		s.bypasses.Add(1)
	case Stale:
		s.stale.Add(1)
	}
}

// Snapshot returns the counters now.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{
		Name: s.name, TTL: s.ttl.Base,
		HitsL1: s.hitsL1.Load(), HitsRedis: s.hitsRedis.Load(), Misses: s.misses.Load(),
		Bypasses: s.bypasses.Load(), Stale: s.stale.Load(), Loads: s.loads.Load(), Errors: s.errors.Load(),
		FillsRefused: s.fillsRefused.Load(), Expired: s.expired.Load(), Refreshes: s.refreshes.Load(),
	}
}

// countLoad counts a database load of a's, unless ctx is Uncounted.
func (a *Aside[T]) countLoad(ctx context.Context) {
	if !IsUncounted(ctx) {
		a.stats.loads.Add(1)
	}
}
