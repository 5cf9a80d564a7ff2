// Package reqstats counts what one HTTP request cost to serve — Postgres queries, Redis round
// trips, and which layer answered for each piece of data — for the "how this page was served"
// bar at the foot of every page. The counters travel in the request's context; the pgx tracer
// and the go-redis hook here fill them in. It holds no metrics for the whole process.
package reqstats

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
)

// Layer names the place that answered for a piece of data.
type Layer string

// The layers, nearest first.
const (
	LayerL1       Layer = "L1"
	LayerRedis    Layer = "Redis"
	LayerPostgres Layer = "Postgres"
	// LayerStale is Redis answering with a value past its TTL because Postgres could not
	// (stale-if-error).
	LayerStale Layer = "stale"
)

// Source says which layer served one piece of data, and how long it may still be served
// from there (0 when it is not cached).
type Source struct {
	Data   string // what was served, e.g. "product:42"
	Layer  Layer
	Result string        // the X-Cache value: HIT-L1, HIT-REDIS, MISS, BYPASS or STALE
	TTLDue time.Duration // time left to live in that layer
}

// Stats are the counters of one request. The methods are safe for concurrent use, and do
// nothing on a nil *Stats, so code outside a request needs no check.
type Stats struct {
	start      time.Time
	dbQueries  atomic.Int64
	redisCalls atomic.Int64
	mu         sync.Mutex
	sources    []Source
}

type ctxKey struct{}

// Start returns a context that carries a new Stats, started now.
func Start(ctx context.Context) (context.Context, *Stats) {
	s := &Stats{start: time.Now()}
	return context.WithValue(ctx, ctxKey{}, s), s
}

// From returns the Stats in ctx, or nil.
func From(ctx context.Context) *Stats {
	s, _ := ctx.Value(ctxKey{}).(*Stats)
	return s
}

// AddSource records that src answered for a piece of data.
func (s *Stats) AddSource(src Source) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.sources = append(s.sources, src)
	s.mu.Unlock()
}

// Result returns the X-Cache result recorded for data, or "" when none was.
func (s *Stats) Result(data string) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, src := range s.sources {
		if src.Data == data {
			return src.Result
		}
	}
	return ""
}

// Snapshot is the state of a Stats at one moment.
type Snapshot struct {
	DBQueries  int64 // Postgres statements sent (a batch counts as one)
	RedisCalls int64 // Redis round trips (a pipeline counts as one)
	Sources    []Source
	Elapsed    time.Duration // since Start
}

// Snapshot returns the counters now; the zero Snapshot for a nil *Stats.
func (s *Stats) Snapshot() Snapshot {
	if s == nil {
		return Snapshot{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return Snapshot{
		DBQueries:  s.dbQueries.Load(),
		RedisCalls: s.redisCalls.Load(),
		Sources:    append([]Source(nil), s.sources...),
		Elapsed:    time.Since(s.start),
	}
}

// PGTracer counts every Postgres statement and batch in the Stats of its context, and calls
// OnQuery (when set) with that context for each, for process-wide metrics. Set it as
// pgx.ConnConfig.Tracer.
type PGTracer struct {
	OnQuery func(ctx context.Context)
}

// TraceQueryStart implements pgx.QueryTracer.
func (t PGTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return t.count(ctx)
}

func (t PGTracer) count(ctx context.Context) context.Context {
	if s := From(ctx); s != nil {
		s.dbQueries.Add(1)
	}
	if t.OnQuery != nil {
		t.OnQuery(ctx)
	}
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (PGTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer: a batch is one round trip.
func (t PGTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.count(ctx)
}

// TraceBatchQuery implements pgx.BatchTracer.
func (PGTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (PGTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// RedisHook counts Redis round trips in the Stats of the command's context: one per command,
// one per pipeline or transaction. Add it with redis.Client.AddHook.
type RedisHook struct{}

// DialHook implements redis.Hook.
func (RedisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (RedisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		From(ctx).addRedis()
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (RedisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		From(ctx).addRedis()
		return next(ctx, cmds)
	}
}

func (s *Stats) addRedis() {
	if s != nil {
		s.redisCalls.Add(1)
	}
}

// ObserveCache is a cache.Observer that records where each cached read was answered, for
// the page's footer and its X-Cache header.
func ObserveCache(ctx context.Context, _, key string, r cache.Result, ttl time.Duration) {
	layer := LayerPostgres
	switch r {
	case cache.HitL1:
		layer = LayerL1
	case cache.HitRedis:
		layer = LayerRedis
	case cache.Stale:
		layer = LayerStale
	}
	From(ctx).AddSource(Source{Data: key, Layer: layer, Result: string(r), TTLDue: ttl})
}
