package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/keys"
)

// nearReads is how many reads each instance makes on each side of the near-cache experiment.
const nearReads = 200

// nearReadAnswer is one instance's answer to the near-cache reads probe.
type nearReadAnswer struct {
	L1     []float64      `json:"l1"`     // ms per read with the near cache in front of Redis
	Redis  []float64      `json:"redis"`  // ms per read from Redis alone
	Layers map[string]int `json:"layers"` // which layer answered the near-cache side's reads
	Err    string         `json:"err,omitempty"`
}

// runNearCache copies a product to a key of the Lab's own, has every instance read it
// nearReads times with its near cache and as many from Redis alone, and then writes the
// copy once (a new version, through the write-through path) and measures on each instance
// how long until its near cache dropped the old copy. No shop data changes.
func runNearCache(ctx context.Context, e *env) error {
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	key := keys.LabKey("near", e.id)
	defer func() { _ = e.deps.Cache.Invalidate(context.WithoutCancel(ctx), key, 0, time.Now()) }()
	if err := e.caches.nearOn.Set(ctx, key, p, p.Version); err != nil {
		return fmt.Errorf("copy the product: %w", err)
	}
	live := e.col.Live()
	sort.Strings(live)
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("a copy of product %d (%s) under a Lab key; %d instances each read it %d times through a near cache (%d entries, TTL %s) and %d times from Redis alone; then one write-through of the copy, watched by every instance",
			p.ID, p.Name, len(live), nearReads, nearL1(e.deps.L1).Size, nearL1(e.deps.L1).TTL, nearReads)
	})

	// 1. The reads, on every instance.
	run := e.id + "-reads"
	until := time.Now().Add(15 * time.Second)
	if err := e.col.Ask(ctx, run, "near-reads", map[string]string{"key": key}, until); err != nil {
		return fmt.Errorf("ask the instances: %w", err)
	}
	answers, err := awaitAnswers[nearReadAnswer](ctx, e.col, run, len(live), until)
	if err != nil {
		return err
	}
	var l1, rd []float64
	var rs []Result
	layers := map[string]int{}
	for _, inst := range live {
		a, ok := answers[inst]
		switch {
		case !ok:
			rs = append(rs, Result{inst, "no answer within the bound"})
			continue
		case a.Err != "":
			rs = append(rs, Result{inst, "failed: " + a.Err})
			continue
		}
		l1, rd = append(l1, a.L1...), append(rd, a.Redis...)
		for k, v := range a.Layers {
			layers[k] += v
		}
		rs = append(rs, Result{inst + ": near-cache reads answered by", fmt.Sprintf("L1 %d, Redis %d, Postgres %d (median %s; Redis alone %s)",
			a.Layers["L1"], a.Layers["Redis"], a.Layers["Postgres"], fmtMS(quantile(append([]float64(nil), a.L1...), 0.5)), fmtMS(quantile(append([]float64(nil), a.Redis...), 0.5)))})
	}
	e.set(func(r *Run) {
		r.CDFs = []CDF{{Title: "Product read latency on every instance: near cache vs Redis alone", XLabel: "latency (ms)",
			Samples: []CDFSample{{Name: "near cache (L1) in front", Values: append([]float64(nil), l1...)}, {Name: "Redis alone", Values: append([]float64(nil), rd...)}}}}
		r.Results = append([]Result(nil), rs...)
	})
	e.logf("%d of %d instances answered the reads", len(answers), len(live))

	// 2. The fan-out of one write.
	run = e.id + "-fanout"
	until = time.Now().Add(8 * time.Second)
	if err := e.col.Ask(ctx, run, "near-watch", map[string]any{"key": key, "above": p.Version}, until); err != nil {
		return fmt.Errorf("ask the instances: %w", err)
	}
	for time.Now().Before(until.Add(-5*time.Second)) && len(e.readyOf(ctx, run)) < len(live) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	next := p
	next.Version = p.Version + 1
	if err := e.caches.nearOn.Set(ctx, key, next, next.Version); err != nil {
		return fmt.Errorf("write the copy: %w", err)
	}
	written := time.Now()
	e.logf("copy written (version %d) at %s", next.Version, written.Format("15:04:05.000"))
	watched, err := awaitAnswers[watchAnswer](ctx, e.col, run, len(live), until)
	if err != nil {
		return err
	}
	var lags [][2]float64
	worst, seen := 0.0, 0
	for i, inst := range live {
		a, ok := watched[inst]
		if !ok || a.SeenAt.IsZero() {
			rs = append(rs, Result{inst + ": old copy dropped", "not within the bound"})
			continue
		}
		lag := max(ms(a.SeenAt.Sub(written)), 0)
		worst, seen = max(worst, lag), seen+1
		lags = append(lags, [2]float64{float64(i + 1), lag})
		rs = append(rs, Result{inst + ": old copy dropped", fmt.Sprintf("new version served %.2f ms after the write returned", lag)})
	}
	l50, l99 := quantile(append([]float64(nil), l1...), 0.5), quantile(append([]float64(nil), l1...), 0.99)
	r50, r99 := quantile(append([]float64(nil), rd...), 0.5), quantile(append([]float64(nil), rd...), 0.99)
	speedup := 0.0
	if l50 > 0 {
		speedup = r50 / l50
	}
	head := []Result{
		{"near cache: p50 / p99", fmtMS(l50) + " / " + fmtMS(l99)},
		{"Redis alone: p50 / p99", fmtMS(r50) + " / " + fmtMS(r99)},
		{"speed-up at the median", fmt.Sprintf("%.0f×", speedup)},
		{"near-cache reads answered by (all instances)", fmt.Sprintf("L1 %d, Redis %d, Postgres %d", layers["L1"], layers["Redis"], layers["Postgres"])},
	}
	e.set(func(r *Run) {
		r.Lines = []Line{{Title: "Time until each instance's near cache served the new version (instances in the order of the results)", YLabel: "lag (ms)", XLabel: "instance",
			Series: []LineSeries{{Name: "lag after the write", Points: lags}}}}
		r.Results = append(head, rs...)
		r.Numbers = map[string]float64{"instances": float64(len(live)), "answered": float64(len(answers)), "l1_p50_us": l50 * 1000, "l1_p99_ms": l99,
			"redis_p50_us": r50 * 1000, "redis_p99_ms": r99, "speedup": speedup, "l1_hits": float64(layers["L1"]), "redis_hits": float64(layers["Redis"]),
			"fanout_seen": float64(seen), "fanout_max_ms": worst}
	})
	return nil
}

