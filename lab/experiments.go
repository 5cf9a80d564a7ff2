package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/keys"
)

// cacheAsideReads is how many reads each side of the cache-aside experiment makes.
const cacheAsideReads = 100

// runCacheAside reads one product cacheAsideReads times from Postgres and as many through
// the cache, and draws both latency distributions.
func runCacheAside(ctx context.Context, e *env) error {
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("product %d (%s), %d reads each way, database latency %s (SHOP_DB_LATENCY)", p.ID, p.Name, cacheAsideReads, e.deps.DBLatency)
	})
	// The Redis-only side reads through a cache-aside of its own without a near cache, on a
	// Lab key: what a Redis hit costs, apart from the in-process near cache's.
	redisKey := keys.LabKey("aside", e.id, strconv.FormatInt(p.ID, 10))
	defer func() { _ = e.rdb.Del(context.WithoutCancel(ctx), e.prefix+redisKey).Err() }()
	loadProduct := func(ctx context.Context) (catalog.Product, int64, error) {
		q, err := e.deps.Store.FindProduct(ctx, p.ID)
		return q, q.Version, err
	}
	var bypassed, redisOnly, cached []float64
	layers := map[string]int{}
	draw := func() {
		b, ro, c := append([]float64(nil), bypassed...), append([]float64(nil), redisOnly...), append([]float64(nil), cached...)
		e.set(func(r *Run) {
			r.CDFs = []CDF{{Title: "Product read latency: Postgres, Redis alone, and the shop's cache (near cache + Redis)", XLabel: "latency (ms)",
				Samples: []CDFSample{{Name: "bypassed (Postgres)", Values: b}, {Name: "Redis (no near cache)", Values: ro}, {Name: "the shop's cache (L1 + Redis)", Values: c}}}}
		})
	}
	for i := range cacheAsideReads {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		if _, err := e.deps.Store.FindProductPage(ctx, p.ID); err != nil {
			return fmt.Errorf("read from Postgres: %w", err)
		}
		bypassed = append(bypassed, ms(time.Since(start)))
		if i%10 == 9 {
			draw()
		}
	}
	if e.caches.nearOff != nil {
		for i := range cacheAsideReads {
			if err := ctx.Err(); err != nil {
				return err
			}
			start := time.Now()
			if _, err := e.caches.nearOff.Get(ctx, redisKey, loadProduct); err != nil {
				return fmt.Errorf("read through Redis: %w", err)
			}
			redisOnly = append(redisOnly, ms(time.Since(start)))
			if i%10 == 9 {
				draw()
			}
		}
	}
	for i := range cacheAsideReads {
		if err := ctx.Err(); err != nil {
			return err
		}
		rctx, st := reqstats.Start(ctx)
		start := time.Now()
		if _, err := e.deps.Catalog.FindProductPage(rctx, p.ID); err != nil {
			return fmt.Errorf("read through the cache: %w", err)
		}
		cached = append(cached, ms(time.Since(start)))
		for _, s := range st.Snapshot().Sources {
			layers[string(s.Layer)]++
		}
		if i%10 == 9 {
			draw()
		}
	}
	draw()
	q := func(v []float64, x float64) float64 { return quantile(append([]float64(nil), v...), x) }
	bp50, bp99 := q(bypassed, 0.5), q(bypassed, 0.99)
	rp50, rp99 := q(redisOnly, 0.5), q(redisOnly, 0.99)
	cp50, cp99 := q(cached, 0.5), q(cached, 0.99)
	speedup, redisSpeedup := 0.0, 0.0
	if cp50 > 0 {
		speedup = bp50 / cp50
	}
	if rp50 > 0 {
		redisSpeedup = bp50 / rp50
	}
	e.set(func(r *Run) {
		r.Results = []Result{
			{"bypassed (Postgres): p50 / p99", fmtMS(bp50) + " / " + fmtMS(bp99)},
			{"Redis alone: p50 / p99", fmtMS(rp50) + " / " + fmtMS(rp99)},
			{"the shop's cache (near cache + Redis): p50 / p99", fmtMS(cp50) + " / " + fmtMS(cp99)},
			{"speed-up at the median: Redis / the shop's cache", fmt.Sprintf("%.0f× / %.0f×", redisSpeedup, speedup)},
			{"the shop's cache's reads answered by", fmt.Sprintf("L1 %d, Redis %d, Postgres %d, stale %d", layers["L1"], layers["Redis"], layers["Postgres"], layers["stale"])},
		}
		r.Numbers = map[string]float64{"bypass_p50_ms": bp50, "bypass_p99_ms": bp99, "cached_p50_ms": cp50, "cached_p99_ms": cp99, "cached_p50_us": cp50 * 1000, "speedup": speedup,
			"redis_p50_ms": rp50, "redis_p99_ms": rp99, "redis_p50_us": rp50 * 1000, "redis_speedup": redisSpeedup,
			"db_latency_ms": ms(e.deps.DBLatency)}
	})
	return nil
}

