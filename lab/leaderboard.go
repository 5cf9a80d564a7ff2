package lab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/keys"
)

// Sizes of the leaderboard experiment.
const (
	boardTop      = 5  // the top list read each tick
	boardProducts = 12 // products the simulated sales are spread over
	boardSellers  = 2  // goroutines recording sales
)

// runLeaderboard records simulated sales with ZINCRBY on a scratch board of the Lab's own
// (keys.LabKey("leaderboard", run id), deleted at the end; the shop's boards are not
// touched) for the experiment's duration, and every 100 ms reads the top boardTop from it
// and the same list computed by SQL over the shop's order lines (catalog's bestsellers
// query, which the simulated sales are not in: it measures the cost of the query, not its
// answer). It draws both latencies and the scratch board's ranks over time.
func runLeaderboard(ctx context.Context, e *env) error {
	ps, err := e.deps.Store.ListFeatured(ctx, boardProducts)
	if err != nil {
		return fmt.Errorf("pick the products: %w", err)
	}
	if len(ps) < 2 {
		return errors.New("the catalog has too few products for a leaderboard")
	}
	names := map[string]string{}
	for _, p := range ps {
		names[strconv.FormatInt(p.ID, 10)] = p.Name
	}
	board := e.prefix + keys.LabKey("leaderboard", e.id)
	defer func() { _ = e.rdb.Del(context.WithoutCancel(ctx), board).Err() }()
	dur := e.deps.Duration
	e.set(func(r *Run) {
		r.Settings = fmt.Sprintf("%d sellers record simulated sales of %d products for %s on a scratch sorted set (the best seller changes every quarter of the run); every 100 ms the top %d is read with ZREVRANGE and computed by SQL over the order lines (database latency %s, SHOP_DB_LATENCY)",
			boardSellers, len(ps), dur, boardTop, e.deps.DBLatency)
	})

	start := time.Now()
	sctx, stop := context.WithTimeout(ctx, dur)
	defer stop()
	var sales, units, failed atomic.Int64
	var wg sync.WaitGroup
	for range boardSellers {
		wg.Go(func() {
			for sctx.Err() == nil {
				// The hot product moves every quarter of the run; the others sell less the
				// further they are from it.
				hot := int(4*time.Since(start)/dur) * 3
				i := (hot + int(rand.ExpFloat64()*1.5)) % len(ps)
				n := int64(1 + rand.IntN(3))
				// Not cut short by the run's end: a sale abandoned mid-call could still reach
				// Redis after the board's DEL and leave it behind.
				wctx := context.WithoutCancel(sctx)
				_, err := e.rdb.TxPipelined(wctx, func(p redis.Pipeliner) error {
					p.ZIncrBy(wctx, board, float64(n), strconv.FormatInt(ps[i].ID, 10))
					p.Expire(wctx, board, e.bound()) // gone even if this instance dies before the DEL
					return nil
				})
				if err != nil {
					if sctx.Err() == nil {
						failed.Add(1)
					}
				} else {
					sales.Add(1)
					units.Add(n)
				}
				select {
				case <-sctx.Done():
				case <-time.After(2 * time.Millisecond):
				}
			}
		})
	}

	var zset, sql []float64
	ranks := map[string]*LineSeries{}
	var order []string
	changes := 0
	var prev []string
	var final []redis.Z
	draw := func() {
		z, q := append([]float64(nil), zset...), append([]float64(nil), sql...)
		lines := Line{Title: fmt.Sprintf("Ranks on the scratch board (%d = outside the top %d)", boardTop+1, boardTop), YLabel: "rank", YMax: boardTop + 1}
		for _, id := range order {
			s := *ranks[id]
			s.Points = append([][2]float64(nil), s.Points...)
			lines.Series = append(lines.Series, s)
		}
		e.set(func(r *Run) {
			r.CDFs = []CDF{{Title: fmt.Sprintf("Top %d read latency: sorted set vs SQL", boardTop), XLabel: "latency (ms)",
				Samples: []CDFSample{{Name: "ZREVRANGE on the sorted set", Values: z}, {Name: "SQL over the order lines", Values: q}}}}
			r.Lines = []Line{lines}
		})
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for sctx.Err() == nil {
		select {
		case <-sctx.Done():
		case <-tick.C:
		}
		if sctx.Err() != nil {
			break
		}
		t0 := time.Now()
		top, err := e.rdb.ZRevRangeWithScores(sctx, board, 0, boardTop-1).Result()
		if err != nil {
			continue // the next tick tries again; failures of the sellers are counted
		}
		zset = append(zset, ms(time.Since(t0)))
		t0 = time.Now()
		if _, err := e.deps.Store.ListBestsellers(sctx, boardTop); err != nil {
			if sctx.Err() != nil {
				break
			}
			wg.Wait()
			return fmt.Errorf("bestsellers by SQL: %w", err)
		}
		sql = append(sql, ms(time.Since(t0)))
		at := time.Since(start).Seconds()
		var now []string
		rank := map[string]int{}
		for i, z := range top {
			id := fmt.Sprint(z.Member)
			now = append(now, id)
			rank[id] = i + 1
			if ranks[id] == nil {
				ranks[id] = &LineSeries{Name: names[id]}
				order = append(order, id)
			}
		}
		for _, id := range order {
			y := rank[id]
			if y == 0 {
				y = boardTop + 1
			}
			ranks[id].Points = append(ranks[id].Points, [2]float64{at, float64(y)})
		}
		if prev != nil && strings.Join(prev, ",") != strings.Join(now, ",") {
			changes++
		}
		prev, final = now, top
		if len(zset)%3 == 0 {
			draw()
		}
	}
	stop()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	draw()
	if len(zset) == 0 {
		return errors.New("no top list was read from the scratch board")
	}
	z50, z99 := quantile(append([]float64(nil), zset...), 0.5), quantile(append([]float64(nil), zset...), 0.99)
	q50, q99 := quantile(append([]float64(nil), sql...), 0.5), quantile(append([]float64(nil), sql...), 0.99)
	speedup := 0.0
	if z50 > 0 {
		speedup = q50 / z50
	}
	var top []string
	for _, z := range final {
		top = append(top, fmt.Sprintf("%s (%.0f)", names[fmt.Sprint(z.Member)], z.Score))
	}
	e.set(func(r *Run) {
		r.Results = []Result{
			{"sales recorded", fmt.Sprintf("%d (%d units) in %.1f s, %d failed", sales.Load(), units.Load(), dur.Seconds(), failed.Load())},
			{"sorted set top " + strconv.Itoa(boardTop) + ": p50 / p99", fmtMS(z50) + " / " + fmtMS(z99)},
			{"SQL top " + strconv.Itoa(boardTop) + ": p50 / p99", fmtMS(q50) + " / " + fmtMS(q99)},
			{"speed-up at the median", fmt.Sprintf("%.0f×", speedup)},
			{"top list changes seen", fmt.Sprintf("%d in %d reads", changes, len(zset))},
			{"final top " + strconv.Itoa(boardTop), strings.Join(top, ", ")},
		}
		r.Numbers = map[string]float64{"sales": float64(sales.Load()), "units": float64(units.Load()), "reads": float64(len(zset)),
			"zset_p50_ms": z50, "zset_p99_ms": z99, "zset_p50_us": z50 * 1000, "sql_p50_ms": q50, "sql_p99_ms": q99, "speedup": speedup,
			"rank_changes": float64(changes), "db_latency_ms": ms(e.deps.DBLatency)}
	})
	return nil
}
