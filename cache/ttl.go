package cache

import (
	"math/rand/v2"
	"time"
)

// DefaultJitter spreads expiries ±10 %, so keys written together do not expire together.
const DefaultJitter = 0.10

// TTL is a time to live with jitter: each write lives Base ± up to Jitter × Base.
type TTL struct {
	Base   time.Duration
	Jitter float64 // fraction of Base, 0 to 1; DefaultJitter is 0.10
}

// Next returns the TTL for one write: uniformly random in [Base×(1−Jitter), Base×(1+Jitter)],
// and never less than a millisecond.
func (t TTL) Next() time.Duration {
	d := float64(t.Base) * (1 + t.Jitter*(2*rand.Float64()-1))
	return max(time.Duration(d), time.Millisecond)
}

// Policy is the TTL of each type of cached data. The defaults are the table of the AWS
// ElastiCache caching-strategies article, as the project's issue 4 quotes it.
type Policy struct {
	Product  TTL // a product page: 300 s
	Profile  TTL // a user profile: 3600 s
	List     TTL // a page of the product listing or of search results: 300 s
	Home     TTL // the home page's lists: 60 s
	Realtime TTL // fast-changing data (leaderboard views): 10 s
	Negative TTL // "not found" remembered: 30 s (short: a new row must appear soon)
}

// DefaultPolicy returns the default TTLs, each with DefaultJitter.
func DefaultPolicy() Policy {
	ttl := func(d time.Duration) TTL { return TTL{Base: d, Jitter: DefaultJitter} }
	return Policy{
		Product:  ttl(300 * time.Second),
		Profile:  ttl(3600 * time.Second),
		List:     ttl(300 * time.Second),
		Home:     ttl(60 * time.Second),
		Realtime: ttl(10 * time.Second),
		Negative: ttl(30 * time.Second),
	}
}
