package cache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/testenv"
)

// writeScript is a script that writes, as the cart's and the cache's scripts do.
var writeScript = redis.NewScript(`return redis.call('INCR', KEYS[1])`)

// TestFailoverPipelinesAndTransactions swaps a primary and its replica behind a proxy that,
// like ElastiCache's primary endpoint after a failover, sends new connections to the new
// primary while the open ones stay with the old node, which now answers writes with
// READONLY. go-redis drops a connection that said READONLY to a single command, but not one
// that said it inside a pipeline (after a read) or in a transaction (EXECABORT): without the
// guard's help those kept failing on the same pooled connections for as long as they lived.
// Pipelines, MULTI/EXEC and scripts must all write again within a generous bound.
func TestFailoverPipelinesAndTransactions(t *testing.T) {
	group := testenv.StartReplicated(t)
	ctx := context.Background()
	settings, err := redisconn.Parse("redis://"+group.Endpoint.Addr()+"/0", "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := settings.Client()
	t.Cleanup(func() { rdb.Close() })
	cache.NewGuard(cache.GuardOptions{CallTimeout: time.Second}).Install(rdb)

	pipeline := func() error { // a read first, as pageviews.Reader's rank-and-count pipeline
		cmds, _ := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Get(ctx, "views:probe") // nil: no such key
			pl.HIncrBy(ctx, "views:pending", "1", 1)
			return nil
		})
		for _, c := range cmds {
			if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
		}
		return nil
	}
	transaction := func() error { // as the cart's and the leaderboard's MULTI/EXEC
		_, err := rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.HSet(ctx, "cart:{1}", "1", 2)
			pl.ZIncrBy(ctx, "lb:{bestsellers}:all", 1, "1")
			return nil
		})
		return err
	}
	script := func() error { return writeScript.Run(ctx, rdb, []string{"counter"}).Err() }
	calls := map[string]func() error{"pipeline": pipeline, "MULTI/EXEC": transaction, "script": script}

	// Several pooled connections, all on the primary.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for name, call := range calls {
				if err := call(); err != nil {
					t.Errorf("%s before the failover: %v", name, err)
				}
			}
		})
	}
	wg.Wait()
	// The failover: the replica is promoted, the old primary follows it, the endpoint moves.
	group.FailOver(t)
	start := time.Now()

	for _, name := range []string{"pipeline", "MULTI/EXEC", "script"} {
		var last error
		deadline := time.Now().Add(10 * time.Second)
		for {
			if last = calls[name](); last == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after the failover still fails after 10 s: %v", name, last)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s writes again %v after the failover", name, time.Since(start).Round(time.Millisecond))
	}
	// And they keep working: no connection to the demoted node is left in the pool.
	for i := range 20 {
		for name, call := range calls {
			if err := call(); err != nil {
				t.Fatalf("%s, call %d after recovery: %v", name, i, err)
			}
		}
	}
}

// TestFailoverRepliesDropTheConnection has a real server answer each failover reply (from a
// script's error_reply, inside a pipeline after a read) and checks, by the server's CLIENT
// ID, that the next call runs on a new connection; any other error reply keeps it.
func TestFailoverRepliesDropTheConnection(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	cache.NewGuard(cache.GuardOptions{CallTimeout: time.Second}).Install(rdb)
	ctx := context.Background()
	for _, tc := range []struct {
		reply string
		drop  bool
	}{
		{"READONLY You can't write against a read only replica.", true},
		{"EXECABORT Transaction discarded because of previous errors.", true},
		{"LOADING Redis is loading the dataset in memory", true},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", true},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", false},
		{"ERR a script's own error", false},
	} {
		before, err := rdb.ClientID(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Get(ctx, "k")
			p.Eval(ctx, "return redis.error_reply(ARGV[1])", nil, tc.reply)
			return nil
		})
		after, err := rdb.ClientID(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if dropped := after != before; dropped != tc.drop {
			t.Errorf("after a pipeline answered %.20q the connection was dropped: %v, want %v", tc.reply, dropped, tc.drop)
		}
	}
}