// fmtMS formats v milliseconds, in microseconds below a tenth of a millisecond.
func fmtMS(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.1f µs", v*1000)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// armResult is one side of the write-through experiment.
type armResult struct {
	reads, stale int64
	writes       []float64 // ms
	perSecond    [][2]float64
}

// runWriteThrough edits a price every second while readers read, with write-through and
// then with lazy loading and a TTL, counting stale reads and timing writes.
func runWriteThrough(ctx context.Context, e *env) error {
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	orig := p.Price
	if err := e.keepPrice(ctx, p.ID, orig); err != nil {
		return err
	}
	defer e.restorePrice(ctx, p.ID, orig)
	every := min(time.Second, e.deps.Duration/5)
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("product %d (%s), price edited every %s for %s per side, 4 readers; lazy side: TTL %s ± 10 %%", p.ID, p.Name, every, e.deps.Duration, lazyTTL)
	})
	lazyKey := keys.LabKey("lazy", e.id, strconv.FormatInt(p.ID, 10))
	defer func() { _ = e.deps.Cache.Invalidate(context.WithoutCancel(ctx), lazyKey, 0, time.Now()) }()

	arms := []struct {
		name    string
		through bool
		read    func(ctx context.Context) (int64, error)
	}{
		{"write-through", true, func(ctx context.Context) (int64, error) {
			q, err := e.deps.Catalog.FindProduct(ctx, p.ID)
			return q.Price, err
		}},
		{"lazy loading + TTL", false, func(ctx context.Context) (int64, error) {
			q, err := e.caches.lazy.Get(ctx, lazyKey, func(ctx context.Context) (catalog.Product, int64, error) {
				q, err := e.deps.Store.FindProduct(ctx, p.ID)
				return q, q.Version, err
			})
			return q.Price, err
		}},
	}
	results := make([]armResult, len(arms))
	draw := func() {
		e.set(func(r *Run) {
			l := Line{Title: "Reads that saw an old price, per second", YLabel: "stale reads/s", XLabel: "time since the side started (s)"}
			for i, a := range arms {
				l.Series = append(l.Series, LineSeries{Name: a.name, Points: append([][2]float64(nil), results[i].perSecond...)})
			}
			r.Lines = []Line{l}
		})
	}
	for i, arm := range arms {
		e.logf("%s: editing the price every %s for %s", arm.name, every, e.deps.Duration)
		var current atomic.Int64
		current.Store(orig)
		res := &results[i]
		var reads, stale, secStale atomic.Int64
		actx, stop := context.WithTimeout(ctx, e.deps.Duration)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for actx.Err() == nil {
					before := current.Load()
					got, err := arm.read(actx)
					after := current.Load()
					if err != nil {
						continue
					}
					reads.Add(1)
					if got != before && got != after {
						stale.Add(1)
						secStale.Add(1)
					}
					select {
					case <-actx.Done():
					case <-time.After(5 * time.Millisecond):
					}
				}
			})
		}
		start := time.Now()
		tick := time.NewTicker(every)
		price := orig
	edits:
		for {
			select {
			case <-actx.Done():
				break edits
			case <-tick.C:
			}
			price++
			q, took, err := e.setPrice(actx, p.ID, price, arm.through)
			if err != nil {
				if actx.Err() != nil {
					break
				}
				stop()
				tick.Stop()
				wg.Wait()
				return fmt.Errorf("%s: edit: %w", arm.name, err)
			}
			current.Store(q.Price)
			res.writes = append(res.writes, ms(took))
			res.perSecond = append(res.perSecond, [2]float64{time.Since(start).Seconds(), float64(secStale.Swap(0)) / every.Seconds()})
			draw()
		}
		tick.Stop()
		stop()
		wg.Wait()
		res.reads, res.stale = reads.Load(), stale.Load()
		// Back to the original price before the next side (through the shop: every cache).
		if _, _, err := e.setPrice(ctx, p.ID, orig, true); err != nil {
			return err
		}
	}
	draw()
	nums := map[string]float64{"lazy_ttl_s": lazyTTL.Seconds(), "edit_interval_s": every.Seconds()}
	var rs []Result
	for i, a := range arms {
		res := results[i]
		pct := 0.0
		if res.reads > 0 {
			pct = 100 * float64(res.stale) / float64(res.reads)
		}
		w50 := quantile(append([]float64(nil), res.writes...), 0.5)
		prefix := map[bool]string{true: "wt", false: "lazy"}[a.through]
		nums[prefix+"_reads"], nums[prefix+"_stale"], nums[prefix+"_stale_pct"], nums[prefix+"_write_p50_ms"] = float64(res.reads), float64(res.stale), pct, w50
		rs = append(rs, Result{a.name, fmt.Sprintf("%d of %d reads stale (%.1f %%); write p50 %.2f ms over %d edits", res.stale, res.reads, pct, w50, len(res.writes))})
	}
	e.set(func(r *Run) { r.Results, r.Numbers = rs, nums })
	return nil
}

