package lab

import (
	"html/template"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/shopcache/shop/internal/chart"
)

// Dashboard is what /lab shows: each instance's figures over the last second, their total,
// and the charts of the last minutes.
type Dashboard struct {
	At        time.Time
	Served    string        // the instance that rendered it
	Instances []InstanceRow // sorted by name
	Total     InstanceRow
	Charts    []template.HTML
	Window    time.Duration // what the charts cover
}

// InstanceRow is one instance's figures over the last second (rates) and now (gauges).
type InstanceRow struct {
	Name         string
	Requests     float64            // requests/s, the Lab's own excepted
	ByLayer      map[string]float64 // requests/s by layer
	P50, P99     time.Duration      // latency of every request in the second
	HitRatio     float64            // over every cache, NaN without reads
	DBQueries    float64            // statements/s
	Invalidation float64            // messages/s
	LagP99       time.Duration
	Pending      int64
	Flushes      float64 // batches/s
	Sessions     int
	BoardUpdates float64 // sales/s
	BreakerOpen  bool
}

// rate is one instance's counters between two polls.
type rate struct {
	secs                     float64
	byLayer                  map[string]float64 // per second
	hist                     map[string][]int64 // counts in the interval
	cacheHits, cacheRequests map[string]int64
	db, inv, flushes, board  float64 // per second
}

// between returns b − a of one instance, per second; ok is false across a restart or with
// no time between them.
func between(a, b Figures) (r rate, ok bool) {
	secs := b.At.Sub(a.At).Seconds()
	if secs <= 0 || !a.Started.Equal(b.Started) {
		return r, false
	}
	per := func(x, y int64) float64 { return float64(max(y-x, 0)) / secs }
	r = rate{secs: secs, byLayer: map[string]float64{}, hist: map[string][]int64{},
		cacheHits: map[string]int64{}, cacheRequests: map[string]int64{}}
	for _, l := range Layers {
		r.byLayer[l] = per(a.Requests[l], b.Requests[l])
		h := make([]int64, bucketCount)
		for i := range h {
			if i < len(b.Latency[l]) && i < len(a.Latency[l]) {
				h[i] = max(b.Latency[l][i]-a.Latency[l][i], 0)
			}
		}
		r.hist[l] = h
	}
	before := map[string]CacheFigures{}
	for _, c := range a.Caches {
		before[c.Name] = c
	}
	for _, c := range b.Caches {
		r.cacheHits[c.Name] = max(c.Hits-before[c.Name].Hits, 0)
		r.cacheRequests[c.Name] = max(c.Requests-before[c.Name].Requests, 0)
	}
	r.db, r.inv = per(a.DBQueries, b.DBQueries), per(a.Invalidations, b.Invalidations)
	r.flushes, r.board = per(a.Flushes, b.Flushes), per(a.BoardUpdates, b.BoardUpdates)
	return r, true
}

// merge adds the histograms of hs.
func merge(hs ...[]int64) []int64 {
	out := make([]int64, bucketCount)
	for _, h := range hs {
		for i, n := range h {
			out[i] += n
		}
	}
	return out
}

// isLabCache reports whether a cache is one of the experiments' own, left out of the
// dashboard's hit ratios.
func isLabCache(name string) bool { return len(name) >= 4 && name[:4] == "lab-" }

// row turns one interval's rate and the latest figures into a row.
func row(name string, r rate, f Figures) InstanceRow {
	out := InstanceRow{Name: name, ByLayer: r.byLayer, HitRatio: math.NaN(), DBQueries: r.db, Invalidation: r.inv,
		LagP99: f.LagP99, Pending: f.Pending, Flushes: r.flushes, Sessions: f.Sessions, BoardUpdates: r.board, BreakerOpen: f.BreakerOpen}
	var all [][]int64
	for _, l := range Layers {
		out.Requests += r.byLayer[l]
		all = append(all, r.hist[l])
	}
	h := merge(all...)
	out.P50, out.P99 = Percentile(h, 0.5), Percentile(h, 0.99)
	var hits, reqs int64
	for n, q := range r.cacheRequests {
		if !isLabCache(n) {
			hits, reqs = hits+r.cacheHits[n], reqs+q
		}
	}
	if reqs > 0 {
		out.HitRatio = float64(hits) / float64(reqs)
	}
	return out
}

