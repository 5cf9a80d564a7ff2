package pageviews_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/pageviews"
)

// noRank is a RankQueuer for tests about views: every product is off the board, and the
// pipeline carries one extra command, as the board's script does.
func noRank(ctx context.Context, p redis.Pipeliner, id int64) func() (int, int64, error) {
	cmd := p.Ping(ctx)
	return func() (int, int64, error) { return 0, 0, cmd.Err() }
}

// calls counts the Redis round trips of a client: one per command, one per pipeline.
type calls struct{ n atomic.Int64 }

func (c *calls) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *calls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *calls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// A view counted in the buffer costs no Redis round trip once the product's rank and views
// are held locally; the views shown include the views not sent yet.
func TestBufferedViewMakesNoRoundTrip(t *testing.T) {
	pool := newDB(t)
	rdb, prefix := testenv.Redis(t)
	var rt calls
	rdb.AddHook(&rt)
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, prefix)
	b := pageviews.NewBuffer(rdb, noRank, c, time.Hour, discard) // sent only when the test says
	if _, err := c.View(ctx, 3); err != nil {                    // one view straight to Redis; its total is cached
		t.Fatal(err)
	}
	rt.n.Store(0)
	st, err := b.View(ctx, 3)
	if err != nil || st.Views != 2 {
		t.Fatalf("first buffered View = %+v, %v; want 2 views", st, err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Errorf("first buffered view of a product made %d round trips, want 1 (rank and views read together)", n)
	}
	rt.n.Store(0)
	for want := int64(3); want <= 6; want++ {
		if st, err := b.View(ctx, 3); err != nil || st.Views != want {
			t.Fatalf("View = %+v, %v; want %d views", st, err, want)
		}
	}
	if n := rt.n.Load(); n != 0 {
		t.Errorf("later views made %d round trips, want 0", n)
	}
	if err := b.Send(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.HGet(ctx, c.PendingKey(), "3").Int64(); n != 6 {
		t.Errorf("views:pending 3 = %d after the batch, want 6", n)
	}
	if st, _ := b.View(ctx, 3); st.Views != 7 {
		t.Errorf("View after the batch = %d views, want 7 (6 in Redis, 1 buffered)", st.Views)
	}
	if s := b.Status(); s.Buffered != 1 || s.Batches != 1 || s.LastViews != 5 {
		t.Errorf("Status = %+v, want 1 buffered and one batch of 5", s)
	}
}

// Views counted by many goroutines, with the batches and the flushes running, are all in
// Postgres after a graceful stop of both stages.
func TestBufferGracefulStopLosesNothing(t *testing.T) {
	pool := newDB(t)
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, prefix)
	f := pageviews.NewFlusher(c, 50*time.Millisecond, discard)
	b := pageviews.NewBuffer(rdb, noRank, c, 5*time.Millisecond, discard)
	f.Start()
	b.Start()
	const workers, each = 8, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				b.View(ctx, int64(1+(w*each+i)%products)) // an error only means no stats shown
			}
		})
	}
	wg.Wait()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if _, sum := flushed(t, pool); sum != workers*each {
		t.Errorf("Postgres after a graceful stop holds %d views, want %d", sum, workers*each)
	}
	if s := b.Status(); s.Buffered != 0 || s.Dropped != 0 {
		t.Errorf("buffer after Stop = %+v, want nothing left and nothing dropped", s)
	}
}

// While Redis does not answer, a batch is kept and sent again once it does; a graceful stop
// during the outage writes the buffered views straight to Postgres.
func TestBufferKeepsTheBatchWhileRedisIsAway(t *testing.T) {
	pool := newDB(t)
	srv := testenv.StartRedis(t)
	proxy := testenv.NewProxy(t, srv.Addr())
	settings, err := redisconn.Parse("redis://"+proxy.Addr()+"/0", "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := settings.Client()
	t.Cleanup(func() { rdb.Close() })
	cache.NewGuard(cache.GuardOptions{CallTimeout: 200 * time.Millisecond}).Install(rdb)
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { direct.Close() })
	ctx := context.Background()
	c := pageviews.NewCounter(rdb, pool, "")
	b := pageviews.NewBuffer(rdb, noRank, c, time.Hour, discard)

	for i := range 40 {
		b.View(ctx, int64(1+i%products))
	}
	proxy.Cut()
	if err := b.Send(ctx); err == nil {
		t.Fatal("Send with Redis cut off = nil, want an error")
	}
	if s := b.Status(); s.Buffered != 40 || s.Errors == 0 {
		t.Fatalf("after a refused batch Status = %+v, want all 40 views kept and the error counted", s)
	}
	for i := range 10 { // counted while Redis is away
		b.View(ctx, int64(1+i%products))
	}
	proxy.Restore()
	waitFor(t, "the kept batch reaches Redis", func() bool { return b.Send(ctx) == nil })
	if sum := pendingSum(t, direct, c.PendingKey()); sum != 50 {
		t.Errorf("views:pending holds %d views after Redis came back, want 50", sum)
	}

	// A graceful stop while Redis is away: straight to Postgres, nothing lost.
	for i := range 30 {
		b.View(ctx, int64(1+i%products))
	}
	proxy.Cut()
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second) // less than the retry window: direct at once
	defer cancel()
	if err := b.Stop(sctx); err != nil {
		t.Fatalf("Stop with Redis away = %v, want the views written to Postgres", err)
	}
	if _, sum := flushed(t, pool); sum != 30 {
		t.Errorf("Postgres after a stop with Redis away holds %d views, want 30", sum)
	}
	if sum := pendingSum(t, direct, c.PendingKey()); sum != 50 {
		t.Errorf("views:pending holds %d views, want the 50 sent before (no view counted twice)", sum)
	}
}

func pendingSum(t *testing.T, rdb *redis.Client, key string) int64 {
	t.Helper()
	all, err := rdb.HGetAll(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, v := range all {
		var n int64
		for _, ch := range v {
			n = 10*n + int64(ch-'0')
		}
		sum += n
	}
	return sum
}

// waitFor polls cond until it holds, for at most 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