// ttlKeys is how many keys each side of the TTL experiment writes.
const ttlKeys = 200

// runTTL writes keys with and without jitter and draws when they expire. It looks for them
// every 20 ms (EXISTS in one pipeline): an expired key reads as gone from the moment its TTL
// ends, whether or not the server sends keyspace notifications (ElastiCache leaves them
// off unless its parameter group turns them on).
func runTTL(ctx context.Context, e *env) error {
	base := 3 * time.Second
	prefix := e.prefix + keys.LabKey("ttl", e.id) + ":"
	jittered := cache.TTL{Base: base, Jitter: cache.DefaultJitter}
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("%d keys with a TTL of %s and no jitter, %d with %s ± 10 %%, written in one pipeline; each looked for every 20 ms", ttlKeys, base, ttlKeys, base)
	})
	var names []string
	side := map[string]string{}
	for i := range ttlKeys {
		for _, s := range []string{"plain", "jitter"} {
			k := prefix + s + ":" + strconv.Itoa(i)
			names = append(names, k)
			side[k] = s
		}
	}
	t0 := time.Now()
	_, err := e.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range names {
			ttl := base
			if side[k] == "jitter" {
				ttl = jittered.Next()
			}
			p.Set(ctx, k, "1", ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write the keys: %w", err)
	}
	defer func() { _ = e.rdb.Del(context.WithoutCancel(ctx), names...).Err() }()
	e.logf("%d keys written; watching them expire", len(names))
	const bucket = 100 * time.Millisecond
	counts := map[string]map[int]int{"plain": {}, "jitter": {}}
	first, last := map[string]time.Duration{}, map[string]time.Duration{}
	draw := func() {
		e.set(func(r *Run) {
			l := Line{Title: "Keys expiring per 100 ms", YLabel: "expirations", XLabel: "time since the keys were written (s)"}
			for _, sd := range []struct{ key, name string }{{"plain", "no jitter"}, {"jitter", "±10 % jitter"}} {
				s := LineSeries{Name: sd.name}
				for b := int((base * 8 / 10) / bucket); b <= int((base*12/10)/bucket); b++ {
					s.Points = append(s.Points, [2]float64{float64(b) * bucket.Seconds(), float64(counts[sd.key][b])})
				}
				l.Series = append(l.Series, s)
			}
			r.Lines = []Line{l}
		})
	}
	// Nothing expires before Base × (1 − Jitter).
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t0.Add(base * 85 / 100))):
	}
	waiting := names
	redrawn := time.Now()
	for len(waiting) > 0 && time.Since(t0) < base*3/2 {
		exists := make([]*redis.IntCmd, len(waiting))
		_, err := e.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range waiting {
				exists[i] = p.Exists(ctx, k)
			}
			return nil
		})
		at := time.Since(t0)
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("look for the keys: %w", err)
		}
		var still []string
		for i, k := range waiting {
			if exists[i].Val() == 1 {
				still = append(still, k)
				continue
			}
			s := side[k]
			if _, ok := first[s]; !ok {
				first[s] = at
			}
			last[s] = at
			counts[s][int(at/bucket)]++
		}
		waiting = still
		if time.Since(redrawn) > 250*time.Millisecond {
			draw()
			redrawn = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	draw()
	spread := func(s string) float64 { return (last[s] - first[s]).Seconds() }
	e.set(func(r *Run) {
		r.Results = []Result{
			{"no jitter: expired between", fmt.Sprintf("%.2f s and %.2f s (spread %.2f s)", first["plain"].Seconds(), last["plain"].Seconds(), spread("plain"))},
			{"±10 % jitter: expired between", fmt.Sprintf("%.2f s and %.2f s (spread %.2f s)", first["jitter"].Seconds(), last["jitter"].Seconds(), spread("jitter"))},
			{"keys seen expiring", fmt.Sprintf("%d of %d", len(names)-len(waiting), len(names))},
		}
		r.Numbers = map[string]float64{"plain_spread_s": spread("plain"), "jitter_spread_s": spread("jitter")}
	})
	return nil
}

// stampedeReaders and stampedeRounds size the stampede experiment.
const (
	stampedeReaders = 50
	stampedeRounds  = 5
	slowLoad        = 50 * time.Millisecond
)

