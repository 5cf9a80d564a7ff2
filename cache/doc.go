// Package cache implements the caching strategies of the shop as small reusable pieces, on
// Redis through go-redis, one strategy per file. It knows nothing of products or users: the
// domain packages (catalog, accounts) use it. Two more strategies live with the data they
// serve: write-behind in package pageviews, and sorted-set leaderboards in package
// leaderboard.
//
// # Cache-aside, or lazy loading (aside.go)
//
// Aside.Get reads a key; on a hit it returns the value. On a miss it loads the value from the
// source of truth (a function the caller passes), stores it with a TTL and returns it. Values
// carry the version of the row they came from (the version column, bumped on every change),
// so that an older value never replaces a newer one.
//
// With Options.StaleIfError, Redis keeps each value that long past its TTL (PX = TTL +
// grace; the TTL left is the PTTL less the grace). A read past the TTL loads again as a miss
// does, and when that load fails it returns the old value as Stale (stale-if-error, RFC
// 5861's name for it) instead of the error.
//
// # Leases: stampede protection and the stale-set race (lease.go)
//
// Concurrent misses of one key in one process are merged by singleflight: one load, one
// fill. The merged load runs on a context of its own, bounded by Options.LoadTimeout; each
// caller waits for it only as long as its own context, and when every caller has left, the
// load is cancelled and its lease released. Across processes, a miss takes a lease — SET lease:{key} token NX PX — before it
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
// Values that their owner computes and stores in its own format (the leaderboard's top-N
// lists, fields of one hash) get the same singleflight and lease through Shared (shared.go).
//
// # Write-through and delete-on-write (write.go)
//
// Aside.Set stores a value after the caller's database transaction has committed — never
// before, so a rolled-back change never reaches the cache. If the write fails, Set deletes
// the key instead; if that fails too, the stale value lives at most its TTL. Aside.Invalidate
// deletes a key after a commit, so the next read loads the new row. Both also take away any
// reader's lease, and publish the change on the invalidation bus.
//
// # TTLs with jitter, and negative caching (ttl.go)
//
// Every key is written with a TTL from a Policy, randomised ±10 % (TTL.Next) so that keys
// written together do not all expire, and reload, together. When the loader reports "not
// found" (the NotFound error of AsideOptions), a tombstone is stored for the short negative
// TTL, so a scan of unknown ids reaches the database once per id per TTL.
//
// # Near cache, or L1 (near.go)
//
// An Aside with L1 options keeps recent values in process memory (otter, bounded in entries
// and with a short TTL) in front of Redis: a hit there costs no round trip. A near copy is
// only as fresh as the invalidations this process hears, which is the bus's job.
//
// # The invalidation bus, and event-driven invalidation (bus.go)
//
// Every write-through and delete-on-write is published on one pub/sub channel
// (cache:invalidations) with its key and version; every instance drops its older near copy
// when it hears it (RunInvalidations). Changes made outside the shop (psql, a bulk import)
// reach the same path from Postgres triggers through package pgnotify. Messages are
// version-checked, so duplicates and reordering are harmless. When the subscription breaks,
// the instance flushes its near caches: it can no longer vouch for them — unless its Witness
// (the Postgres listener) was connected throughout the gap and heard every change. Keyspace
// notifications of expired keys are counted per cache (RunExpirations), when the server has
// them on.
//
// # Replica reads (Options.Reader)
//
// With a reader endpoint, Get reads the replicas first, and falls back to the primary when a
// replica has nothing, or holds a version older than an invalidation this process has already
// heard (read-your-writes). Leases, fills, writes and pub/sub stay on the primary.
//
// # Many keys at once (many.go)
//
// GetMany reads a page's worth of keys in one round trip. Its misses take leases and are
// filled by the same version-checked fill script as Get, so it is protected against the
// stale-set race. It is not merged by singleflight and does not wait for another loader's
// fill: its misses are loaded in one query for the whole batch, so merging them key by key
// with concurrent Gets would split that query, and a listing's miss is cheap (one query)
// next to a stampede on one hot key. A miss whose lease another loader holds is loaded but
// not filled.
//
// # The Redis guard: bounded fail-open (guard.go)
//
// Every Redis call of the shop — the cache's and every other package's — passes through one
// Guard installed on the client: a short per-call timeout, and a circuit breaker per node
// (sony/gobreaker) that, after repeated failures, skips the node for a cool-down and then lets
// one call probe it. While Redis is skipped, reads load from the database — singleflight
// still merges concurrent loads of a key — and the result is reported as BYPASS. Nothing
// fails because the cache is away.
//
// # Failover behind one address (failover.go)
//
// When a node answers as one that is no longer the primary (READONLY, EXECABORT, LOADING,
// MASTERDOWN) — in any command of a pipeline or transaction too — the guard drops that
// node's pooled connections, which stay with the demoted node after a DNS failover, and the
// next calls dial the endpoint anew. Connections also live at most a minute.
//
// # Computed values: the same stampede protection (shared.go)
//
// Shared gives a value that its owner computes and stores in its own format (the
// leaderboard's top-N lists) Aside's singleflight and lease, so a cold list met by many
// pages at once is computed once.
//
// # What is counted (stats.go)
//
// Each named cache counts hits (L1 and Redis), misses, bypasses, loads, errors, refused fills
// and expirations (Stats), and every read is reported to an Observer, which the shop uses for
// the X-Cache header and the "how this page was served" bar.
package cache
