// Package metrics exposes the shop's counters to Prometheus at GET /metrics: the caches'
// counters (read from the cache package, which owns them) and the Postgres queries sent.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shopcache/shop/cache"
)

// Metrics is the registry of one shop process.
type Metrics struct {
	registry *prometheus.Registry
	// DBQueries counts Postgres statements (shop_db_queries_total).
	DBQueries prometheus.Counter
	// InvalidationLag is the time from a change's commit to its eviction from this
	// instance's near cache (shop_cache_invalidation_lag_seconds).
	InvalidationLag prometheus.Histogram
}

// New returns the metrics of a process; AddCaches adds the caches' counters once they exist.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		DBQueries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shop_db_queries_total",
			Help: "Postgres statements sent by the shop (a batch counts as one).",
		}),
		InvalidationLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shop_cache_invalidation_lag_seconds",
			Help:    "Time from a cached row's change committing to its eviction from this instance's near cache.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	m.registry.MustRegister(m.DBQueries, m.InvalidationLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// AddCaches exports the counters of the caches that stats returns (cache.Cache.Stats), read
// at each scrape.
func (m *Metrics) AddCaches(stats func() []cache.StatsSnapshot) {
	m.registry.MustRegister(cacheCollector{stats})
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

var (
	requestsDesc = prometheus.NewDesc("shop_cache_requests_total",
		"Cache reads by cache (product, profile, list) and result (hit_l1, hit_redis, miss, bypass).",
		[]string{"cache", "result"}, nil)
	loadsDesc = prometheus.NewDesc("shop_cache_loads_total",
		"Postgres loads caused by cache misses and bypasses, by cache.", []string{"cache"}, nil)
	errorsDesc = prometheus.NewDesc("shop_cache_errors_total",
		"Redis errors met by a cache, by cache.", []string{"cache"}, nil)
	refusedDesc = prometheus.NewDesc("shop_cache_fills_refused_total",
		"Fills dropped because a writer took the lease first (the stale-set race, prevented), by cache.", []string{"cache"}, nil)
	refreshesDesc = prometheus.NewDesc("shop_cache_refreshes_total",
		"Values reloaded ahead of their expiry (refresh-ahead), by cache.", []string{"cache"}, nil)
	expiredDesc = prometheus.NewDesc("shop_cache_expired_total",
		"Key expirations seen through keyspace notifications, by cache.", []string{"cache"}, nil)
)

// cacheCollector reads the cache package's own counters at each scrape, so there is one
// source of truth for /lab and /metrics.
type cacheCollector struct {
	stats func() []cache.StatsSnapshot
}

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, loadsDesc, errorsDesc, refusedDesc, refreshesDesc, expiredDesc} {
		ch <- d
	}
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, s := range c.stats() {
		counter(requestsDesc, s.HitsL1, s.Name, "hit_l1")
		counter(requestsDesc, s.HitsRedis, s.Name, "hit_redis")
		counter(requestsDesc, s.Misses, s.Name, "miss")
		counter(requestsDesc, s.Bypasses, s.Name, "bypass")
		counter(requestsDesc, s.Stale, s.Name, "stale")
		counter(loadsDesc, s.Loads, s.Name)
		counter(errorsDesc, s.Errors, s.Name)
		counter(refusedDesc, s.FillsRefused, s.Name)
		counter(refreshesDesc, s.Refreshes, s.Name)
		counter(expiredDesc, s.Expired, s.Name)
	}
}