// runStampede has stampedeReaders miss one cold key at once, with and without protection,
// and counts the loads.
func runStampede(ctx context.Context, e *env) error {
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("%d readers at once on a cold key of product %d, %d rounds each way; each load takes at least %s (a slow query)", stampedeReaders, p.ID, stampedeRounds, slowLoad)
	})
	modes := []struct {
		name  string
		aside *cache.Aside[catalog.Product]
	}{{"protected (singleflight + lease)", e.caches.stampedeOn}, {"unprotected", e.caches.stampedeOf}}
	points := make([][][2]float64, len(modes))
	totals := make([]int64, len(modes))
	for round := 1; round <= stampedeRounds; round++ {
		for m, mode := range modes {
			key := keys.LabKey("stampede", e.id, strconv.Itoa(m), strconv.Itoa(round))
			var loads atomic.Int64
			load := func(ctx context.Context) (catalog.Product, int64, error) {
				loads.Add(1)
				start := time.Now()
				q, err := e.deps.Store.FindProduct(ctx, p.ID)
				if rest := slowLoad - time.Since(start); rest > 0 && err == nil {
					select {
					case <-time.After(rest):
					case <-ctx.Done():
						return q, 0, ctx.Err()
					}
				}
				return q, q.Version, err
			}
			gate := make(chan struct{})
			var wg sync.WaitGroup
			for range stampedeReaders {
				wg.Go(func() {
					<-gate
					_, _ = mode.aside.Get(ctx, key, load)
				})
			}
			close(gate)
			wg.Wait()
			_ = e.deps.Cache.Invalidate(context.WithoutCancel(ctx), key, 0, time.Now())
			if err := ctx.Err(); err != nil {
				return err
			}
			n := loads.Load()
			totals[m] += n
			points[m] = append(points[m], [2]float64{float64(round), float64(n)})
			e.set(func(r *Run) {
				l := Line{Title: fmt.Sprintf("Postgres loads when %d readers miss at once", stampedeReaders), YLabel: "loads", XLabel: "round"}
				for i, md := range modes {
					l.Series = append(l.Series, LineSeries{Name: md.name, Points: append([][2]float64(nil), points[i]...)})
				}
				r.Lines = []Line{l}
			})
		}
	}
	on, off := float64(totals[0])/stampedeRounds, float64(totals[1])/stampedeRounds
	e.set(func(r *Run) {
		r.Results = []Result{
			{"loads per round, protected", fmt.Sprintf("%.1f", on)},
			{"loads per round, unprotected", fmt.Sprintf("%.1f (of %d readers)", off, stampedeReaders)},
		}
		r.Numbers = map[string]float64{"loads_protected": on, "loads_unprotected": off, "readers": stampedeReaders}
	})
	return nil
}

// staleRow is the row of the stale-set replay: a price and its version.
type staleRow struct {
	Price   int64
	Version int64
}

// runStaleSet replays the stale-set race on a key of the Lab's own, with the protection on
// and off, and reads what the cache holds after.
func runStaleSet(ctx context.Context, e *env) error {
	e.set(func(r *Run) {
		r.Settings = "a reader loads version 1 and is held; a writer commits version 2 and writes it through; the reader then fills. The row lives in the experiment (no shop data changes); the cache is the shop's Redis and cache code."
	})
	modes := []struct {
		name  string
		aside *cache.Aside[staleRow]
	}{{"protected (lease + version check)", e.caches.staleOn}, {"unprotected (plain SET)", e.caches.staleOff}}
	var results []Result
	nums := map[string]float64{}
	var lines []LineSeries
	for m, mode := range modes {
		key := keys.LabKey("staleset", e.id, strconv.Itoa(m))
		row := staleRow{Price: 100, Version: 1}
		var mu sync.Mutex
		loaded, written := make(chan struct{}), make(chan struct{})
		var series LineSeries
		series.Name = mode.name
		stored := func(step float64) {
			v := e.storedVersion(ctx, key)
			series.Points = append(series.Points, [2]float64{step, float64(v)})
		}
		done := make(chan error, 1)
		go func() {
			_, err := mode.aside.Get(ctx, key, func(ctx context.Context) (staleRow, int64, error) {
				mu.Lock()
				snap := row
				mu.Unlock()
				close(loaded)
				select { // held here, as a slow query would be, while the writer writes
				case <-written:
				case <-time.After(5 * time.Second):
				case <-ctx.Done():
				}
				return snap, snap.Version, nil
			})
			done <- err
		}()
		select {
		case <-loaded:
		case <-ctx.Done():
			return ctx.Err()
		}
		stored(1)
		mu.Lock()
		row = staleRow{Price: 200, Version: 2}
		mu.Unlock()
		if err := mode.aside.Set(ctx, key, row, 2); err != nil {
			return fmt.Errorf("write through: %w", err)
		}
		stored(2)
		close(written)
		if err := <-done; err != nil {
			return fmt.Errorf("reader: %w", err)
		}
		stored(3)
		final := series.Points[len(series.Points)-1][1]
		_ = e.deps.Cache.Invalidate(context.WithoutCancel(ctx), key, 0, time.Now())
		verdict := "version 2: the new price, correct"
		if final != 2 {
			verdict = fmt.Sprintf("version %.0f: the OLD price, stale until the TTL", final)
		}
		e.logf("%s: the cache holds %s", mode.name, verdict)
		results = append(results, Result{mode.name, "after the race the cache holds " + verdict})
		nums[map[int]string{0: "protected_version", 1: "unprotected_version"}[m]] = final
		lines = append(lines, series)
		e.set(func(r *Run) {
			r.Lines = []Line{{Title: "Version in Redis at each step (1 reader loaded, 2 writer wrote, 3 reader filled)", YLabel: "version", XLabel: "step", Series: append([]LineSeries(nil), lines...)}}
		})
	}
	e.set(func(r *Run) { r.Results, r.Numbers = results, nums })
	return nil
}

