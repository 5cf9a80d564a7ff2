package pageviews

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/shopcache/shop/cache"
)

// Buffer is the first stage of the write-behind path: it counts views in the process and
// sends them to Redis (HINCRBY views:pending, exactly what View does for one view) in one
// pipeline every interval; the Flusher is the second stage (Redis → Postgres). A product
// page therefore makes no Redis round trip to count its view, and reads its rank and views
// from a short-lived local copy that each batch refreshes with what Redis answered.
//
// What a crash can lose: the views this instance counted since its last batch reached Redis
// — one interval's worth (100 ms by default) while Redis answers. While Redis does not
// answer, the unsent counts stay in the buffer (one number per product, so memory is bounded
// by the number of products, at most maxBuffered of them) and are sent once it answers; a
// crash during such an outage loses them all. A graceful Stop loses nothing: it sends what is
// buffered, retrying until its context ends, and when Redis is still away it writes the
// counts straight to Postgres (ApplyDirect, through the same ledger as a flush).
//
// A batch whose reply was lost after Redis applied it (a timeout in the middle of reading
// the replies) is sent again for the commands that got no reply: those views, at most one
// interval's worth, count twice rather than not at all.
//
// The views a page shows are those of the local copy (flushed plus pending in Redis when it
// was read, all instances) plus this instance's views not yet in it: every instance's views
// appear within one interval plus the copy's freshness (staleAfter). The rank is at most as
// old.
type Buffer struct {
	rdb      redis.UniversalClient
	rank     RankQueuer
	c        *Counter
	interval time.Duration
	log      *slog.Logger

	mu         sync.Mutex
	unsent     map[int64]int64 // views counted here, not yet sent
	inflight   map[int64]int64 // views of the batch being sent
	local      map[int64]localStats
	refreshing map[int64]bool
	seq        uint64 // orders reads: an older read never replaces a newer copy
	st         BufferStatus

	reads  singleflight.Group
	cancel context.CancelFunc
	done   chan struct{}
}

// localStats is the local copy of one product's Stats, as Redis answered at seq.
type localStats struct {
	Stats
	at  time.Time
	seq uint64
}

// BufferStatus is what /lab shows of the first write-behind stage.
type BufferStatus struct {
	Interval    time.Duration
	Buffered    int64     // views counted here, not yet in Redis (sent or in flight)
	Batches     int64     // batches sent since start
	LastBatch   time.Time // when the last batch reached Redis
	LastViews   int64     // views in it
	Errors      int64     // batches (or parts of them) Redis did not take; kept and re-sent
	LastError   string
	LastErrorAt time.Time
	Dropped     int64 // views not counted because the buffer held maxBuffered products already
}

const (
	// staleAfter is how long a local copy of a product's rank and views is used before it
	// is read again (in the background; the page does not wait).
	staleAfter = time.Second
	// maxLocal bounds the local copies (one small struct per product viewed).
	maxLocal = 100_000
	// maxBuffered bounds the products with unsent views while Redis is away; a view of one
	// more product is dropped, counted in Dropped and logged.
	maxBuffered = 100_000
	// batchCallTimeout bounds the round trip of one batch (one command per product viewed).
	batchCallTimeout = 2 * time.Second
)

// NewBuffer returns a Buffer that sends views to c every interval (which must be positive)
// and reads ranks with rank; rdb is the client c and the board use.
func NewBuffer(rdb redis.UniversalClient, rank RankQueuer, c *Counter, interval time.Duration, logger *slog.Logger) *Buffer {
	return &Buffer{
		rdb: rdb, rank: rank, c: c, interval: interval, log: logger,
		unsent: map[int64]int64{}, local: map[int64]localStats{}, refreshing: map[int64]bool{},
		st: BufferStatus{Interval: interval},
	}
}

// View counts one view of product id in the buffer and returns its Stats. With a local copy
// it makes no Redis call (a copy older than staleAfter is read again in the background);
// without one it reads rank and views in one round trip, and returns Redis's error when
// Redis does not answer (the view is counted all the same).
func (b *Buffer) View(ctx context.Context, id int64) (Stats, error) {
	b.mu.Lock()
	if _, ok := b.unsent[id]; ok || len(b.unsent) < maxBuffered {
		b.unsent[id]++
	} else {
		b.st.Dropped++
		if b.st.Dropped == 1 || b.st.Dropped%10_000 == 0 {
			b.log.Error("views: buffer full while Redis is away; views dropped", "dropped", b.st.Dropped)
		}
	}
	st, ok := b.local[id]
	stale := ok && time.Since(st.at) > staleAfter && !b.refreshing[id]
	if stale {
		b.refreshing[id] = true
	}
	extra := b.unsent[id] + b.inflight[id]
	b.mu.Unlock()
	if ok {
		if stale {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), batchCallTimeout)
				defer cancel()
				if _, err := b.read(ctx, id); err != nil {
					b.log.Debug("views: background read failed", "product", id, "err", err)
				}
				b.mu.Lock()
				delete(b.refreshing, id)
				b.mu.Unlock()
			}()
		}
		s := st.Stats
		s.Views += extra
		return s, nil
	}
	s, err := b.read(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	b.mu.Lock()
	s.Views += b.unsent[id] + b.inflight[id]
	b.mu.Unlock()
	return s, nil
}

