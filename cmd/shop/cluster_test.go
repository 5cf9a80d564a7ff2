package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
)

// TestClusterMode runs two shops on a three-shard Redis Cluster (cluster mode enabled):
// the shopper journey with its sessions, the leaderboard, invalidation between the
// instances, and a shard's failover.
func TestClusterMode(t *testing.T) {
	cluster := testenv.StartCluster(t)
	dbURL := testenv.SeededDBURL(t)
	env := func() map[string]string {
		return map[string]string{"SHOP_DATABASE_URL": dbURL, "SHOP_REDIS_URL": cluster.URL(),
			"SHOP_REDIS_MODE": "cluster", "SHOP_SEED": "false", "SHOP_REDIS_KEY_PREFIX": ""}
	}
	a, b := startShop(t, env()), startShop(t, env())
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{cluster.Nodes[0].Addr()}, ClusterStateReloadInterval: time.Second})
	defer cc.Close()

	journey(t, a, "cluster@example.com") // sessions, cart, checkout

	// The leaderboard was built at start and moved by the checkout (2 units of product 1).
	var units float64
	pool := testenv.Pool(t, dbURL)
	pool.QueryRow(ctx, `SELECT sum(quantity) FROM order_items WHERE product_id = 1`).Scan(&units)
	waitUntil(t, 2*time.Second, "the all-time board equals the SQL sum for product 1", func() bool {
		score, err := cc.ZScore(ctx, "lb:{bestsellers}:all", "1").Result()
		return err == nil && score == units
	})

	// A change made in Postgres reaches both instances, through the cluster's pub/sub.
	for _, base := range []string{a, b} {
		body(t, base+"/products/3")
		body(t, base+"/products/3")
	}
	if _, err := pool.Exec(ctx, `UPDATE products SET name = 'CLUSTERED NAME' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{a, b} {
		waitUntil(t, time.Second, base+" serves the change", func() bool {
			_, page := body(t, base+"/products/3")
			return strings.Contains(page, "Clustered Name")
		})
	}

	// Fail one shard over: its replica takes over; writes everywhere work again within 5 s.
	replica := replicaOfSlot(t, cc, cc.ClusterKeySlot(ctx, "views:pending").Val())
	if err := replica.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitUntil(t, 5*time.Second, "a product view is counted on the failed-over shard", func() bool {
		resp, err := http.Get(a + "/products/4")
		if err != nil {
			return false
		}
		resp.Body.Close()
		n, err := cc.HGet(ctx, "views:pending", "4").Int()
		return err == nil && n > 0
	})
	t.Logf("the shard's writes recovered %v after CLUSTER FAILOVER", time.Since(start).Round(time.Millisecond))
	journey(t, b, "after-failover@example.com")

	// Now kill that shard's (new) master outright: the cluster promotes its replica once the
	// node timeout (2 s here) passes, and the shop finds it by reloading the layout every
	// second.
	master := masterOfSlot(t, cluster, cc, cc.ClusterKeySlot(ctx, "views:pending").Val())
	master.Stop()
	start = time.Now()
	waitUntil(t, 15*time.Second, "views are counted again after the shard's master died", func() bool {
		resp, err := http.Get(a + "/products/5")
		if err != nil {
			return false
		}
		resp.Body.Close()
		n, err := cc.HGet(ctx, "views:pending", "5").Int()
		return err == nil && n > 0
	})
	t.Logf("the shard's writes recovered %v after its master was killed (node timeout 2 s)", time.Since(start).Round(time.Millisecond))
}

// masterOfSlot returns the node of cluster that is the master of slot now.
func masterOfSlot(t *testing.T, cluster *testenv.Cluster, cc *redis.ClusterClient, slot int64) *testenv.RedisServer {
	t.Helper()
	slots, err := cc.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			for _, n := range cluster.Nodes {
				if n.Addr() == s.Nodes[0].Addr {
					return n
				}
			}
		}
	}
	t.Fatalf("no master for slot %d", slot)
	return nil
}

// replicaOfSlot returns a client of a replica of the master that serves slot.
func replicaOfSlot(t *testing.T, cc *redis.ClusterClient, slot int64) *redis.Client {
	t.Helper()
	slots, err := cc.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 1 {
			c := redis.NewClient(&redis.Options{Addr: s.Nodes[1].Addr})
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	t.Fatalf("no replica serves slot %d", slot)
	return nil
}