// storedVersion is the version of the entry Redis holds under key (0 for none).
func (e *env) storedVersion(ctx context.Context, key string) int64 {
	s, err := e.rdb.Get(ctx, e.deps.Cache.Key(key)).Result()
	if err != nil {
		return 0
	}
	v, _, _ := strings.Cut(s, ":")
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// pageOutcome is one page request of the fail-open experiment.
type pageOutcome struct {
	at     float64 // s since the start
	ms     float64
	status int
	xcache string
}

// runFailOpen requests a product page every 100 ms before, during and after forcing the
// breaker open on every instance (this one directly, the others through a probe).
func runFailOpen(ctx context.Context, e *env) error {
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	if e.handler() == nil {
		return errors.New("the shop's pages are not wired to the Lab")
	}
	open := e.deps.Duration
	before, after := max(open/5, time.Second), max(open*3/10, 2*time.Second)
	path := fmt.Sprintf("/products/%d", p.ID)
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("GET %s every 100 ms: %s as usual, %s with this instance's breaker forced open (%s), %s after", path, before, open, e.col.Instance(), after)
	})
	defer e.deps.Guard.ForceOpen(time.Time{})
	start := time.Now()
	var outs []pageOutcome
	var breaker [][2]float64
	forced := false
	var openedAt, closedAt float64
	draw := func() {
		series := map[string]*LineSeries{}
		var order []string
		for _, o := range outs {
			name := "error " + strconv.Itoa(o.status)
			switch {
			case o.status == 200 && strings.HasPrefix(o.xcache, "HIT"):
				name = "served from the cache"
			case o.status == 200:
				name = "served from Postgres (" + o.xcache + ")"
			}
			if series[name] == nil {
				series[name] = &LineSeries{Name: name}
				order = append(order, name)
			}
			series[name].Points = append(series[name].Points, [2]float64{o.at, o.ms})
		}
		l := Line{Title: "Product page latency, by how it was served", YLabel: "latency (ms)"}
		for _, n := range order {
			l.Series = append(l.Series, *series[n])
		}
		b := Line{Title: "Breaker of this instance (1 = open: Redis skipped)", YLabel: "open", YMax: 1,
			Series: []LineSeries{{Name: "breaker", Points: append([][2]float64(nil), breaker...)}}}
		e.set(func(r *Run) { r.Lines = []Line{l, b} })
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < before+open+after {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		el := time.Since(start)
		switch {
		case !forced && closedAt == 0 && el >= before:
			// Every other instance forces its own breaker until the same moment (a probe,
			// read within a second); it releases it by itself then, whatever becomes of
			// this instance.
			until := time.Now().Add(open)
			if err := e.col.Ask(ctx, e.id, "force-open", forceArgs{From: e.col.Instance(), Until: until}, until); err != nil {
				return fmt.Errorf("ask the instances to force their breakers: %w", err)
			}
			e.deps.Guard.ForceOpen(until)
			forced, openedAt = true, el.Seconds()
			e.logf("breaker forced open for %s at %.1f s, here and (within a second) on the %d other instance(s)", open, openedAt, len(e.col.Live())-1)
		case forced && el >= before+open:
			e.deps.Guard.ForceOpen(time.Time{})
			forced, closedAt = false, el.Seconds()
			e.logf("breaker released at %.1f s", closedAt)
		}
		status, xc, took := e.page(ctx, path)
		at := time.Since(start).Seconds()
		outs = append(outs, pageOutcome{at: at, ms: ms(took), status: status, xcache: xc})
		state := 0.0
		if !e.deps.Guard.Available() {
			state = 1
		}
		breaker = append(breaker, [2]float64{at, state})
		if len(outs)%3 == 0 {
			draw()
		}
	}
	e.deps.Guard.ForceOpen(time.Time{})
	draw()
	var during, duringOK int
	var lat = map[string][]float64{}
	recovered := -1.0
	for _, o := range outs {
		phase := "before"
		switch {
		case o.at >= openedAt && (closedAt == 0 || o.at < closedAt):
			phase = "during"
			during++
			if o.status == 200 {
				duringOK++
			}
		case closedAt > 0 && o.at >= closedAt:
			phase = "after"
			if recovered < 0 && o.status == 200 && strings.HasPrefix(o.xcache, "HIT") {
				recovered = o.at - closedAt
			}
		}
		if o.status == 200 {
			lat[phase] = append(lat[phase], o.ms)
		}
	}
	med := func(ph string) float64 { return quantile(lat[ph], 0.5) }
	// The other instances answer once they have released their breaker.
	others := 0
	raw, _ := e.col.Answers(ctx, e.id)
	for _, a := range raw {
		var f forceAnswer
		if json.Unmarshal(a, &f) == nil && f.Forced {
			others++
		}
	}
	live := len(e.col.Live())
	e.set(func(r *Run) {
		r.Results = []Result{
			{"pages served while Redis was skipped", fmt.Sprintf("%d of %d (status 200)", duringOK, during)},
			{"instances whose breaker was forced", fmt.Sprintf("this one and %d of the %d other(s) (each its own, released by itself)", others, live-1)},
			{"median latency before / during / after", fmt.Sprintf("%.2f / %.2f / %.2f ms", med("before"), med("during"), med("after"))},
			{"first page from the cache after the breaker closed", recoveredText(recovered)},
		}
		r.Numbers = map[string]float64{"during": float64(during), "during_ok": float64(duringOK), "p50_before_ms": med("before"),
			"p50_during_ms": med("during"), "p50_after_ms": med("after"), "recovered_s": recovered, "instances_forced": float64(others + 1)}
	})
	return nil
}

