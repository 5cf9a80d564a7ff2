package lab

import "context"

// RepoURL is where the code links of the strategy pages point: the repository's tree at
// main. A fork changes it here.
const RepoURL = "https://github.com/shopcache/shop/blob/main/"

// Strategy is one page of the Lab: a caching strategy, what the shop does with it, where the
// code is, and its experiment (nil when it has none yet, which the page says).
type Strategy struct {
	Slug       string
	Title      string
	About      []string  // paragraphs, in the shop's words
	Code       []CodeRef // where it happens
	Experiment *Experiment
	// Missing says, for a strategy without an experiment, what the experiment would be.
	Missing string
}

// CodeRef is one function of the repository that does the strategy.
type CodeRef struct {
	File string // path in the repository
	Func string // e.g. "Aside.Get"
	What string // its part, in a few words
}

// URL links the file in the repository.
func (c CodeRef) URL() string { return RepoURL + c.File }

// Experiment is what a strategy page runs on the live shop.
type Experiment struct {
	Admin    bool   // changes data or injects a fault: administrators only
	Describe string // what it does, shown by the Run button
	Run      func(ctx context.Context, e *env) error
}

// Strategies returns every strategy page, in the order the Lab lists them.
func Strategies() []Strategy { return strategies }

// Find returns the strategy of slug.
func Find(slug string) (Strategy, bool) {
	for _, s := range strategies {
		if s.Slug == slug {
			return s, true
		}
	}
	return Strategy{}, false
}

