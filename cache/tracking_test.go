package cache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// TestTrackingRefusesAReadOlderThanAnInvalidation: in the tracking mode, a value read from
// Redis before a change whose invalidation arrives before the value reaches the near cache
// must not be kept there (tracked invalidations carry no version; the sequence check does it).
func TestTrackingRefusesAReadOlderThanAnInvalidation(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := cache.New(rdb, cache.Options{Prefix: prefix, Tracking: true})
	a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute},
		L1: cache.L1Options{Size: 100, TTL: time.Minute}, KeyPrefixes: []string{"thing:"}})
	done := make(chan struct{})
	go func() { defer close(done); c.RunTracking(ctx) }()
	defer func() { cancel(); <-done }()
	<-c.Subscribed()

	key := "thing:1"
	hits := func() int64 {
		for _, s := range c.Stats() {
			if s.Name == "thing" {
				return s.HitsL1
			}
		}
		return 0
	}
	set := func(entry string) {
		t.Helper()
		n := c.Lags().Count
		if err := rdb.Set(ctx, prefix+key, entry, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 20*time.Second, "the tracked invalidation of "+entry, func() bool { return c.Lags().Count > n })
	}
	src := &source{}
	src.write("v1")
	set(`1:{"Name":"v1"}`)
	// The near cache works: some read keeps v1, and the next is answered from it.
	waitUntil(t, 20*time.Second, "a HIT-L1", func() bool {
		before := hits()
		v, err := a.Get(ctx, key, src.load)
		return err == nil && v.Name == "v1" && hits() > before
	})
	set(`2:{"Name":"v2"}`) // by hand: evicts v1 here
	if v, _ := a.Get(ctx, key, src.load); v.Name != "v2" {
		t.Fatalf("after a SET by hand: %q, want v2", v.Name)
	}
	set(`3:{"Name":"v3"}`)

	// A read gets v3 from Redis and is held before its near-cache put while v4 is written.
	reached, release := make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	a.SetBeforeNear(func(string) {
		if held.CompareAndSwap(false, true) {
			close(reached)
			<-release
		}
	})
	got := make(chan item, 1)
	go func() {
		v, _ := a.Get(ctx, key, src.load)
		got <- v
	}()
	<-reached
	set(`4:{"Name":"v4"}`)
	close(release)
	if v := <-got; v.Name != "v3" {
		t.Fatalf("the held read returned %q, want v3 (its Redis reply)", v.Name)
	}
	before := hits()
	v, err := a.Get(ctx, key, src.load)
	if err != nil || v.Name != "v4" || hits() > before {
		t.Errorf("after the held read: %q (L1 hit: %v), %v; want v4 from Redis: the older read must not be kept",
			v.Name, hits() > before, err)
	}
}
