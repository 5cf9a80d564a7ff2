package lab

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/pageviews"
)

// Figures is what one instance publishes each second: its counters since it started
// (cumulative, so that a reader computes rates from two of them), and its gauges now.
type Figures struct {
	Instance string    `json:"instance"`
	At       time.Time `json:"at"`
	Started  time.Time `json:"started"` // a new value means the counters restarted from zero

	Requests map[string]int64   `json:"requests"` // by layer (Layers)
	Latency  map[string][]int64 `json:"latency"`  // histogram of request latency by layer (see Percentile)
	Caches   []CacheFigures     `json:"caches"`

	DBQueries     int64         `json:"db_queries"`    // Postgres statements sent, the Lab's own excepted
	Invalidations int64         `json:"invalidations"` // invalidation messages received
	LagP50        time.Duration `json:"lag_p50"`       // commit → evicted here, over the last 1,000
	LagP99        time.Duration `json:"lag_p99"`

	// Write-behind of product views. Buffered is the in-process stage before Redis (zero
	// with SHOP_VIEWS_BATCH_INTERVAL=0: every view then goes to Redis at once).
	Buffered      int64  `json:"buffered"`
	Pending       int64  `json:"pending"`       // views in Redis not yet in Postgres (pending + in flight)
	Flushes       int64  `json:"flushes"`       // batches written to Postgres since start
	FlushErrors   int64  `json:"flush_errors"`  // failed flushes since start
	PendingKnown  bool   `json:"pending_known"` // false when Redis did not answer
	Sessions      int    `json:"sessions"`      // sessions with a request here in the last 5 minutes
	BoardUpdates  int64  `json:"board_updates"` // sales recorded on the bestseller boards
	BreakerOpen   bool   `json:"breaker_open"`  // Redis is being skipped (a breaker open, or forced by the Lab)
	ExperimentRun string `json:"experiment,omitempty"`
}

// CacheFigures are one named cache's read counters.
type CacheFigures struct {
	Name     string `json:"name"`
	Hits     int64  `json:"hits"`
	Requests int64  `json:"requests"`
}

// Sources are what the Collector reads figures from; nil fields are left out.
type Sources struct {
	Recorder    *Recorder
	Caches      func() []cache.StatsSnapshot
	Lags        func() cache.LagStats
	Available   func() bool                            // the guard: false while Redis is skipped
	WriteBehind func(context.Context) pageviews.Status // the views flusher
}

// history is how many seconds of figures a Collector keeps: the charts' window.
const history = 300

// publishTTL is the life of an instance's figures in Redis; liveWindow is how recent its
// last publication must be for it to count as live: an instance that stops publishing
// leaves the dashboard (and the experiments' probes) within it.
const (
	publishTTL = 5 * time.Second
	liveWindow = 3 * time.Second
)

// Poll is every live instance's figures at one moment, by instance.
type Poll struct {
	At        time.Time
	Instances map[string]Figures
}

// Collector publishes this instance's figures every second and reads every instance's, and
// keeps the last few minutes of them for the dashboard's charts. It also answers the
// experiments' probes (Probe). Run does the work; Close ends the dashboard's streams.
type Collector struct {
	rdb      redis.UniversalClient
	prefix   string
	instance string
	src      Sources
	started  time.Time
	log      *slog.Logger
	probes   *prober

	mu      sync.Mutex
	polls   []Poll // oldest first, at most history
	changed chan struct{}
	done    chan struct{}
	closed  bool
}

// NewCollector returns the Collector of the instance called instance, over rdb (behind the
// guard) with the deployment's key prefix.
func NewCollector(rdb redis.UniversalClient, prefix, instance string, src Sources, log *slog.Logger) *Collector {
	c := &Collector{
		rdb: rdb, prefix: prefix, instance: instance, src: src, started: time.Now(), log: log,
		changed: make(chan struct{}), done: make(chan struct{}),
	}
	c.probes = &prober{c: c, seen: map[string]bool{}}
	return c
}

