package cache

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// ErrBypass is returned by a Redis call the guard skipped because the node's circuit breaker
// is open. Callers treat it like any other Redis error: they fall back (load from Postgres,
// show the page without the figure) and do not count it as a cache error.
var ErrBypass = errors.New("cache: Redis skipped while the circuit breaker is open")

// GuardOptions configure a Guard. The zero value of each field means its default.
type GuardOptions struct {
	CallTimeout     time.Duration // bound on one command or pipeline; default 250 ms
	BreakerFailures uint32        // consecutive failures that open a node's breaker; default 3
	BreakerCooldown time.Duration // how long an open breaker skips its node before a probe; default 2 s
	Logger          *slog.Logger  // optional; breaker state changes are logged
}

// Guard is the one gate every Redis call of the shop passes through, whichever package makes
// it (cache, carts, sessions, leaderboard, page views). Installed on a client as a go-redis
// hook, it gives each command or pipeline a short timeout, and counts failures per node in a
// circuit breaker (sony/gobreaker): after BreakerFailures in a row the node is skipped —
// calls fail at once with ErrBypass — for BreakerCooldown, then one call probes it.
//
// On a Redis Cluster each node has its own breaker, so a dead shard is skipped while the
// healthy ones keep serving. A reply from the server, error replies included (WRONGTYPE,
// a script error, READONLY), shows the node is up and is not a failure; a timeout, a refused
// or broken connection is. A caller that went away (context.Canceled) says nothing about
// Redis. After a failover behind one address it also drops the pooled connections left on
// the demoted node as soon as any of them answers READONLY, EXECABORT, LOADING or
// MASTERDOWN, in a single command, a pipeline or a transaction (nodeConns, failover.go).
// The guard never asks "is Redis up?" on behalf of a package: every package gets an
// error from its own call and falls back from it.
type Guard struct {
	o GuardOptions

	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[struct{}] // by node address
	forced   atomic.Int64                                   // ForceOpen: every call is skipped until then (Unix ns)
}

// ForceOpen makes every call of this process fail at once with ErrBypass until `until`, as
// if every node's breaker were open — fault injection for the Lab's fail-open experiment
// (admin only), which shows the shop serving from Postgres while Redis is "away". A zero
// time ends it. It touches no breaker: when it ends, calls go through as before.
func (g *Guard) ForceOpen(until time.Time) {
	if until.IsZero() {
		g.forced.Store(0)
		return
	}
	g.forced.Store(until.UnixNano())
}

// Forced reports whether ForceOpen is skipping every call now.
func (g *Guard) Forced() bool { return time.Now().UnixNano() < g.forced.Load() }

// NewGuard returns a Guard with no client yet; Install puts it in front of one.
func NewGuard(o GuardOptions) *Guard {
	if o.CallTimeout <= 0 {
		o.CallTimeout = 250 * time.Millisecond
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 3
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 2 * time.Second
	}
	return &Guard{o: o, breakers: map[string]*gobreaker.CircuitBreaker[struct{}]{}}
}

// Install puts the guard in front of every command and pipeline of rdb: a *redis.Client
// gets one breaker for its address; a *redis.ClusterClient one per node, as go-redis
// discovers them. Publish/subscribe connections are long-lived and are not timed out.
func (g *Guard) Install(rdb redis.UniversalClient) {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		c.OnNewNode(func(node *redis.Client) { node.AddHook(g.hook(node.Options().Addr)) })
	case *redis.Client:
		c.AddHook(g.hook(c.Options().Addr))
	default:
		rdb.AddHook(g.hook("redis"))
	}
}

// Available reports whether no node's breaker is open: false while at least one node is
// being skipped. It is for display (/lab, /readyz); calls find out for themselves.
func (g *Guard) Available() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Forced() {
		return false
	}
	for _, b := range g.breakers {
		if b.State() == gobreaker.StateOpen {
			return false
		}
	}
	return true
}

type longCallKey struct{}

// WithCallTimeout returns a context whose Redis calls may take up to d instead of the
// guard's short CallTimeout: for the few calls that are long by nature (a leaderboard
// rebuild's pipelines, a write-behind flush), never for a page's reads.
func WithCallTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, longCallKey{}, d)
}

func (g *Guard) breaker(addr string) *gobreaker.CircuitBreaker[struct{}] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.breakers[addr]; ok {
		return b
	}
	b := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         "redis " + addr,
		MaxRequests:  1,
		Timeout:      g.o.BreakerCooldown,
		ReadyToTrip:  func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= g.o.BreakerFailures },
		IsSuccessful: answered,
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if g.o.Logger != nil {
				g.o.Logger.Warn("cache: circuit breaker", "node", name, "from", from.String(), "to", to.String())
			}
		},
	})
	g.breakers[addr] = b
	return b
}

// answered reports whether err means the server answered: no error, or an error reply.
func answered(err error) bool {
	var reply redis.Error
	return err == nil || errors.As(err, &reply)
}

// guardedKey marks a context already inside the guard. go-redis sends a new connection's
// handshake (HELLO, AUTH, SELECT) through the client's hooks, inside the call that dialled
// it: that is part of the call, not another one. Counted as another, it would be refused
// while the breaker is half-open and lets only the probe through — and the probe, needing a
// new connection, could then never succeed.
type guardedKey struct{}

// run runs one round trip under the node's breaker and the call timeout.
func (g *Guard) run(ctx context.Context, b *gobreaker.CircuitBreaker[struct{}], fn func(context.Context) error) error {
	if ctx.Value(guardedKey{}) != nil {
		return fn(ctx)
	}
	if g.Forced() {
		return ErrBypass
	}
	ctx = context.WithValue(ctx, guardedKey{}, true)
	var callErr error
	_, err := b.Execute(func() (struct{}, error) {
		timeout := g.o.CallTimeout
		if d, ok := ctx.Value(longCallKey{}).(time.Duration); ok {
			timeout = d
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		callErr = fn(ctx)
		return struct{}{}, callErr
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrBypass
	}
	return callErr
}

// hook is the guard of one node.
func (g *Guard) hook(addr string) redis.Hook {
	return guardHook{g: g, b: g.breaker(addr), node: &nodeConns{addr: addr, log: g.o.Logger}}
}

type guardHook struct {
	g    *Guard
	b    *gobreaker.CircuitBreaker[struct{}]
	node *nodeConns
}

// DialHook marks each new connection with the node's generation (see nodeConns).
func (h guardHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			return conn, err
		}
		return h.node.wrap(conn), nil
	}
}

func (h guardHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := h.g.run(ctx, h.b, func(ctx context.Context) error { return next(ctx, cmd) })
		if errors.Is(err, ErrBypass) {
			cmd.SetErr(err)
		}
		h.node.check(cmd)
		return err
	}
}

func (h guardHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := h.g.run(ctx, h.b, func(ctx context.Context) error { return next(ctx, cmds) })
		if errors.Is(err, ErrBypass) {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
		}
		h.node.check(cmds...)
		return err
	}
}