// forceArgs is the fail-open probe's question: force your breaker open until Until (the
// runner, From, forces its own).
type forceArgs struct {
	From  string    `json:"from"`
	Until time.Time `json:"until"`
}

// forceAnswer is one instance's answer to the fail-open probe, given once it has released
// its breaker.
type forceAnswer struct {
	Forced bool `json:"forced"`
}

func recoveredText(s float64) string {
	if s < 0 {
		return "none in the time measured"
	}
	return fmt.Sprintf("%.1f s later", s)
}

// sessionAnswer is one instance's answer to the sessions probe.
type sessionAnswer struct {
	Found bool    `json:"found"`
	MS    float64 `json:"ms"`
	Err   string  `json:"err,omitempty"`
}

// runSessions creates a throwaway session and asks every instance to find it.
func runSessions(ctx context.Context, e *env) error {
	if e.deps.Sessions == nil {
		return errors.New("no session store")
	}
	token := "lab-" + e.id
	if err := e.deps.Sessions.CommitCtx(ctx, token, []byte("lab experiment "+e.id), time.Now().Add(time.Minute)); err != nil {
		return fmt.Errorf("create the session: %w", err)
	}
	defer func() { _ = e.deps.Sessions.DeleteCtx(context.WithoutCancel(ctx), token) }()
	live := e.col.Live()
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("one session created in Redis by %s; %d instances asked to find it by its token", e.col.Instance(), len(live))
	})
	asked := time.Now()
	if err := e.col.Ask(ctx, e.id, "session", map[string]string{"token": token}, asked.Add(5*time.Second)); err != nil {
		return fmt.Errorf("ask the instances: %w", err)
	}
	var found [][2]float64
	answers := map[string]sessionAnswer{}
	for time.Since(asked) < 5*time.Second && len(answers) < len(live) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		raw, err := e.col.Answers(ctx, e.id)
		if err != nil {
			continue
		}
		n := 0
		for inst, a := range raw {
			var ans sessionAnswer
			if json.Unmarshal(a, &ans) == nil {
				answers[inst] = ans
				if ans.Found {
					n++
				}
			}
		}
		found = append(found, [2]float64{time.Since(asked).Seconds(), float64(n)})
		e.set(func(r *Run) {
			r.Lines = []Line{{Title: "Instances that found the session", YLabel: "instances", XLabel: "time since asked (s)",
				Series: []LineSeries{{Name: "found it", Points: append([][2]float64(nil), found...)}}}}
		})
	}
	var rs []Result
	ok, slowest := 0, 0.0
	for _, inst := range live {
		a, answered := answers[inst]
		switch {
		case !answered:
			rs = append(rs, Result{inst, "no answer within 5 s"})
		case a.Found:
			ok++
			slowest = max(slowest, a.MS)
			rs = append(rs, Result{inst, fmt.Sprintf("found it in %.2f ms", a.MS)})
		default:
			rs = append(rs, Result{inst, "did NOT find it " + a.Err})
		}
	}
	e.set(func(r *Run) {
		r.Results = rs
		r.Numbers = map[string]float64{"instances": float64(len(live)), "found": float64(ok), "slowest_ms": slowest}
	})
	return nil
}

// watchAnswer is one instance's answer to the invalidation probe.
type watchAnswer struct {
	SeenAt  time.Time `json:"seen_at"` // when its near cache first served the new version; zero if never
	Version int64     `json:"version"`
	Reads   int       `json:"reads"`
}