// read reads product id's rank and views (flushed plus pending) in one round trip into its
// local copy; concurrent reads of one product share it.
func (b *Buffer) read(ctx context.Context, id int64) (Stats, error) {
	ch := b.reads.DoChan(fmt.Sprint(id), func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		b.mu.Lock()
		b.seq++
		seq := b.seq
		b.mu.Unlock()
		p := b.rdb.Pipeline()
		rank := b.rank(ctx, p, id)
		views := b.c.queueAdd(ctx, p, id, 0)
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return Stats{}, fmt.Errorf("pageviews: stats of %d: %w", id, err)
		}
		place, units, err := rank()
		if err != nil {
			return Stats{}, err
		}
		n, err := views(ctx)
		if err != nil {
			return Stats{}, err
		}
		s := Stats{Rank: place, Units: units, Views: n}
		b.mu.Lock()
		b.keep(id, s, seq)
		b.mu.Unlock()
		return s, nil
	})
	select {
	case <-ctx.Done():
		return Stats{}, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return Stats{}, r.Err
		}
		return r.Val.(Stats), nil
	}
}

// keep stores s as product id's local copy unless a newer read is there. b.mu is held.
func (b *Buffer) keep(id int64, s Stats, seq uint64) {
	if old, ok := b.local[id]; ok && old.seq > seq {
		return
	}
	if _, ok := b.local[id]; !ok && len(b.local) >= maxLocal {
		for k := range b.local { // drop one arbitrary copy; it is read again when needed
			delete(b.local, k)
			break
		}
	}
	b.local[id] = localStats{Stats: s, at: time.Now(), seq: seq}
}

// Start sends the buffered views every interval until Stop.
func (b *Buffer) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go func() {
		defer close(b.done)
		t := time.NewTicker(b.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := b.send(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn("views: batch not taken by Redis; kept for the next one", "err", err)
			}
		}
	}()
}

// Send sends what is buffered now, in one pipeline. What Redis did not take stays buffered
// for the next batch; the error says why.
func (b *Buffer) Send(ctx context.Context) error { return b.send(ctx) }

func (b *Buffer) send(ctx context.Context) error {
	b.mu.Lock()
	if b.inflight != nil { // another send is running (Stop's, racing the ticker's last)
		b.mu.Unlock()
		return nil
	}
	if len(b.unsent) == 0 {
		b.mu.Unlock()
		return nil
	}
	batch := b.unsent
	b.inflight, b.unsent = batch, make(map[int64]int64, len(batch))
	b.seq++
	seq := b.seq
	b.mu.Unlock()

	ctx = cache.WithCallTimeout(ctx, batchCallTimeout)
	type queued struct {
		id, n   int64
		rank    func() (int, int64, error)
		pending *redis.IntCmd
		views   func(context.Context) (int64, error)
	}
	q := make([]queued, 0, len(batch))
	p := b.rdb.Pipeline()
	for id, n := range batch {
		e := queued{id: id, n: n, rank: b.rank(ctx, p, id)}
		e.pending, e.views = b.c.queueAddCmd(ctx, p, id, n)
		q = append(q, e)
	}
	_, _ = p.Exec(ctx) // each command's error is read below

	fresh := map[int64]Stats{}
	failed := map[int64]int64{}
	var sent int64
	var firstErr error
	for _, e := range q {
		if err := e.pending.Err(); err != nil {
			// No reply to this HINCRBY: kept and sent again (see the type's comment).
			failed[e.id] = e.n
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		sent += e.n
		views, err := e.views(ctx)
		if err != nil {
			continue // counted; the local copy is read again when stale
		}
		place, units, err := e.rank()
		if err != nil {
			continue
		}
		fresh[e.id] = Stats{Rank: place, Units: units, Views: views}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for id, s := range fresh {
		b.keep(id, s, seq)
	}
	for id, n := range failed {
		b.unsent[id] += n // re-sent with the next batch
	}
	b.inflight = nil
	if sent > 0 {
		b.st.Batches++
		b.st.LastBatch, b.st.LastViews = time.Now(), sent
	}
	if firstErr != nil {
		b.st.Errors++
		b.st.LastError, b.st.LastErrorAt = firstErr.Error(), time.Now()
		return fmt.Errorf("views: batch: %d of %d products not taken: %w", len(failed), len(batch), firstErr)
	}
	return nil
}

// Stop ends the periodic batches and sends what is buffered, retrying until two seconds
// before ctx's deadline (for 5 s when it has none). If Redis still has not taken it then
// (or ctx ended), the counts are written straight to Postgres (Counter.ApplyDirect) so
// that a graceful stop loses nothing; the error says what, if anything, could be written
// nowhere.
func (b *Buffer) Stop(ctx context.Context) error {
	if b.cancel != nil {
		b.cancel()
		<-b.done
	}
	pause := 50 * time.Millisecond
	giveUp := time.Now().Add(5 * time.Second) // without a deadline in ctx
	if d, ok := ctx.Deadline(); ok {
		giveUp = d.Add(-2 * time.Second) // leave time for the direct write and the flush
	}
	var err error
	for {
		if err = b.send(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(giveUp) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
	b.mu.Lock()
	rest := b.unsent
	b.unsent = map[int64]int64{}
	b.mu.Unlock()
	b.log.Warn("views: Redis did not take the last batch at shutdown; writing it to Postgres", "products", len(rest), "err", err)
	// The direct write gets its own short deadline: the shutdown's may have run out waiting.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if derr := b.c.ApplyDirect(pctx, rest); derr != nil {
		return fmt.Errorf("views: %d products' views lost at shutdown: Redis: %v; Postgres: %w", len(rest), err, derr)
	}
	return nil
}

// Status returns the buffer's counters.
func (b *Buffer) Status() BufferStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	for _, n := range b.unsent {
		s.Buffered += n
	}
	for _, n := range b.inflight {
		s.Buffered += n
	}
	return s
}
