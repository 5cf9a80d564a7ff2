// Package piggyback lets one package add Redis commands to the next pipeline that another
// package sends for the same request, so that a page's Redis reads share one round trip
// without either package knowing the other: the cart count rides along with the session
// read (handlers put the slot in the request's context; orders adds; sessions sends). It
// holds no Redis client and sends nothing itself.
package piggyback

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

type slotKey struct{}

type slot struct {
	mu     sync.Mutex
	queued []func(context.Context, redis.Pipeliner)
}

// With returns ctx with an empty slot for commands to send along.
func With(ctx context.Context) context.Context {
	return context.WithValue(ctx, slotKey{}, &slot{})
}

// Add queues fn, which adds commands to a pipeline, to run when the request's next pipeline
// is built (Send). It returns false, and fn never runs, when ctx has no slot.
func Add(ctx context.Context, fn func(context.Context, redis.Pipeliner)) bool {
	s, _ := ctx.Value(slotKey{}).(*slot)
	if s == nil {
		return false
	}
	s.mu.Lock()
	s.queued = append(s.queued, fn)
	s.mu.Unlock()
	return true
}

// Send adds the queued commands to p, once: the caller then executes p, and each command's
// owner reads its own reply. With no slot or nothing queued it does nothing.
func Send(ctx context.Context, p redis.Pipeliner) {
	s, _ := ctx.Value(slotKey{}).(*slot)
	if s == nil {
		return
	}
	s.mu.Lock()
	queued := s.queued
	s.queued = nil
	s.mu.Unlock()
	for _, fn := range queued {
		fn(ctx, p)
	}
}
