package cache

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/shopcache/shop/keys"
)

// SharedOptions configure a Shared. The zero value of each field means its default.
type SharedOptions struct {
	LeaseTTL  time.Duration // longest a process may hold a key's lease; default 2 s
	LeaseWait time.Duration // how long others poll for the holder's value; default 200 ms
	Timeout   time.Duration // bound on one shared computation, whoever waits for it; default 5 s
}

// Shared gives the stampede protection of Aside — singleflight in the process, a lease
// across processes — to values that their owner computes and stores itself, in its own
// format (a field of a hash, a sorted set), rather than as a cache-aside entry. The
// leaderboard's computed top-N lists use it: a cold list met by 200 concurrent pages is
// computed once, not once per page.
//
// The lease is the same SET lease:{key} token NX PX as Aside's. Whoever holds it computes
// (and stores, in compute); the others poll read for up to LeaseWait, then compute for
// themselves. The lease is released once the value is stored, so the next miss (after the
// owner deleted the value) does not wait for it to expire.
type Shared[T any] struct {
	rdb    redis.UniversalClient
	prefix string
	o      SharedOptions
	group  singleflight.Group
}

// NewShared returns a Shared whose leases are keys of rdb starting with prefix.
func NewShared[T any](rdb redis.UniversalClient, prefix string, o SharedOptions) *Shared[T] {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 2 * time.Second
	}
	if o.LeaseWait <= 0 {
		o.LeaseWait = 200 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	return &Shared[T]{rdb: rdb, prefix: prefix, o: o}
}

// Get returns the value named key: read's, when it has it (ok); else compute's, computed
// once at a time in this process and, while Redis answers, by one process at a time. key
// is the full Redis key the value lives under (with a hash field after it, if any), and
// names its lease. read's error (Redis away) is returned as is, for the caller to fall
// back from. A caller whose ctx ends stops waiting; the computation goes on, within
// SharedOptions.Timeout, for the others.
func (s *Shared[T]) Get(ctx context.Context, key string, read func(context.Context) (T, bool, error), compute func(context.Context) (T, error)) (T, error) {
	if v, ok, err := read(ctx); ok || err != nil {
		return v, err
	}
	ch := s.group.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.Timeout)
		defer cancel()
		return s.leased(ctx, key, read, compute)
	})
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	}
}

// leased computes under key's lease, or waits for the holder's value.
func (s *Shared[T]) leased(ctx context.Context, key string, read func(context.Context) (T, bool, error), compute func(context.Context) (T, error)) (T, error) {
	// Again: a computation that ended just before this one began may have stored it.
	if v, ok, err := read(ctx); ok {
		return v, nil
	} else if err != nil {
		return compute(ctx)
	}
	lease := s.prefix + keys.Lease(key)
	token := newToken()
	got, err := s.rdb.SetNX(ctx, lease, token, s.o.LeaseTTL).Result()
	if err != nil {
		return compute(ctx)
	}
	if got {
		defer func() { _ = releaseScript.Run(context.WithoutCancel(ctx), s.rdb, []string{lease}, token).Err() }()
		return compute(ctx)
	}
	deadline := time.Now().Add(s.o.LeaseWait)
	pause := 2 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
		v, ok, err := read(ctx)
		if ok {
			return v, nil
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			break
		}
	}
	return compute(ctx) // the holder took too long, or Redis stopped answering
}