var strategies = []Strategy{
	{
		Slug: "cache-aside", Title: "Cache-aside (lazy loading)",
		About: []string{
			"A product page is read from the cache first. On a miss the shop loads the product from Postgres, fills Redis with it for its TTL, and answers; the next reader finds it in Redis (or in this instance's near cache) and Postgres is not asked.",
			"Only what is read gets cached, and a Redis that is away costs speed, never correctness: the read falls back to Postgres.",
		},
		Code: []CodeRef{
			{"cache/aside.go", "Aside.Get", "the read: near cache, Redis, then load and fill"},
			{"cache/lease.go", "Aside.loadAndFill", "the miss: lease, load from Postgres, fill"},
			{"catalog/cached.go", "Cached.FindProductPage", "the product page through the cache"},
		},
		Experiment: &Experiment{Describe: "Reads one product N times straight from Postgres (the cache bypassed, at the configured database latency), then N times through the cache, and draws the two latency distributions.", Run: runCacheAside},
	},
	{
		Slug: "write-through", Title: "Write-through",
		About: []string{
			"When an administrator saves a product, the shop commits the change in Postgres and then, after the commit and never before, writes the new page into Redis and tells every instance to drop its near-cache copy. Readers see the new price at once instead of when a TTL runs out.",
			"The cost is on the write: one more Redis round trip and a publish. The experiment measures both sides against lazy loading with a TTL.",
		},
		Code: []CodeRef{
			{"catalog/cached.go", "Cached.UpdateProduct", "commit, then write through and drop the bestseller lists"},
			{"cache/write.go", "Aside.Set", "the versioned SET and the invalidation message"},
		},
		Experiment: &Experiment{Admin: true, Describe: "Edits one product's price every second while readers read it: first with write-through (the shop's own path), then with lazy loading and a 2-second TTL. Counts the reads that saw an old price and times the writes. The price is put back at the end.", Run: runWriteThrough},
	},
	{
		Slug: "write-behind", Title: "Write-behind (write-back)",
		About: []string{
			"A product page view is one HINCRBY on views:pending in Redis; a flusher moves the counts to Postgres in batches every few seconds, each batch applied at most once (a ledger row in the same transaction).",
			"Postgres sees one write per batch instead of one per view. What the flusher has not written yet lives only in Redis: a crashed flusher loses nothing (the batch is re-applied), a lost Redis loses the views not yet flushed.",
		},
		Code: []CodeRef{
			{"pageviews/pageviews.go", "Counter.View", "the view, counted in Redis"},
			{"pageviews/pageviews.go", "Flusher.flushLocked", "claim a batch, apply it once, delete it"},
		},
		Experiment: &Experiment{Admin: true, Describe: "Views one product page 300 times in a burst, as 300 visitors would (the views count, as theirs do), then draws the views pending in Redis against those written to Postgres until the flusher has written them all.", Run: runWriteBehind},
	},
	{
		Slug: "ttl", Title: "TTL and jitter",
		About: []string{
			"Every cached value has a time to live: product pages 300 s, profiles an hour, the home page's lists 60 s. Each write gets its TTL ± 10 % at random, so that keys written together (a cold start, a deploy) do not expire together and send every reader to Postgres in the same second.",
		},
		Code: []CodeRef{
			{"cache/ttl.go", "TTL.Next", "the TTL of one write, with jitter"},
			{"cache/ttl.go", "DefaultPolicy", "the TTL of each kind of data"},
		},
		Experiment: &Experiment{Describe: "Writes 200 keys at once with a 3-second TTL and no jitter, and 200 with ±10 % jitter, then draws when each one expires (looked for every 20 ms).", Run: runTTL},
	},
	{
		Slug: "invalidation", Title: "Invalidation (pub/sub and Postgres NOTIFY)",
		About: []string{
			"Each write publishes the changed key and its version on cache:invalidations; every instance drops older copies from its near cache. A change made outside the shop (a psql UPDATE) reaches the same path through a Postgres trigger and LISTEN/NOTIFY.",
		},
		Code: []CodeRef{
			{"cache/bus.go", "Cache.Invalidate", "delete-on-write and the message"},
			{"cache/bus.go", "Cache.RunInvalidations", "every instance listening"},
			{"pgnotify/pgnotify.go", "Listener.Run", "changes committed in Postgres"},
		},
		Experiment: &Experiment{Admin: true, Describe: "Has every instance hold the product in its near cache, then edits it on this instance and measures, on each instance, how long until its near cache serves the new version. The price is put back at the end.", Run: runInvalidation},
	},
	{
		Slug: "near-cache", Title: "Near cache (L1)",
		About: []string{
			"Product pages, profiles and the home page's lists are also kept in each process for a few seconds (an in-memory LRU), in front of Redis: a hit costs no network round trip at all. The invalidation bus keeps the copies honest, and their short TTL bounds what a lost message can cost.",
		},
		Code: []CodeRef{
			{"cache/near.go", "near.get", "the in-process read"},
			{"cache/aside.go", "Aside.keepNear", "filled from Redis and from loads"},
		},
		Experiment: &Experiment{Describe: "Copies one product to a key of the Lab's own and has every instance of the deployment read it 200 times through a near cache and 200 times from Redis alone: draws the two latency distributions and which layer answered. Then writes the copy once (write-through and its invalidation message) and measures, on each instance, how long until its near cache dropped the old copy. No shop data changes; the copy is deleted at the end.", Run: runNearCache},
	},
	{
		Slug: "sessions", Title: "Sessions in Redis",
		About: []string{
			"A session is a Redis key, session:{token}, with an idle timeout and a lifetime; the cookie holds only the token. Any instance behind the load balancer finds the session, so no sticky sessions are needed and a restarted instance loses nobody.",
		},
		Code: []CodeRef{
			{"sessions/store.go", "Store.FindCtx", "the session read by token"},
			{"sessions/store.go", "Store.CommitCtx", "the session written with its expiry"},
			{"handlers/session.go", "Server.loadSession", "every request's session"},
		},
		Experiment: &Experiment{Describe: "Creates a throwaway session in Redis and asks every instance of the deployment to find it by its token; draws who found it and how long each took. The session is deleted at the end.", Run: runSessions},
	},
	{
		Slug: "leaderboard", Title: "Leaderboard (sorted sets)",
		About: []string{
			"Bestsellers are sorted sets: each order adds its units with ZINCRBY after it commits, and the top list is a ZREVRANGE. When Redis loses the boards the shop rebuilds them from the orders in Postgres.",
		},
		Code: []CodeRef{
			{"leaderboard/leaderboard.go", "Board.Record", "a sale counted"},
			{"leaderboard/leaderboard.go", "Board.Top", "the top list"},
			{"leaderboard/leaderboard.go", "Board.Rebuild", "the boards rebuilt from Postgres"},
		},
		Experiment: &Experiment{Describe: "Records a burst of simulated sales with ZINCRBY on a scratch board of the Lab's own (never the shop's boards), and every 100 ms reads the top 5 from the sorted set and the top 5 computed by SQL over the shop's order lines: draws the latency of each and the scratch board's ranks over time. The scratch board is deleted at the end.", Run: runLeaderboard},
	},
	{
		Slug: "stampede", Title: "Cache stampede (dogpile)",
		About: []string{
			"When a popular key expires, every reader misses at once. Without protection each one loads it from Postgres; with it, one reader per deployment takes a short lease in Redis and loads, the others of its process share its load, and the rest wait briefly for its fill.",
		},
		Code: []CodeRef{
			{"cache/aside.go", "Aside.loadShared", "one load per process (singleflight)"},
			{"cache/lease.go", "Aside.loadAndFill", "one load per deployment (the lease)"},
			{"cache/lease.go", "Aside.waitForFill", "the others wait for the fill"},
		},
		Experiment: &Experiment{Describe: "Fifty readers miss the same cold key at the same moment, five rounds with the protection on and five with it off; draws the Postgres loads of each round.", Run: runStampede},
	},
	{
		Slug: "stale-set", Title: "Stale-set race",
		About: []string{
			"A reader misses and loads the old row; a writer commits and writes the new value; then the slow reader fills the cache with the old value, which now lives out its TTL. The shop's fills go through the lease and a version check, so a fill older than what a writer wrote is dropped.",
		},
		Code: []CodeRef{
			{"cache/lease.go", "Aside.fill", "the fill that checks the lease and the version"},
			{"cache/write.go", "Aside.Set", "the writer takes the lease"},
		},
		Experiment: &Experiment{Describe: "Replays the race on a key of the Lab's own: a reader holds an old value while a writer writes a new one, then fills; once with the protection on, once off. Shows what the cache holds after.", Run: runStaleSet},
	},
	{
		Slug: "fail-open", Title: "Fail-open (circuit breaker)",
		About: []string{
			"Every Redis call passes one guard: a short timeout, and a circuit breaker per node that, after three failures in a row, skips Redis for two seconds before trying again. While it is open the shop serves from Postgres: slower, but up.",
		},
		Code: []CodeRef{
			{"cache/guard.go", "Guard.run", "the timeout and the breaker around each call"},
			{"cache/aside.go", "Aside.get", "the read that falls back to Postgres"},
		},
		Experiment: &Experiment{Admin: true, Describe: "Requests a product page every 100 ms for a few seconds, then forces the breaker open on every instance of the deployment for the experiment's duration (each instance releases its own at the end, whatever happens to this one), then closes it: draws how the pages were answered and how fast.", Run: runFailOpen},
	},
}
