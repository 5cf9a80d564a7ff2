package lab

import (
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/pageviews"
)

func TestPercentile(t *testing.T) {
	r := NewRecorder()
	for i := 1; i <= 100; i++ {
		r.Request(reqstats.Snapshot{Elapsed: time.Duration(i) * time.Millisecond}, "")
	}
	_, lat, _, _, _ := r.traffic(time.Now())
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}} {
		got := Percentile(lat["none"], c.q)
		if ratio := float64(got) / float64(c.want); ratio < 0.88 || ratio > 1.13 {
			t.Errorf("Percentile(%v) = %s, want within 12 %% of %s", c.q, got, c.want)
		}
	}
	if got := Percentile(make([]int64, bucketCount), 0.5); got != 0 {
		t.Errorf("Percentile of nothing = %s, want 0", got)
	}
}

func TestLayerOfARequest(t *testing.T) {
	src := func(ls ...reqstats.Layer) []reqstats.Source {
		var out []reqstats.Source
		for _, l := range ls {
			out = append(out, reqstats.Source{Layer: l})
		}
		return out
	}
	for _, c := range []struct {
		sources []reqstats.Source
		want    string
	}{
		{nil, "none"},
		{src(reqstats.LayerL1), "L1"},
		{src(reqstats.LayerL1, reqstats.LayerRedis), "Redis"},
		{src(reqstats.LayerRedis, reqstats.LayerPostgres, reqstats.LayerL1), "Postgres"},
		{src(reqstats.LayerStale, reqstats.LayerRedis), "stale"},
	} {
		if got := Layers[layerOf(c.sources)]; got != c.want {
			t.Errorf("layer of %v = %s, want %s", c.sources, got, c.want)
		}
	}
}

// Two instances' figures, read twice a second apart, make per-instance rates and a total
// that adds rates, merges latency, and takes the one Redis's backlog once.
func TestBuildDashboard(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	start := t0.Add(-time.Hour)
	hist := func(n int64, d time.Duration) []int64 {
		h := make([]int64, bucketCount)
		h[bucketOf(d)] = n
		return h
	}
	fig := func(name string, at time.Time, l1, pg int64, fast, slow int64, pending int64, sessions int) Figures {
		return Figures{Instance: name, At: at, Started: start,
			Requests: map[string]int64{"L1": l1, "Postgres": pg},
			Latency:  map[string][]int64{"L1": hist(fast, time.Millisecond), "Postgres": hist(slow, 100*time.Millisecond)},
			Caches:   []CacheFigures{{Name: "product", Hits: l1, Requests: l1 + pg}, {Name: "lab-lazy", Hits: 0, Requests: 1000}},
			Pending:  pending, Sessions: sessions, DBQueries: pg,
		}
	}
	polls := []Poll{
		{At: t0, Instances: map[string]Figures{"a": fig("a", t0, 100, 10, 100, 10, 5, 3), "b": fig("b", t0, 50, 0, 50, 0, 5, 2)}},
		{At: t0.Add(time.Second), Instances: map[string]Figures{
			"a": fig("a", t0.Add(time.Second), 190, 20, 190, 20, 7, 3),
			"b": fig("b", t0.Add(time.Second), 140, 10, 140, 10, 7, 4)}},
	}
	d := BuildDashboard("a", polls)
	if len(d.Instances) != 2 || d.Instances[0].Name != "a" || d.Instances[1].Name != "b" {
		t.Fatalf("instances = %+v", d.Instances)
	}
	a, b, tot := d.Instances[0], d.Instances[1], d.Total
	if a.Requests != 100 || b.Requests != 100 || tot.Requests != 200 {
		t.Errorf("requests/s a %v, b %v, total %v; want 100, 100, 200", a.Requests, b.Requests, tot.Requests)
	}
	if tot.ByLayer["L1"] != 180 || tot.ByLayer["Postgres"] != 20 {
		t.Errorf("total by layer %v", tot.ByLayer)
	}
	if math.Abs(tot.HitRatio-0.9) > 1e-9 {
		t.Errorf("total hit ratio %v, want 0.9 (the lab- cache left out)", tot.HitRatio)
	}
	// 10 % of the requests took 100 ms: the p99 is in that bucket, the p50 in the 1 ms one.
	if tot.P99 < 88*time.Millisecond || tot.P99 > 113*time.Millisecond || tot.P50 > 2*time.Millisecond {
		t.Errorf("total p50 %s, p99 %s", tot.P50, tot.P99)
	}
	if tot.Pending != 7 || tot.Sessions != 7 || tot.DBQueries != 20 {
		t.Errorf("total pending %d (want 7, once), sessions %d (want 7), queries/s %v (want 20)", tot.Pending, tot.Sessions, tot.DBQueries)
	}
	if len(d.Charts) < 10 {
		t.Errorf("%d charts, want the dashboard's 12", len(d.Charts))
	}

	// A restarted instance (new Started) has no rate across the restart.
	polls[1].Instances["b"] = func() Figures { f := polls[1].Instances["b"]; f.Started = t0; return f }()
	if d := BuildDashboard("a", polls); d.Instances[1].Requests != 0 || d.Total.Requests != 100 {
		t.Errorf("across a restart: b %v, total %v; want 0 and a's 100", d.Instances[1].Requests, d.Total.Requests)
	}
}

func TestFiguresOfBothWriteBehindStages(t *testing.T) {
	c := NewCollector(nil, "", "a", Sources{WriteBehind: func(context.Context) pageviews.Status {
		return pageviews.Status{
			Pending: pageviews.Pending{Views: 7, BatchViews: 3}, Flushes: 2,
			Buffer: &pageviews.BufferStatus{Buffered: 5},
		}
	}}, slog.New(slog.DiscardHandler))
	f := c.Figures(context.Background())
	if f.Buffered != 5 || f.Pending != 10 || !f.PendingKnown || f.Flushes != 2 {
		t.Errorf("figures = buffered %d, pending %d (known %v), flushes %d; want 5, 10 (true), 2",
			f.Buffered, f.Pending, f.PendingKnown, f.Flushes)
	}
}
