package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/keys"
)

// TestSharedLoadWaitersLeave: callers that share a load each wait only as long as their own
// context — one that gives up returns at once, the others still get the value — and when
// every caller has left, the load's own context is cancelled (its query would be stopped).
func TestSharedLoadWaitersLeave(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	// A lease far longer than the test: only a release frees it.
	_, a := newAside(t, rdb, prefix, cache.AsideOptions{LeaseTTL: 10 * time.Minute})

	started := make(chan struct{}, 4)
	release := make(chan struct{})
	loadEnded := make(chan error, 4)
	load := func(ctx context.Context) (item, int64, error) {
		started <- struct{}{}
		select {
		case <-release:
			return item{Name: "shared"}, 1, nil
		case <-ctx.Done():
			return item{}, 0, ctx.Err()
		}
	}

	// Two callers share one load; the first gives up.
	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := a.Get(impatient, "k1", load); first <- err }()
	<-started
	second := make(chan error, 1)
	var got item
	go func() {
		v, err := a.Get(context.Background(), "k1", load)
		got = v
		second <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); a.Waiters("k1") < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second caller never joined the shared load")
		}
	}
	cancel()
	select {
	case err := <-first:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Get by a caller that gave up = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a caller that gave up is still waiting for the shared load")
	}
	close(release)
	if err := <-second; err != nil || got.Name != "shared" {
		t.Errorf("Get by the caller that stayed = %+v, %v; want the shared value", got, err)
	}
	if n := len(started); n != 0 {
		t.Errorf("%d extra loads, want the second caller to share the first one's", n)
	}

	// Every caller leaves: the load is cancelled, not left to run for nobody.
	gone, cancelAll := context.WithCancel(context.Background())
	done := make(chan error, 1)
	never := func(ctx context.Context) (item, int64, error) {
		started <- struct{}{}
		<-ctx.Done()
		loadEnded <- ctx.Err()
		return item{}, 0, ctx.Err()
	}
	go func() { _, err := a.Get(gone, "k2", never); done <- err }()
	<-started
	cancelAll()
	<-done
	select {
	case err := <-loadEnded:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the abandoned load ended with %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the load still runs after every caller left")
	}
	// and its lease is released, so that another instance need not wait it out.
	lease := prefix + keys.Lease(prefix+"k2")
	for deadline := time.Now().Add(30 * time.Second); rdb.Exists(context.Background(), lease).Val() == 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lease of a load cancelled because every caller left is still held")
		}
	}
}
