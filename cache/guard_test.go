package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/testenv"
)

// waitUntil polls cond until it holds; limit is a generous bound for liveness only.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
	}
}

// TestGuardHungRedis hangs a real redis-server (SIGSTOP): each call gives up at the guard's
// timeout until the breaker opens; then every call, from any goroutine, is refused at once
// with ErrBypass and never reaches the hung server; after SIGCONT the breaker closes again,
// on connections dialled anew (the probe's own handshake goes through the guard's hook).
func TestGuardHungRedis(t *testing.T) {
	srv := testenv.StartRedis(t)
	settings, err := redisconn.Parse(srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := settings.Client()
	t.Cleanup(func() { rdb.Close() })
	guard := cache.NewGuard(cache.GuardOptions{CallTimeout: 100 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: 300 * time.Millisecond})
	guard.Install(rdb)
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}

	srv.Pause()
	for i := range 3 {
		err := rdb.Get(ctx, "k").Err()
		if err == nil || errors.Is(err, cache.ErrBypass) {
			t.Fatalf("call %d to a hung Redis = %v, want a timeout", i+1, err)
		}
	}
	if guard.Available() {
		t.Error("Available() = true after 3 timeouts in a row, want false")
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Get(ctx, "k")
				p.PTTL(ctx, "k")
				return nil
			}); !errors.Is(err, cache.ErrBypass) {
				t.Errorf("a pipeline while the breaker is open = %v, want ErrBypass", err)
			}
		})
	}
	wg.Wait()

	srv.Resume()
	waitUntil(t, 10*time.Second, "Redis answers through the guard after SIGCONT", func() bool {
		return rdb.Get(ctx, "k").Val() == "v"
	})
	if !guard.Available() {
		t.Error("Available() = false after Redis answered again")
	}
}

// TestGuardOneBreakerPerShard hangs one master of a real Redis Cluster: calls for its keys
// are refused with ErrBypass once its breaker opens, while calls for keys of the other
// shards go on succeeding through the same client.
func TestGuardOneBreakerPerShard(t *testing.T) {
	// A long node timeout: the hung master must not be failed over during the test.
	cluster := testenv.StartCluster(t, "--cluster-node-timeout", "60000")
	settings, err := redisconn.Parse(cluster.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := settings.ClusterClient()
	t.Cleanup(func() { rdb.Close() })
	guard := cache.NewGuard(cache.GuardOptions{CallTimeout: 200 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: time.Minute})
	guard.Install(rdb)
	ctx := context.Background()

	// Keys grouped by the master that holds them.
	byMaster := map[string][]string{}
	for i := range 60 {
		key := fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		master, err := rdb.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		byMaster[master.Options().Addr] = append(byMaster[master.Options().Addr], key)
	}
	if len(byMaster) != 3 {
		t.Fatalf("keys spread over %d masters, want 3", len(byMaster))
	}
	var hung *testenv.RedisServer
	for _, n := range cluster.Nodes {
		if _, ok := byMaster[n.Addr()]; ok {
			hung = n
			break
		}
	}
	hung.Pause()
	t.Cleanup(hung.Resume)

	for i := range 3 {
		if err := rdb.Get(ctx, byMaster[hung.Addr()][0]).Err(); err == nil || errors.Is(err, cache.ErrBypass) {
			t.Fatalf("call %d to the hung shard = %v, want a timeout", i+1, err)
		}
	}
	for addr, keys := range byMaster {
		for _, key := range keys {
			err := rdb.Get(ctx, key).Err()
			switch {
			case addr == hung.Addr() && !errors.Is(err, cache.ErrBypass):
				t.Errorf("GET %s on the hung shard %s = %v, want ErrBypass", key, addr, err)
			case addr != hung.Addr() && err != nil:
				t.Errorf("GET %s on the healthy shard %s = %v, want it served", key, addr, err)
			}
		}
	}
}
