// Package cache implements the caching strategies of the shop as small reusable pieces, on
// Redis through go-redis. It knows nothing of products or users: the domain packages use it.
//
// # Cache-aside (lazy loading)
//
// Aside.Get reads a key; on a hit it returns the value. On a miss it loads the value from the
// source of truth (a function the caller passes), stores it with a TTL and returns it. Values
// carry the version of the row they came from (the version column, bumped on every change),
// so that an older value never replaces a newer one.
//
// # Write-through
//
// Aside.Set stores a value after the caller's database transaction has committed — never
// before, so a rolled-back change never reaches the cache. If the write fails, Set deletes
// the key instead; if that fails too, the stale value lives at most its TTL.
//
// # Delete-on-write
//
// Aside.Invalidate deletes a key after a commit, so the next read loads the new row.
//
// # TTLs with jitter
//
// Every key is written with a TTL from a Policy, randomised ±10 % (TTL.Next) so that keys
// written together do not all expire, and reload, together.
//
// # Negative caching
//
// When the loader reports "not found" (the NotFound error of AsideOptions), a tombstone is
// stored for the short negative TTL, so a scan of unknown ids reaches the database once per
// id per TTL, not on every request.
//
// # Stampede protection and the stale-set race: leases
//
// Concurrent misses of one key in one process are merged by singleflight: one load, one
// fill. Across processes, a miss takes a lease — SET lease:{key} token NX PX — before it
// loads. Whoever holds the lease loads and fills; the others poll for its value for a short,
// bounded time (LeaseWait) and then load for themselves, without filling. A fill leaves the
// lease to expire (LeaseTTL), so a reader that missed just before the fill waits for the
// value rather than loading again.
//
// The same lease prevents the stale-set race, the way "Scaling Memcache at Facebook"
// (Nishtala et al., NSDI 2013, §3.2.1) does. A reader misses, takes the lease and reads
// version v from Postgres; it is slow. A writer commits v+1 and, with its Set or Invalidate,
// deletes the lease. When the reader comes to fill, a Lua script stores its value only if it
// still holds the lease — it does not, so v is never put back over the newer state. The fill
// and the write-through also compare versions, so of two writers that commit v+1 and v+2 and
// race to the cache, v+2 stays. The lease key carries the value key as its hash tag
// (lease:{product:42}), so the two sit in one slot and the scripts also run on cluster mode.
//
// # Redis away: bounded fail-open
//
// Every Redis call has a short timeout. After repeated errors a circuit breaker
// (sony/gobreaker) skips Redis for a cool-down, then lets one call probe it. While Redis is
// skipped, reads load from the database — singleflight still merges concurrent loads of a
// key — and the result is reported as BYPASS. Nothing fails because the cache is away.
//
// # What is counted
//
// Each Aside counts hits, misses, bypasses, loads and errors (Stats), and reports every read
// to an Observer, which the shop uses for the X-Cache header and the "how this page was
// served" bar.
package cache