// Instance is the name this instance publishes under.
func (c *Collector) Instance() string { return c.instance }

// Figures returns this instance's figures now.
func (c *Collector) Figures(ctx context.Context) Figures {
	now := time.Now()
	f := Figures{Instance: c.instance, At: now, Started: c.started}
	if r := c.src.Recorder; r != nil {
		f.Requests, f.Latency, f.DBQueries, f.BoardUpdates, f.Sessions = r.traffic(now)
	}
	if c.src.Caches != nil {
		for _, s := range c.src.Caches() {
			f.Caches = append(f.Caches, CacheFigures{Name: s.Name, Hits: s.Hits(), Requests: s.Requests()})
		}
	}
	if c.src.Lags != nil {
		l := c.src.Lags()
		f.Invalidations, f.LagP50, f.LagP99 = l.Count, l.P50, l.P99
	}
	if c.src.Available != nil {
		f.BreakerOpen = !c.src.Available()
	}
	if c.src.WriteBehind != nil {
		st := c.src.WriteBehind(ctx)
		f.Pending, f.PendingKnown = st.Views+st.BatchViews, st.PendingErr == ""
		f.Flushes, f.FlushErrors = st.Flushes, st.Errors
		if st.Buffer != nil {
			f.Buffered = st.Buffer.Buffered
		}
	}
	return f
}

// Run publishes and polls every second until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		c.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// step publishes this instance's figures, reads everyone's and answers a new probe.
func (c *Collector) step(ctx context.Context) {
	ctx = cache.Uncounted(ctx)
	f := c.Figures(ctx)
	body, err := json.Marshal(f)
	if err != nil {
		c.log.Error("lab: figures not encoded", "err", err)
		return
	}
	now := time.Now()
	index := c.prefix + keys.LabInstances
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.prefix+keys.LabFigures(c.instance), body, publishTTL)
		p.ZAdd(ctx, index, redis.Z{Score: float64(now.UnixMilli()), Member: c.instance})
		p.ZRemRangeByScore(ctx, index, "-inf", strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10))
		p.Expire(ctx, index, time.Hour)
		return nil
	})
	poll := Poll{At: now, Instances: map[string]Figures{c.instance: f}}
	if err == nil {
		others, err := c.readAll(ctx, now)
		if err != nil {
			c.log.Debug("lab: figures of other instances not read", "err", err)
		}
		for name, o := range others {
			if name != c.instance {
				poll.Instances[name] = o
			}
		}
		c.probes.check(ctx)
	}
	c.mu.Lock()
	c.polls = append(c.polls, poll)
	if len(c.polls) > history {
		c.polls = c.polls[len(c.polls)-history:]
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// readAll reads the figures of every instance that published in the last publishTTL.
func (c *Collector) readAll(ctx context.Context, now time.Time) (map[string]Figures, error) {
	names, err := c.rdb.ZRangeByScore(ctx, c.prefix+keys.LabInstances, &redis.ZRangeBy{
		Min: strconv.FormatInt(now.Add(-liveWindow).UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil || len(names) == 0 {
		return nil, err
	}
	ks := make([]string, len(names))
	for i, n := range names {
		ks[i] = c.prefix + keys.LabFigures(n)
	}
	vals, err := c.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]Figures{}
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // expired since
		}
		var f Figures
		if json.Unmarshal([]byte(s), &f) == nil && f.Instance != "" {
			out[f.Instance] = f
		}
	}
	return out, nil
}

// Polls returns the kept polls, oldest first, and a channel closed at the next poll.
func (c *Collector) Polls() ([]Poll, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Poll(nil), c.polls...), c.changed
}

// Done is closed by Close: streams to browsers end.
func (c *Collector) Done() <-chan struct{} { return c.done }

// Close ends the dashboard's streams (before an HTTP server's Shutdown waits for them).
func (c *Collector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
}
