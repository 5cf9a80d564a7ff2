package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/ratelimit"
)

func TestParseLimit(t *testing.T) {
	good := map[string]ratelimit.Limit{
		"10/min": {10, time.Minute}, "10/m": {10, time.Minute}, "5/s": {5, time.Second}, "20/h": {20, time.Hour},
		"100/day": {100, 24 * time.Hour}, "5/30s": {5, 30 * time.Second}, "off": {}, "0": {},
	}
	for in, want := range good {
		got, err := ratelimit.ParseLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ratelimit.ParseLimit(got.String()); err != nil || back != got {
			t.Errorf("ParseLimit(%q.String() = %q) = %v, %v", in, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "10", "ten/min", "-1/min", "0/min", "10/fortnight", "10/500ms", "10/48h", "2000000/s"} {
		if got, err := ratelimit.ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) = %v, want an error", in, got)
		}
	}
}

// TestAllowShared: attempts from many goroutines on two limiters (two instances) sharing a
// Redis get exactly the limit between them, under the key the caller named with the prefix
// in front, which expires.
func TestAllowShared(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	a, b := ratelimit.New(rdb, prefix), ratelimit.New(rdb, prefix)
	limit := ratelimit.Limit{Count: 10, Period: time.Minute}
	ctx := context.Background()
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			res, err := l.Allow(ctx, "ratelimit:test:k", limit)
			switch {
			case err != nil:
				t.Error(err)
			case res.Allowed:
				allowed.Add(1)
			case res.RetryAfter <= 0 || res.RetryAfter > 6*time.Second:
				t.Errorf("refused with RetryAfter %s, want (0, 6s]", res.RetryAfter)
				fallthrough
			default:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 10 || refused.Load() != 30 {
		t.Errorf("allowed %d, refused %d of 40 concurrent attempts; want 10 and 30", allowed.Load(), refused.Load())
	}
	if ttl, err := rdb.TTL(ctx, prefix+"ratelimit:test:k").Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL of %sratelimit:test:k = %v, %v; want (0, 1m]", prefix, ttl, err)
	}
	if n, _ := rdb.Exists(ctx, "rate:"+prefix+"ratelimit:test:k", "rate:ratelimit:test:k").Result(); n != 0 {
		t.Errorf("redis_rate's own rate: keys exist (%d); want only the prefixed key", n)
	}
	// Off asks nothing.
	if res, err := a.Allow(ctx, "ratelimit:test:k", ratelimit.Limit{}); err != nil || !res.Allowed {
		t.Errorf("Allow with no limit = %+v, %v; want allowed", res, err)
	}
}