// runInvalidation edits a product, in the shop and then in Postgres alone, and measures on
// every instance how long until its near cache serves the new version.
func runInvalidation(ctx context.Context, e *env) error {
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	orig := p.Price
	if err := e.keepPrice(ctx, p.ID, orig); err != nil {
		return err
	}
	defer e.restorePrice(ctx, p.ID, orig)
	live := e.col.Live()
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("product %d (%s) edited twice on %s: through the shop (write-through + pub/sub), then in Postgres alone (trigger + LISTEN/NOTIFY, as a psql UPDATE); %d instances watching their near cache", p.ID, p.Name, e.col.Instance(), len(live))
	})
	var rs []Result
	nums := map[string]float64{"instances": float64(len(live))}
	var series []LineSeries
	for round, through := range []bool{true, false} {
		how := map[bool]string{true: "edit in the shop", false: "UPDATE in Postgres"}[through]
		cur, err := e.deps.Store.FindProduct(ctx, p.ID)
		if err != nil {
			return err
		}
		run := e.id + "-" + strconv.Itoa(round)
		until := time.Now().Add(8 * time.Second)
		if err := e.col.Ask(ctx, run, "watch", map[string]int64{"product": p.ID, "above": cur.Version}, until); err != nil {
			return err
		}
		// Wait until every live instance watches (its near cache holds the product).
		for time.Now().Before(until.Add(-5*time.Second)) && len(e.readyOf(ctx, run)) < len(live) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if _, _, err := e.setPrice(ctx, p.ID, cur.Price+1, through); err != nil {
			return err
		}
		edited := time.Now()
		e.logf("%s: committed at %s", how, edited.Format("15:04:05.000"))
		answers, err := awaitAnswers[watchAnswer](ctx, e.col, run, len(live), until)
		if err != nil {
			return err
		}
		worst := 0.0
		for i, inst := range live {
			a, ok := answers[inst]
			if i >= len(series) {
				series = append(series, LineSeries{Name: inst})
			}
			if !ok || a.SeenAt.IsZero() {
				rs = append(rs, Result{how + " → " + inst, "not seen within the bound"})
				continue
			}
			lag := max(ms(a.SeenAt.Sub(edited)), 0)
			worst = max(worst, lag)
			series[i].Points = append(series[i].Points, [2]float64{float64(round + 1), lag})
			rs = append(rs, Result{how + " → " + inst, fmt.Sprintf("new version served %.2f ms after the edit returned", lag)})
		}
		nums[map[bool]string{true: "shop_lag_max_ms", false: "pg_lag_max_ms"}[through]] = worst
		e.set(func(r *Run) {
			r.Lines = []Line{{Title: "Lag until each instance's near cache served the edit (1: shop edit, 2: Postgres UPDATE)", YLabel: "lag (ms)", XLabel: "round",
				Series: append([]LineSeries(nil), series...)}}
			r.Results = append([]Result(nil), rs...)
		})
	}
	e.set(func(r *Run) { r.Numbers = nums })
	return nil
}

// readySuffix marks an instance's "watching" answer in a probe's answers.
const readySuffix = "#ready"

// readyOf returns the instances that said they watch run's product.
func (e *env) readyOf(ctx context.Context, run string) []string {
	raw, _ := e.col.Answers(ctx, run)
	var out []string
	for inst := range raw {
		if name, ok := strings.CutSuffix(inst, readySuffix); ok {
			out = append(out, name)
		}
	}
	return out
}

// registerProbes makes this instance answer the experiments' probes.
func (r *Runner) registerProbes() {
	r.registerNearProbes()
	r.col.HandleProbe("force-open", func(ctx context.Context, p Probe) any {
		var args forceArgs
		if err := json.Unmarshal(p.Args, &args); err != nil || r.deps.Guard == nil || args.From == r.col.Instance() {
			return forceAnswer{}
		}
		// Bounded twice: by the deadline given (the probe's context ends then), and by the
		// guard's own expiry of the forcing, should this goroutine not get to the release.
		until := args.Until
		for _, t := range []time.Time{p.Until, time.Now().Add(r.bound())} {
			if t.Before(until) {
				until = t
			}
		}
		r.deps.Guard.ForceOpen(until)
		<-ctx.Done()
		r.deps.Guard.ForceOpen(time.Time{})
		return forceAnswer{Forced: true}
	})
	r.col.HandleProbe("session", func(ctx context.Context, p Probe) any {
		var args struct{ Token string }
		if err := json.Unmarshal(p.Args, &args); err != nil || r.deps.Sessions == nil {
			return sessionAnswer{Err: "bad probe"}
		}
		start := time.Now()
		_, found, err := r.deps.Sessions.FindCtx(ctx, args.Token)
		a := sessionAnswer{Found: found, MS: ms(time.Since(start))}
		if err != nil {
			a.Err = err.Error()
		}
		return a
	})
	r.col.HandleProbe("watch", func(ctx context.Context, p Probe) any {
		var args struct{ Product, Above int64 }
		if err := json.Unmarshal(p.Args, &args); err != nil || r.deps.Catalog == nil {
			return watchAnswer{}
		}
		return r.watch(ctx, p, args.Above, func(ctx context.Context) (catalog.Product, error) {
			return r.deps.Catalog.FindProduct(ctx, args.Product)
		})
	})
}