// Dashboard returns the dashboard of the polls kept so far.
func (c *Collector) Dashboard() Dashboard {
	polls, _ := c.Polls()
	return BuildDashboard(c.instance, polls)
}

// BuildDashboard computes the dashboard of polls (oldest first), rendered by instance served.
func BuildDashboard(served string, polls []Poll) Dashboard {
	d := Dashboard{Served: served, Window: history * time.Second}
	if len(polls) == 0 {
		return d
	}
	last := polls[len(polls)-1]
	d.At = last.At
	t0 := polls[0].At

	// Per interval: each instance's rate, and the totals.
	type point struct {
		x     float64
		rates map[string]rate
		figs  map[string]Figures
	}
	var pts []point
	for i := 1; i < len(polls); i++ {
		p := point{x: polls[i].At.Sub(t0).Seconds(), rates: map[string]rate{}, figs: polls[i].Instances}
		for name, f := range polls[i].Instances {
			if prev, ok := polls[i-1].Instances[name]; ok && !prev.At.Equal(f.At) {
				if r, ok := between(prev, f); ok {
					p.rates[name] = r
				}
			}
		}
		pts = append(pts, p)
	}

	// The table: the latest interval in which each instance has a rate.
	names := make([]string, 0, len(last.Instances))
	for n := range last.Instances {
		names = append(names, n)
	}
	sort.Strings(names)
	var totalRates []rate
	for _, n := range names {
		var r rate
		for i := len(pts) - 1; i >= 0; i-- {
			if x, ok := pts[i].rates[n]; ok {
				r = x
				break
			}
		}
		if r.byLayer != nil {
			totalRates = append(totalRates, r)
		}
		d.Instances = append(d.Instances, row(n, r, last.Instances[n]))
	}
	d.Total = total(totalRates, last.Instances)

	// The charts.
	nan := math.NaN()
	series := func(names []string, value func(p point, name string) float64) []chart.Series {
		out := make([]chart.Series, len(names))
		for i, n := range names {
			out[i].Name = n
			for _, p := range pts {
				out[i].Points = append(out[i].Points, chart.Point{X: p.x, Y: value(p, n)})
			}
		}
		return out
	}
	sum := func(p point, f func(rate) float64) float64 {
		if len(p.rates) == 0 {
			return nan
		}
		s := 0.0
		for _, r := range p.rates {
			s += f(r)
		}
		return s
	}
	perInstance := func(f func(rate) float64) func(point, string) float64 {
		return func(p point, n string) float64 {
			if n == "total" {
				return sum(p, f)
			}
			r, ok := p.rates[n]
			if !ok {
				return nan
			}
			return f(r)
		}
	}
	instancesAndTotal := append(slices.Clone(names), "total")
	if len(names) == 1 {
		instancesAndTotal = names
	}
	const xl = "time (s)"
	line := func(title, yl string, s []chart.Series) template.HTML {
		return chart.Line{Title: title, XLabel: xl, YLabel: yl, Series: s}.HTML()
	}
	d.Charts = append(d.Charts,
		line("Requests per second by the layer that answered (all instances)", "requests/s",
			series(Layers, func(p point, l string) float64 { return sum(p, func(r rate) float64 { return r.byLayer[l] }) })),
	)
	// Hit ratio per cache, over every instance.
	var cacheNames []string
	for _, f := range last.Instances {
		for _, c := range f.Caches {
			if !isLabCache(c.Name) && !slices.Contains(cacheNames, c.Name) {
				cacheNames = append(cacheNames, c.Name)
			}
		}
	}
	sort.Strings(cacheNames)
	d.Charts = append(d.Charts, chart.Line{Title: "Hit ratio per cache (all instances)", XLabel: xl, YLabel: "hit ratio (%)", YMin: 0, YMax: 100,
		Series: series(cacheNames, func(p point, n string) float64 {
			var h, q int64
			for _, r := range p.rates {
				h, q = h+r.cacheHits[n], q+r.cacheRequests[n]
			}
			if q == 0 {
				return nan
			}
			return 100 * float64(h) / float64(q)
		})}.HTML())
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		d.Charts = append(d.Charts, line("Request latency "+q.name+" by layer (all instances)", "latency (ms)",
			series(Layers, func(p point, l string) float64 {
				var hs [][]int64
				for _, r := range p.rates {
					hs = append(hs, r.hist[l])
				}
				h := merge(hs...)
				if slices.Max(h) == 0 {
					return nan
				}
				return float64(Percentile(h, q.q).Microseconds()) / 1000
			})))
	}
	d.Charts = append(d.Charts,
		line("Postgres queries per second", "queries/s", series(instancesAndTotal, perInstance(func(r rate) float64 { return r.db }))),
		line("Invalidations received per second", "messages/s", series(instancesAndTotal, perInstance(func(r rate) float64 { return r.inv }))),
		line("Invalidation lag p99, commit → evicted (last 1,000)", "lag (ms)", series(names, func(p point, n string) float64 {
			f, ok := p.figs[n]
			if !ok || f.Invalidations == 0 {
				return nan
			}
			return float64(f.LagP99.Microseconds()) / 1000
		})),
		line("Write-behind: views waiting in Redis", "views", series([]string{"pending in Redis", "in-process buffers"}, func(p point, n string) float64 {
			if len(p.figs) == 0 {
				return nan
			}
			v := 0.0
			for _, f := range p.figs {
				if n == "pending in Redis" {
					v = max(v, float64(f.Pending)) // one Redis: every instance sees the same
				} else {
					v += float64(f.Buffered)
				}
			}
			return v
		})),
		line("Write-behind: batches flushed to Postgres per second", "batches/s", series(instancesAndTotal, perInstance(func(r rate) float64 { return r.flushes }))),
		line("Active sessions (a request in the last 5 minutes)", "sessions", series(names, func(p point, n string) float64 {
			f, ok := p.figs[n]
			if !ok {
				return nan
			}
			return float64(f.Sessions)
		})),
		line("Leaderboard updates (sales recorded) per second", "sales/s", series(instancesAndTotal, perInstance(func(r rate) float64 { return r.board }))),
		chart.Line{Title: "Redis breaker state (1 = open: Redis skipped)", XLabel: xl, YLabel: "open", YMin: 0, YMax: 1,
			Series: series(names, func(p point, n string) float64 {
				f, ok := p.figs[n]
				if !ok {
					return nan
				}
				if f.BreakerOpen {
					return 1
				}
				return 0
			})}.HTML(),
	)
	return d
}

// total adds up the rows of every instance: rates and sessions summed, latency merged,
// pending views taken once (there is one Redis), the breaker open if any is.
func total(rates []rate, figs map[string]Figures) InstanceRow {
	var r rate
	r.byLayer, r.hist = map[string]float64{}, map[string][]int64{}
	r.cacheHits, r.cacheRequests = map[string]int64{}, map[string]int64{}
	for _, x := range rates {
		for _, l := range Layers {
			r.byLayer[l] += x.byLayer[l]
			r.hist[l] = merge(r.hist[l], x.hist[l])
		}
		for n, v := range x.cacheHits {
			r.cacheHits[n] += v
		}
		for n, v := range x.cacheRequests {
			r.cacheRequests[n] += v
		}
		r.db, r.inv, r.flushes, r.board = r.db+x.db, r.inv+x.inv, r.flushes+x.flushes, r.board+x.board
	}
	var f Figures
	for _, x := range figs {
		f.Sessions += x.Sessions
		f.Pending = max(f.Pending, x.Pending)
		f.LagP99 = max(f.LagP99, x.LagP99)
		f.BreakerOpen = f.BreakerOpen || x.BreakerOpen
	}
	return row("total", r, f)
}