// nearL1 is the near-cache experiment's near cache: the shop's (SHOP_L1_SIZE, SHOP_L1_TTL),
// or 100 entries for 5 s when the shop has none.
func nearL1(o cache.L1Options) cache.L1Options {
	if o.Size > 0 && o.TTL > 0 {
		return o
	}
	return cache.L1Options{Size: 100, TTL: 5 * time.Second}
}

// registerNearProbes makes this instance answer the near-cache experiment's probes.
func (r *Runner) registerNearProbes() {
	r.col.HandleProbe("near-reads", func(ctx context.Context, p Probe) any {
		var args struct{ Key string }
		if err := json.Unmarshal(p.Args, &args); err != nil || r.caches.nearOn == nil || !strings.HasPrefix(args.Key, keys.LabKey("near")) {
			return nearReadAnswer{Err: "bad probe"}
		}
		load := func(ctx context.Context) (catalog.Product, int64, error) {
			return catalog.Product{}, 0, fmt.Errorf("the Lab's copy %s is gone", args.Key)
		}
		a := nearReadAnswer{Layers: map[string]int{}}
		for range nearReads {
			rctx, st := reqstats.Start(ctx)
			start := time.Now()
			if _, err := r.caches.nearOn.Get(rctx, args.Key, load); err != nil {
				a.Err = err.Error()
				return a
			}
			a.L1 = append(a.L1, ms(time.Since(start)))
			for _, s := range st.Snapshot().Sources {
				a.Layers[string(s.Layer)]++
			}
		}
		for range nearReads {
			start := time.Now()
			if _, err := r.caches.nearOff.Get(ctx, args.Key, load); err != nil {
				a.Err = err.Error()
				return a
			}
			a.Redis = append(a.Redis, ms(time.Since(start)))
		}
		return a
	})
	r.col.HandleProbe("near-watch", func(ctx context.Context, p Probe) any {
		var args struct {
			Key   string
			Above int64
		}
		var a watchAnswer
		if err := json.Unmarshal(p.Args, &args); err != nil || r.caches.nearOn == nil || !strings.HasPrefix(args.Key, keys.LabKey("near")) {
			return a
		}
		load := func(ctx context.Context) (catalog.Product, int64, error) {
			return catalog.Product{}, 0, fmt.Errorf("the Lab's copy %s is gone", args.Key)
		}
		return r.watch(ctx, p, args.Above, func(ctx context.Context) (catalog.Product, error) {
			return r.caches.nearOn.Get(ctx, args.Key, load)
		})
	})
}