// watch reads a product with read every millisecond until it has a version above `above`
// or ctx ends, and says when it first saw it; after its first successful read it marks this
// instance ready in the run p asked for.
func (r *Runner) watch(ctx context.Context, p Probe, above int64, read func(context.Context) (catalog.Product, error)) watchAnswer {
	var a watchAnswer
	ready := false
	for ctx.Err() == nil {
		q, err := read(ctx)
		a.Reads++
		if err == nil && q.Version > above {
			a.SeenAt, a.Version = time.Now(), q.Version
			return a
		}
		if !ready && err == nil {
			ready = true
			_ = r.col.mark(ctx, p.Run, r.col.Instance()+readySuffix)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Millisecond):
		}
	}
	return a
}

// writeBehindViews is the size of the write-behind experiment's burst.
const writeBehindViews = 300

// runWriteBehind views a product page writeBehindViews times and follows the views from
// Redis to Postgres.
func runWriteBehind(ctx context.Context, e *env) error {
	if e.deps.Views == nil || e.deps.Flusher == nil {
		return errors.New("no write-behind of views on this instance")
	}
	p, err := e.product(ctx)
	if err != nil {
		return err
	}
	interval := e.deps.Flusher.Status(ctx).Interval
	base, err := e.deps.Views.Flushed(ctx, p.ID)
	if err != nil {
		return err
	}
	flushes0 := e.col.flushes()
	path := fmt.Sprintf("/products/%d", p.ID)
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("GET %s %d times, 4 at a time; the flusher writes every %s (SHOP_VIEWS_FLUSH_INTERVAL). Pending counts every product's views waiting in Redis", path, writeBehindViews, interval)
	})
	start := time.Now()
	var pending, flushed [][2]float64
	sample := func() (int64, error) {
		at := time.Since(start).Seconds()
		st, err := e.deps.Views.Pending(ctx)
		if err == nil {
			pending = append(pending, [2]float64{at, float64(st.Views + st.BatchViews)})
		}
		n, ferr := e.deps.Views.Flushed(ctx, p.ID)
		if ferr != nil {
			return 0, ferr
		}
		flushed = append(flushed, [2]float64{at, float64(n - base)})
		e.set(func(r *Run) {
			r.Lines = []Line{{Title: "The burst's views: waiting in Redis vs written to Postgres", YLabel: "views",
				Series: []LineSeries{{Name: "pending in Redis (all products)", Points: append([][2]float64(nil), pending...)},
					{Name: "in Postgres (this product, since the start)", Points: append([][2]float64(nil), flushed...)}}}}
		})
		return n - base, nil
	}
	var sent, ok atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for sent.Add(1) <= writeBehindViews && ctx.Err() == nil {
				if status, _, _ := e.page(ctx, path); status == 200 {
					ok.Add(1)
				}
			}
		})
	}
	burstDone := make(chan struct{})
	go func() { wg.Wait(); close(burstDone) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	inPG := int64(0)
	var burstTook time.Duration
	bound := time.Now().Add(3*interval + 10*time.Second)
	for {
		select {
		case <-ctx.Done():
			<-burstDone
			return ctx.Err()
		case <-burstDone:
			if burstTook == 0 {
				burstTook = time.Since(start)
				e.logf("%d page views in %.2f s", ok.Load(), burstTook.Seconds())
			}
			burstDone = nil
		case <-tick.C:
		}
		n, err := sample()
		if err != nil {
			return err
		}
		inPG = n
		if burstTook > 0 && inPG >= ok.Load() || time.Now().After(bound) {
			break
		}
	}
	all := time.Since(start)
	batches := e.col.flushes() - flushes0
	e.set(func(r *Run) {
		r.Results = []Result{
			{"views made", fmt.Sprintf("%d (in %.2f s)", ok.Load(), burstTook.Seconds())},
			{"in Postgres", fmt.Sprintf("%d after %.1f s", inPG, all.Seconds())},
			{"Postgres writes", fmt.Sprintf("%d batch(es) written by the deployment's flushers for %d views (and any others pending)", batches, ok.Load())},
			{"not measured here", "what a kill -9 of the flusher loses (nothing: the claimed batch is applied again) and what a Redis crash loses (the views still pending): pageviews tests TestCrashAtEachStepNeitherLosesNorDoubleCounts and TestTenThousandViewsThroughCrashes"},
		}
		r.Numbers = map[string]float64{"views": float64(ok.Load()), "flushed": float64(inPG), "seconds": all.Seconds(), "batches": float64(batches)}
	})
	return nil
}
