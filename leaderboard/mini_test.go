package leaderboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/leaderboard"
	"github.com/shopcache/shop/pageviews"
)

// TestOnMiniredis runs the boards and the view flusher on the in-process Redis of the
// shop's embedded mode, whose Lua and commands are a reimplementation.
func TestOnMiniredis(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	pool := testenv.DB(t)
	ctx := context.Background()
	insertProduct(t, pool, 1, true, "lamps")
	insertProduct(t, pool, 2, true, "")
	insertSale(t, pool, time.Now(), map[int64]int{1: 3, 2: 3})
	board := leaderboard.New(rdb, pool, "", discard)
	if _, err := board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if err := board.Record(ctx, time.Now(), []leaderboard.Line{{ProductID: 2, Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []leaderboard.Scope{leaderboard.AllTime, {Week: true}, {Category: "lamps"}} {
		if top, err := board.Top(ctx, s, 1); err != nil || len(top) != 1 {
			t.Errorf("Top(%v, 1) = %+v, %v", s, top, err)
		}
	}
	if r, err := board.Rank(ctx, 1); err != nil || r.Rank != 2 || r.Units != 3 {
		t.Errorf("Rank(1) = %+v, %v; want 2nd with 3", r, err)
	}
	c := pageviews.NewCounter(rdb, pool, "")
	for range 3 {
		if _, err := c.View(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	f := pageviews.NewFlusher(c, time.Hour, discard)
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := c.View(ctx, 1); err != nil || n != 4 {
		t.Errorf("View after a flush = %d, %v; want 4", n, err)
	}
}
