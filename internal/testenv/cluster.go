package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of the test's own: three masters with one replica each, on
// loopback ports, as `redis-cli --cluster create … --cluster-replicas 1` makes it.
type Cluster struct {
	Nodes []*RedisServer
}

// StartCluster starts six cluster-enabled redis-servers and joins them into a cluster,
// waiting until every node reports cluster_state:ok. extra arguments go to every node.
func StartCluster(tb testing.TB, extra ...string) *Cluster {
	tb.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		tb.Skip("redis-cli is not installed")
	}
	c := &Cluster{}
	var addrs []string
	for range 6 {
		dir := tb.TempDir()
		n := StartRedis(tb, append([]string{"--cluster-enabled", "yes", "--cluster-config-file", dir + "/nodes.conf",
			"--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0"}, extra...)...)
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr())
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr()})
		deadline := time.Now().Add(20 * time.Second)
		for {
			info, _ := rdb.ClusterInfo(ctx).Result()
			if strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				tb.Fatalf("cluster node %s never reached cluster_state:ok", n.Addr())
			}
			time.Sleep(50 * time.Millisecond)
		}
		rdb.Close()
	}
	// Every shard has its replica attached and in sync.
	rdb := redis.NewClient(&redis.Options{Addr: c.Nodes[0].Addr()})
	defer rdb.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		slots, err := rdb.ClusterSlots(ctx).Result()
		ready := err == nil && len(slots) == 3
		for _, s := range slots {
			ready = ready && len(s.Nodes) == 2
		}
		if ready && c.replicasInSync(ctx) {
			return c
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the cluster's replicas never attached: %v %v", slots, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) replicasInSync(ctx context.Context) bool {
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr()})
		info, _ := rdb.Info(ctx, "replication").Result()
		rdb.Close()
		if strings.Contains(info, "role:slave") && !strings.Contains(info, "master_link_status:up") {
			return false
		}
	}
	return true
}

// URL is the configuration endpoint: any node will do.
func (c *Cluster) URL() string { return fmt.Sprintf("redis://%s/0", c.Nodes[0].Addr()) }
