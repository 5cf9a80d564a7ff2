package cache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

func commandCount(t *testing.T, c *redis.Client, cmd string) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "cmdstat_"+cmd+":") {
			var n int
			fmt.Sscanf(strings.TrimPrefix(line, "cmdstat_"+cmd+":"), "calls=%d", &n)
			return n
		}
	}
	return 0
}

// TestReadsGoToTheReader: with a reader endpoint, hits are read from the replica, and a
// replica that lags behind a write this instance has heard of is not believed.
func TestReadsGoToTheReader(t *testing.T) {
	group := testenv.StartReplicated(t)
	p, r := group.P, group.R
	ctx := context.Background()
	guard := cache.NewGuard(cache.GuardOptions{CallTimeout: 3 * time.Second})
	guard.Install(p)
	guard.Install(r)
	c := cache.New(p, cache.Options{Reader: r})
	a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute},
		L1: cache.L1Options{Size: 100, TTL: time.Minute}})
	src := &source{}
	src.write("v1")
	if _, err := a.Get(ctx, "thing:1", src.load); err != nil { // miss: filled on the primary
		t.Fatal(err)
	}
	p.Do(ctx, "WAIT", 1, 1000)
	b := cache.New(p, cache.Options{Reader: r}) // another instance
	bAside := cache.NewAside[item](b, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute},
		L1: cache.L1Options{Size: 100, TTL: time.Minute}})
	before := commandCount(t, r, "get")
	if v, err := bAside.Get(ctx, "thing:1", src.load); err != nil || v.Name != "v1" {
		t.Fatalf("b's read = %+v, %v", v, err)
	}
	if n := commandCount(t, r, "get") - before; n != 1 {
		t.Errorf("GETs on the replica for b's hit = %d, want 1", n)
	}

	// The replica stops following (it lags for ever), then a write goes through the primary
	// and b hears of it: b must read the new version from the primary, not the replica's old one.
	if err := r.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	ctxSub, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.RunInvalidations(ctxSub)
	<-b.Subscribed()
	if err := a.Set(ctx, "thing:1", item{Name: "v2"}, src.write("v2")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Second); b.Lags().Count == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("b never heard of the write")
		}
	}
	if v, err := bAside.Get(ctx, "thing:1", src.load); err != nil || v.Name != "v2" {
		t.Errorf("b after the write = %+v, %v; want v2 although its replica still holds v1", v, err)
	}
}
