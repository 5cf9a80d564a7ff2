package pageviews_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/pageviews"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

const products = 20

// newDB returns a database with products 1 to 20 and a trigger, off until enabled, with
// which Postgres refuses every write to product_views.
func newDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool := testenv.DB(t)
	_, err := pool.Exec(context.Background(), `
		INSERT INTO products (id, sku, name, price, currency, stock)
			SELECT i, 'SKU' || i, 'Product ' || i, 100, 'GBP', 10 FROM generate_series(1, 20) AS i;
		CREATE FUNCTION refuse_views() RETURNS trigger LANGUAGE plpgsql
			AS $$ BEGIN RAISE EXCEPTION 'test: Postgres refuses the flush'; END $$;
		CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON product_views
			FOR EACH ROW EXECUTE FUNCTION refuse_views();
		ALTER TABLE product_views DISABLE TRIGGER refuse;`)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

func refuse(t testing.TB, pool *pgxpool.Pool, on bool) {
	t.Helper()
	sql := `ALTER TABLE product_views DISABLE TRIGGER refuse`
	if on {
		sql = `ALTER TABLE product_views ENABLE TRIGGER refuse`
	}
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Error(err)
	}
}

// flushed returns the views in Postgres by product.
func flushed(t testing.TB, pool *pgxpool.Pool) (map[int64]int64, int64) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT product_id, views FROM product_views`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[int64]int64{}
	var sum int64
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		m[id], sum = n, sum+n
	}
	return m, sum
}

var errKilled = errors.New("test: flusher killed here")

func TestCrashAtEachStepNeitherLosesNorDoubleCounts(t *testing.T) {
	for _, at := range []pageviews.Step{pageviews.StepClaimed, pageviews.StepCommitted, pageviews.StepCached} {
		t.Run(strconv.Itoa(int(at)), func(t *testing.T) {
			pool := newDB(t)
			rdb, prefix := testenv.Redis(t)
			ctx := context.Background()
			c := pageviews.NewCounter(rdb, pool, prefix)
			for range 7 {
				if _, err := c.View(ctx, 3); err != nil {
					t.Fatal(err)
				}
			}
			crashing := pageviews.NewFlusher(c, time.Hour, discard)
			crashing.SetHook(func(_ context.Context, s pageviews.Step) error {
				if s == at {
					return errKilled
				}
				return nil
			})
			if err := crashing.Flush(ctx); !errors.Is(err, errKilled) {
				t.Fatalf("Flush = %v, want it killed at step %d", err, at)
			}
			if p, _ := c.Pending(ctx); p.Batches != 1 || p.BatchViews != 7 {
				t.Errorf("Pending after the crash = %+v, want one batch of 7 left in Redis", p)
			}
			// A view while no flusher runs is counted at once. The page's total leaves out a
			// batch that a crash left claimed but not cached (it is not lost: the next flush
			// applies it), and never counts it twice.
			wantShown := map[pageviews.Step]int64{pageviews.StepClaimed: 1, pageviews.StepCommitted: 1, pageviews.StepCached: 8}[at]
			if n, err := c.View(ctx, 3); err != nil || n != wantShown {
				t.Errorf("View after a crash at step %d = %d, %v; want %d", at, n, err, wantShown)
			}
			restarted := pageviews.NewFlusher(c, time.Hour, discard)
			if err := restarted.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			if m, sum := flushed(t, pool); sum != 8 || m[3] != 8 {
				t.Errorf("Postgres after the restart = %v, want product 3 with 8 views", m)
			}
			if p, _ := c.Pending(ctx); p != (pageviews.Pending{}) {
				t.Errorf("Pending after the restart = %+v, want nothing", p)
			}
			if n, err := c.View(ctx, 3); err != nil || n != 9 {
				t.Errorf("View after the restart = %d, %v; want 9", n, err)
			}
		})
	}
}

func TestRefusedFlushStaysInRedis(t *testing.T) {
	pool := newDB(t)
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, prefix)
	for range 5 {
		c.View(ctx, 1)
	}
	// An instance whose pool is closed: Postgres cannot be reached.
	closed := testenv.Pool(t, pool.Config().ConnString())
	closed.Close()
	f := pageviews.NewFlusher(pageviews.NewCounter(rdb, closed, prefix), time.Hour, discard)
	if err := f.Flush(ctx); err == nil {
		t.Fatal("Flush through a closed pool = nil, want an error")
	}
	st := f.Status(ctx)
	if st.Errors != 1 || st.LastError == "" || st.Batches != 1 || st.BatchViews != 5 {
		t.Errorf("Status after the refused flush = %+v, want 1 error and a batch of 5 in Redis", st)
	}
	// Postgres itself refusing (a trigger raises): the batch stays, and the same flusher
	// retries it at its next flush, at once.
	refuse(t, pool, true)
	good := pageviews.NewFlusher(c, time.Hour, discard)
	if err := good.FlushAll(ctx); err == nil {
		t.Fatal("FlushAll while Postgres refuses = nil, want an error")
	}
	refuse(t, pool, false)
	c.View(ctx, 2)
	if err := good.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if m, sum := flushed(t, pool); sum != 6 || m[1] != 5 || m[2] != 1 {
		t.Errorf("Postgres = %v, want 5 views of 1 and 1 of 2", m)
	}
	if st := good.Status(ctx); st.Views != 0 || st.Batches != 0 || st.LastFlush.IsZero() {
		t.Errorf("Status = %+v, want nothing pending and a last flush", st)
	}
}

// TestTenThousandViewsThroughCrashes: at least 10,000 views across two instances while each
// instance's flusher is killed at random steps (and at random moments, by cancelling its
// context) and restarted, and Postgres refuses flushes now and then. The views go on until
// both kinds of crash happened at least 10 times, however fast the machine is. Postgres
// must end with exactly the views counted.
func TestTenThousandViewsThroughCrashes(t *testing.T) {
	const total = 10_000
	pool := newDB(t)
	ctx := context.Background()
	rdbA, prefix := testenv.Redis(t)
	rdbB := redis.NewClient(rdbA.Options())
	t.Cleanup(func() { rdbB.Close() })
	poolB := testenv.Pool(t, pool.Config().ConnString())
	counters := []*pageviews.Counter{pageviews.NewCounter(rdbA, pool, prefix), pageviews.NewCounter(rdbB, poolB, prefix)}

	var want [products + 1]atomic.Int64
	var viewed atomic.Int64
	var kills, cancels, flushes atomic.Int64
	enough := func() bool { return kills.Load() >= 10 && cancels.Load() >= 10 }
	deadline := time.Now().Add(2 * time.Minute) // liveness only
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := w; i < total || !enough(); i += 4 {
				if time.Now().After(deadline) {
					t.Errorf("fewer than 10 kills or cancels (%d, %d) in 2 minutes of views", kills.Load(), cancels.Load())
					return
				}
				id := int64(1 + r.IntN(products))
				if _, err := counters[i%2].View(ctx, id); err != nil {
					t.Error(err)
					return
				}
				want[id].Add(1)
				viewed.Add(1)
			}
		})
	}

	done := make(chan struct{})
	var flushers sync.WaitGroup
	for i, c := range counters {
		flushers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 2))
			for {
				// A new process: recover what any process left, then flush until killed.
				f := pageviews.NewFlusher(c, time.Hour, discard)
				f.SetHook(func(_ context.Context, s pageviews.Step) error {
					if r.IntN(8) == 0 {
						kills.Add(1)
						return errKilled
					}
					return nil
				})
				first := true
				for {
					select {
					case <-done:
						return
					default:
					}
					fctx, cancel := context.WithCancel(ctx)
					if r.IntN(6) == 0 { // killed at a random moment, mid-command
						time.AfterFunc(time.Duration(r.IntN(3000))*time.Microsecond, cancel)
						cancels.Add(1)
					}
					var err error
					if first {
						err = f.FlushAll(fctx)
						first = false
					} else {
						err = f.Flush(fctx)
					}
					interrupted := fctx.Err() != nil
					cancel()
					flushes.Add(1)
					if errors.Is(err, errKilled) || interrupted {
						break // the process died: start a new one
					}
					time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
				}
			}
		})
	}
	// Postgres refuses flushes for a few spells.
	for range 5 {
		time.Sleep(40 * time.Millisecond)
		refuse(t, pool, true)
		time.Sleep(20 * time.Millisecond)
		refuse(t, pool, false)
	}
	wg.Wait()
	close(done)
	flushers.Wait()
	if viewed.Load() < total {
		t.Fatalf("only %d views recorded", viewed.Load())
	}

	// Both instances shut down gracefully: a last flush each (a new process first recovers
	// what the killed ones left).
	for _, c := range counters {
		if err := pageviews.NewFlusher(c, time.Hour, discard).FlushAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	m, sum := flushed(t, pool)
	if sum != viewed.Load() {
		t.Errorf("Postgres holds %d views, want exactly %d", sum, viewed.Load())
	}
	for id := int64(1); id <= products; id++ {
		if m[id] != want[id].Load() {
			t.Errorf("product %d: %d views in Postgres, want %d", id, m[id], want[id].Load())
		}
	}
	if p, _ := counters[0].Pending(ctx); p != (pageviews.Pending{}) {
		t.Errorf("Pending at the end = %+v, want nothing", p)
	}
	var batches int
	pool.QueryRow(ctx, `SELECT count(*) FROM view_batches`).Scan(&batches)
	t.Logf("%d views, %d flushes, %d killed at a step, %d cancelled mid-way, %d batches applied",
		viewed.Load(), flushes.Load(), kills.Load(), cancels.Load(), batches)
}

func TestGracefulShutdownFlushesEverything(t *testing.T) {
	pool := newDB(t)
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, prefix)
	f := pageviews.NewFlusher(c, time.Hour, discard) // no periodic flush before Stop
	f.Start()
	for i := range 500 {
		if _, err := c.View(ctx, int64(1+i%products)); err != nil {
			t.Fatal(err)
		}
	}
	if _, sum := flushed(t, pool); sum != 0 {
		t.Fatalf("Postgres holds %d views before shutdown, want 0 (written behind)", sum)
	}
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, sum := flushed(t, pool); sum != 500 {
		t.Errorf("Postgres after Stop holds %d views, want 500", sum)
	}
	st := f.Status(ctx)
	if st.Views != 0 || st.LastBatchViews != 500 || st.LastBatchProducts != products || st.Flushes != 1 {
		t.Errorf("Status after Stop = %+v, want the one batch of 500 and nothing pending", st)
	}
}

// TestGracefulStopWaitsOutTheBreaker: a graceful stop that comes while the Redis guard still
// skips a Redis that has just come back (its breaker open for the cool-down) flushes every
// view once the breaker lets calls through again, within the stop's deadline.
func TestGracefulStopWaitsOutTheBreaker(t *testing.T) {
	pool := newDB(t)
	srv := testenv.StartRedis(t)
	settings, err := redisconn.Parse(srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := settings.Client()
	t.Cleanup(func() { rdb.Close() })
	guard := cache.NewGuard(cache.GuardOptions{CallTimeout: 100 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: 3 * time.Second})
	guard.Install(rdb)
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, "")
	for i := range 50 {
		if _, err := c.View(ctx, int64(1+i%products)); err != nil {
			t.Fatal(err)
		}
	}
	srv.Pause() // hung: three calls time out and the breaker opens
	for range 3 {
		c.View(ctx, 1)
	}
	srv.Resume()
	if guard.Available() {
		t.Fatal("the breaker is not open: the test needs it open when the stop begins")
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pageviews.NewFlusher(c, time.Hour, discard).Stop(sctx); err != nil {
		t.Fatalf("Stop = %v, want every view flushed once the breaker closes", err)
	}
	// The three views sent to the hung server timed out on the client, but the server may
	// still run them when it continues: a timed-out write is neither lost nor known.
	if _, sum := flushed(t, pool); sum < 50 || sum > 53 {
		t.Errorf("Postgres after Stop holds %d views, want the 50 counted (and up to 3 sent during the hang)", sum)
	}
}

func TestPeriodicFlush(t *testing.T) {
	pool := newDB(t)
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, prefix)
	f := pageviews.NewFlusher(c, 20*time.Millisecond, discard)
	f.Start()
	defer f.Stop(ctx)
	c.View(ctx, 4)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, sum := flushed(t, pool); sum == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("a view was not flushed by the periodic flusher within 5 s")
}
