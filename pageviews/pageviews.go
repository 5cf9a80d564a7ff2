// Package pageviews counts product page views with write-behind (write-back): a view is one
// HINCRBY in Redis, so the page never waits for Postgres, and a background Flusher moves the
// counts to Postgres in batches every few seconds and on graceful shutdown. It holds the
// counter, the flusher and its status, and the read of a product page's live numbers
// (Reader: rank and views in one round trip); it knows nothing of HTTP. In the shop a view
// first waits in the process: Buffer (buffer.go) counts views in memory and sends them, as
// the same HINCRBYs, in one pipeline every 100 ms — the first of two write-behind stages,
// whose losses its doc states; everything below is the second.
//
// # No loss, no double count: claimed batches and a ledger
//
// Write-behind's known risk is losing what the cache holds when it dies before it persists.
// Here a crash at any point neither loses nor double-counts a view:
//
//  1. A view is HINCRBY views:pending <product id> 1.
//  2. A flush claims the pending counts atomically (one script on the one hash): it moves
//     every product field into one field batch:<batch id> = "id=n,id=n,…" and deletes them.
//     New views go on landing in fresh product fields.
//  3. It applies the batch in one Postgres transaction that inserts the batch id into the
//     view_batches ledger (its primary key) and adds the counts to product_views. A batch
//     whose id is already in the ledger adds nothing.
//  4. After the commit it updates the cached totals (below) and deletes the batch field.
//
// Every flush first re-applies the batch fields left behind: its own at once (a flush that
// Postgres refused), another process's once older than a minute (it was killed between 2
// and 4), and at start-up all of them; the ledger makes that safe even when the batch was in
// fact committed, or when two instances re-apply the same batch at once (the second insert of
// the id waits for the first transaction and then does nothing). Two instances flushing at
// once claim disjoint batches. A refused flush leaves its batch in Redis for the next one.
//
// The other design — a Redis Stream with a consumer group and idempotent upserts — costs an
// entry per view (tens of bytes each) and a ledger of entry ids; a hash holds one field per
// product however many views it gets, and one ledger row per flush.
//
// # Keys, and why views:pending keeps its name
//
// Everything the claim touches lives in the one hash views:pending (product fields and batch
// fields), so the claim and the deletes are single-key commands and need no hash tag on
// cluster mode enabled. views:pending has no TTL: it is a write buffer, not a cached copy, and
// with a TTL the volatile-lru policy could evict it, which would lose views. The flushed
// totals are cached separately in views:total (a hash, product id → views in Postgres, TTL 1 h
// renewed on write), filled after each commit and on a miss from Postgres; they only ever rise.
// A product page shows total + pending in one pipeline; a batch in flight is briefly in
// neither (the count dips for the length of one flush, it never doubles).
//
// # If Redis itself loses data
//
// What Redis loses is lost: the views of at most one flush interval (5 s by default) plus the
// flush in flight, or everything pending if Postgres had been refusing flushes; never
// anything already in Postgres. A failover to a replica that lagged behind the primary can
// also bring back product fields that a lost claim had moved into a batch already applied:
// those views, one replication lag's worth (typically well under a second), count twice.
// Issuing WAIT 1 after the claim, before applying it, would close that on a replicated group;
// it is not done here.
package pageviews

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/keys"
)

// totalTTL is how long the cached totals live after their last write.
const totalTTL = time.Hour

// batchPrefix starts the field of a claimed batch in the pending hash.
const batchPrefix = "batch:"

// flushCallTimeout bounds one Redis round trip of a flush.
const flushCallTimeout = 10 * time.Second

// Counter records views in Redis and reads view counts. It is safe for concurrent use.
type Counter struct {
	rdb    redis.UniversalClient
	pool   *pgxpool.Pool
	prefix string
	fills  singleflight.Group // concurrent misses of one product's total make one query
}

// NewCounter returns a Counter over rdb and pool whose keys start with prefix.
func NewCounter(rdb redis.UniversalClient, pool *pgxpool.Pool, prefix string) *Counter {
	return &Counter{rdb: rdb, pool: pool, prefix: prefix}
}

// PendingKey is the hash of pending counts and claimed batches: views:pending after the prefix.
func (c *Counter) PendingKey() string { return c.prefix + keys.ViewsPending }

func (c *Counter) totalKey() string { return c.prefix + keys.ViewsTotal }

// QueueView queues, in p, one view of product id and the read of its flushed total; the
// returned function, called after p is executed, gives the product's views (flushed plus
// pending, this one included). On a cache miss of the flushed total it asks Postgres once.
func (c *Counter) QueueView(ctx context.Context, p redis.Pipeliner, id int64) func(context.Context) (int64, error) {
	return c.queueAdd(ctx, p, id, 1)
}

// queueAdd queues, in p, n views of product id (HINCRBY views:pending; n = 0 only reads the
// pending count, HGET) and the read of its flushed total, like QueueView.
func (c *Counter) queueAdd(ctx context.Context, p redis.Pipeliner, id, n int64) func(context.Context) (int64, error) {
	_, get := c.queueAddCmd(ctx, p, id, n)
	return get
}

// queueAddCmd is queueAdd that also returns the HINCRBY (nil when n = 0), whose own reply
// says whether Redis took the views.
func (c *Counter) queueAddCmd(ctx context.Context, p redis.Pipeliner, id, n int64) (*redis.IntCmd, func(context.Context) (int64, error)) {
	field := strconv.FormatInt(id, 10)
	var pending *redis.IntCmd
	var read *redis.StringCmd
	if n > 0 {
		pending = p.HIncrBy(ctx, c.PendingKey(), field, n)
	} else {
		read = p.HGet(ctx, c.PendingKey(), field)
	}
	total := p.HGet(ctx, c.totalKey(), field)
	return pending, func(ctx context.Context) (int64, error) {
		var n int64
		var err error
		if pending != nil {
			n, err = pending.Result()
		} else if n, err = read.Int64(); errors.Is(err, redis.Nil) {
			n, err = 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("views: count view of %d: %w", id, err)
		}
		t, err := total.Int64()
		if errors.Is(err, redis.Nil) {
			t, err = c.fillTotal(ctx, id)
		}
		if err != nil {
			return 0, fmt.Errorf("views: total of %d: %w", id, err)
		}
		return n + t, nil
	}
}

// View records one view of product id and returns its views, flushed plus pending.
func (c *Counter) View(ctx context.Context, id int64) (int64, error) {
	p := c.rdb.Pipeline()
	get := c.QueueView(ctx, p, id)
	_, _ = p.Exec(ctx) // each command's error is read by get
	return get(ctx)
}

// Flushed returns the views of product id that are in Postgres (flushed), read from
// Postgres itself, not from the total cache: what a Redis crash would leave.
func (c *Counter) Flushed(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := c.pool.QueryRow(ctx, `SELECT coalesce((SELECT views FROM product_views WHERE product_id = $1), 0)`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("views: flushed views of %d: %w", id, err)
	}
	return n, nil
}

// fillTotal reads product id's flushed views from Postgres into the total cache; concurrent
// calls for one product in this process share one query.
func (c *Counter) fillTotal(ctx context.Context, id int64) (int64, error) {
	v, err, _ := c.fills.Do(strconv.FormatInt(id, 10), func() (any, error) {
		return c.loadTotal(context.WithoutCancel(ctx), id)
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

func (c *Counter) loadTotal(ctx context.Context, id int64) (int64, error) {
	// Another flight may have filled it since this caller missed: look again first.
	if n, err := c.rdb.HGet(ctx, c.totalKey(), strconv.FormatInt(id, 10)).Int64(); err == nil {
		return n, nil
	}
	var n int64
	err := c.pool.QueryRow(ctx, `SELECT coalesce((SELECT views FROM product_views WHERE product_id = $1), 0)`, id).Scan(&n)
	if err != nil {
		return 0, err
	}
	if err := c.setTotals(ctx, map[int64]int64{id: n}); err != nil {
		return n, nil // the count is right; only the cache fill failed
	}
	return n, nil
}

// setMaxScript raises fields of hash KEYS[1] to the values in ARGV (field, value pairs after
// ARGV[1], the TTL in ms), never lowering one, and renews the TTL. Totals only rise, so a
// slow writer with an older total cannot undo a newer one.
var setMaxScript = redis.NewScript(`
for i = 2, #ARGV, 2 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i+1]) > cur then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`)

func (c *Counter) setTotals(ctx context.Context, totals map[int64]int64) error {
	if len(totals) == 0 {
		return nil
	}
	args := make([]any, 0, 1+2*len(totals))
	args = append(args, totalTTL.Milliseconds())
	for id, n := range totals {
		args = append(args, id, n)
	}
	return setMaxScript.Run(ctx, c.rdb, []string{c.totalKey()}, args...).Err()
}

// Pending is what waits in Redis to be written to Postgres.
type Pending struct {
	Views      int64 // pending views, not yet claimed by a flush
	Products   int   // products with pending views
	Batches    int   // claimed batches not yet deleted: in flight, or left by a failed flush
	BatchViews int64 // views in those batches
}

// Pending reads the pending counts and batches (one HGETALL).
func (c *Counter) Pending(ctx context.Context) (Pending, error) {
	all, err := c.rdb.HGetAll(ctx, c.PendingKey()).Result()
	if err != nil {
		return Pending{}, fmt.Errorf("views: pending: %w", err)
	}
	var p Pending
	for f, v := range all {
		if strings.HasPrefix(f, batchPrefix) {
			counts, err := parseBatch(v)
			if err != nil {
				return Pending{}, err
			}
			p.Batches++
			for _, n := range counts {
				p.BatchViews += n
			}
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		p.Views += n
		p.Products++
	}
	return p, nil
}

// claimScript moves every product field of the pending hash KEYS[1] into the one field
// "batch:"..ARGV[1] ("id=n,id=n,…") and returns that value, or nil when nothing is pending.
var claimScript = redis.NewScript(`
local all = redis.call('HGETALL', KEYS[1])
local parts, fields = {}, {}
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 6) ~= 'batch:' then
    parts[#parts+1] = f .. '=' .. all[i+1]
    fields[#fields+1] = f
  end
end
if #fields == 0 then return false end
for i = 1, #fields, 1000 do
  redis.call('HDEL', KEYS[1], unpack(fields, i, math.min(i + 999, #fields)))
end
local v = table.concat(parts, ',')
redis.call('HSET', KEYS[1], 'batch:' .. ARGV[1], v)
return v`)

// parseBatch decodes "id=n,id=n,…".
func parseBatch(v string) (map[int64]int64, error) {
	counts := map[int64]int64{}
	for part := range strings.SplitSeq(v, ",") {
		id, n, ok := strings.Cut(part, "=")
		pid, err1 := strconv.ParseInt(id, 10, 64)
		views, err2 := strconv.ParseInt(n, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("views: bad batch entry %q", part)
		}
		counts[pid] += views
	}
	return counts, nil
}

// newBatchID returns "<unix ms>-<16 hex>": unique, and dated so that a left-behind batch's
// age is known.
func newBatchID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return strconv.FormatInt(now.UnixMilli(), 10) + "-" + hex.EncodeToString(b[:])
}

func batchTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}

// Step is a point in a flush after which a test may stop it, as a crash would.
type Step int

// The steps of applying one batch.
const (
	StepClaimed   Step = iota + 1 // the batch field exists; Postgres has nothing
	StepCommitted                 // Postgres committed the batch and its ledger row
	StepCached                    // the totals cache holds the new totals
	StepDeleted                   // the batch field is gone: done
)

// Status is what /lab shows of the write-behind path.
type Status struct {
	Pending                  // now, from Redis (zero when Redis did not answer)
	PendingErr        string // why Pending is missing, if it is
	Interval          time.Duration
	LastFlush         time.Time // end of the last flush that wrote a batch; zero before
	LastBatchViews    int64     // views in that batch
	LastBatchProducts int       // products in that batch
	Flushes           int64     // batches written since start
	Errors            int64     // flushes that failed since start
	LastError         string    // the last failure, e.g. Postgres refusing
	LastErrorAt       time.Time
	// Buffer is the first stage (process → Redis) of this instance; nil when views go to
	// Redis one by one (SHOP_VIEWS_BATCH_INTERVAL=0). The app sets it.
	Buffer *BufferStatus
}

// Flusher moves pending views to Postgres every interval, and once more on Stop.
type Flusher struct {
	c        *Counter
	interval time.Duration
	log      *slog.Logger
	hook     func(context.Context, Step) error // tests: an error stops the flush there

	mu       sync.Mutex      // serialises flushes of this instance
	mine     map[string]bool // batches this instance claimed and has not finished: retried at once
	statusMu sync.Mutex
	status   Status
	pruned   time.Time

	cancel context.CancelFunc
	done   chan struct{}
}

// NewFlusher returns a Flusher of c's counts every interval (which must be positive).
func NewFlusher(c *Counter, interval time.Duration, logger *slog.Logger) *Flusher {
	return &Flusher{c: c, interval: interval, log: logger, mine: map[string]bool{}, status: Status{Interval: interval}}
}

// orphanAge is how old a batch field must be before a running flusher re-applies it: older
// than any flush in progress could be.
const orphanAge = time.Minute

// Start re-applies every batch left behind (before it returns: the views are recovered
// before the shop serves), then flushes every interval until Stop.
func (f *Flusher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	// What a crashed process left is applied before Start returns; then the periodic flushes.
	if err := f.flush(ctx, 0); err != nil {
		f.log.Warn("views: flush at start failed; will retry", "err", err)
	}
	go func() {
		defer close(f.done)
		t := time.NewTicker(f.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := f.flush(ctx, orphanAge); err != nil && ctx.Err() == nil {
				f.log.Warn("views: flush failed; the batch stays in Redis for the next one", "err", err)
			}
		}
	}()
}

// Stop ends the periodic flushes and flushes what is pending one last time, within ctx. A
// flush that fails (Redis skipped by its circuit breaker for a few seconds, Postgres
// restarting) is tried again until ctx ends: a graceful stop loses no view that it could
// still write. It returns the last error when ctx ended first; the batch then stays in Redis
// for the next start.
func (f *Flusher) Stop(ctx context.Context) error {
	if f.cancel != nil {
		f.cancel()
		<-f.done
	}
	pause := 100 * time.Millisecond
	for {
		err := f.flush(ctx, orphanAge)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// Flush re-applies this flusher's unfinished batches and other batches left behind for
// longer than a minute, then claims and applies what is pending now. It returns the first
// error; what it could not apply stays in Redis for the next flush.
func (f *Flusher) Flush(ctx context.Context) error { return f.flush(ctx, orphanAge) }

// FlushAll is Flush re-applying every batch left behind whatever its age, as a flusher does
// when it starts: a batch still being applied by another instance is safe to apply too (the
// ledger lets only one of the two count it).
func (f *Flusher) FlushAll(ctx context.Context) error { return f.flush(ctx, 0) }

func (f *Flusher) flush(ctx context.Context, minAge time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.flushLocked(ctx, minAge)
	if err != nil {
		f.statusMu.Lock()
		f.status.Errors++
		f.status.LastError, f.status.LastErrorAt = err.Error(), time.Now()
		f.statusMu.Unlock()
	}
	return err
}

func (f *Flusher) flushLocked(ctx context.Context, minAge time.Duration) error {
	// A batch holds a field per product viewed: longer than one page's Redis call.
	ctx = cache.WithCallTimeout(ctx, flushCallTimeout)
	c := f.c
	fields, err := c.rdb.HKeys(ctx, c.PendingKey()).Result()
	if err != nil {
		return fmt.Errorf("views: flush: %w", err)
	}
	var inRedis []string
	for _, field := range fields {
		if id, ok := strings.CutPrefix(field, batchPrefix); ok {
			inRedis = append(inRedis, id)
		}
	}
	for id := range f.mine {
		if !slices.Contains(inRedis, id) {
			delete(f.mine, id) // finished by another instance
		}
	}
	for _, id := range inRedis {
		field := batchPrefix + id
		if !f.mine[id] && time.Since(batchTime(id)) < minAge {
			continue // another instance's flush, probably still running
		}
		v, err := c.rdb.HGet(ctx, c.PendingKey(), field).Result()
		if errors.Is(err, redis.Nil) {
			delete(f.mine, id)
			continue // applied by another instance meanwhile
		}
		if err != nil {
			return fmt.Errorf("views: flush: %w", err)
		}
		if !f.mine[id] {
			f.log.Info("views: re-applying a batch left behind", "batch", id)
			f.mine[id] = true // if this fails, retry it at the next flush
		}
		if err := f.apply(ctx, id, v, inRedis); err != nil {
			return err
		}
	}

	id := newBatchID(time.Now())
	v, err := claimScript.Run(ctx, c.rdb, []string{c.PendingKey()}, id).Text()
	if errors.Is(err, redis.Nil) {
		return nil // nothing pending
	}
	if err != nil {
		return fmt.Errorf("views: claim: %w", err)
	}
	f.mine[id] = true
	if err := f.step(ctx, StepClaimed); err != nil {
		return err
	}
	return f.apply(ctx, id, v, inRedis)
}

func (f *Flusher) step(ctx context.Context, s Step) error {
	if f.hook == nil {
		return nil
	}
	return f.hook(ctx, s)
}

// apply writes batch id (value v) to Postgres at most once, then caches the totals and
// deletes the batch field. inRedis are the batch ids present in Redis, whose ledger rows
// must be kept.
func (f *Flusher) apply(ctx context.Context, id, v string, inRedis []string) error {
	c := f.c
	counts, err := parseBatch(v)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(counts))
	ns := make([]int64, 0, len(counts))
	var sum int64
	for pid, n := range counts {
		ids, ns = append(ids, pid), append(ns, n)
		sum += n
	}
	prune := time.Since(f.pruned) > time.Minute
	totals := make(map[int64]int64, len(counts))
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO view_batches (id, views, products) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, id, sum, len(counts))
		if err != nil {
			return err
		}
		var rows pgx.Rows
		if tag.RowsAffected() == 1 {
			// Products deleted since their views were counted are skipped.
			rows, _ = tx.Query(ctx, `INSERT INTO product_views AS v (product_id, views)
				SELECT u.id, u.n FROM unnest($1::bigint[], $2::bigint[]) AS u(id, n)
				JOIN products p ON p.id = u.id
				ON CONFLICT (product_id) DO UPDATE SET views = v.views + EXCLUDED.views, updated_at = now()
				RETURNING product_id, views`, ids, ns)
		} else {
			rows, _ = tx.Query(ctx, `SELECT product_id, views FROM product_views WHERE product_id = ANY($1)`, ids)
		}
		var pid, n int64
		if _, err := pgx.ForEachRow(rows, []any{&pid, &n}, func() error { totals[pid] = n; return nil }); err != nil {
			return err
		}
		if prune {
			// Ledger rows are needed while their batch may still be in Redis.
			_, err = tx.Exec(ctx, `DELETE FROM view_batches WHERE applied_at < now() - interval '1 hour' AND id <> ALL($1)`, inRedis)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("views: apply batch %s: %w", id, err)
	}
	if prune {
		f.pruned = time.Now()
	}
	if err := f.step(ctx, StepCommitted); err != nil {
		return err
	}
	if err := c.setTotals(ctx, totals); err != nil {
		return fmt.Errorf("views: cache totals of batch %s: %w", id, err)
	}
	if err := f.step(ctx, StepCached); err != nil {
		return err
	}
	if err := c.rdb.HDel(ctx, c.PendingKey(), batchPrefix+id).Err(); err != nil {
		return fmt.Errorf("views: delete batch %s: %w", id, err)
	}
	delete(f.mine, id)
	f.statusMu.Lock()
	f.status.LastFlush, f.status.LastBatchViews, f.status.LastBatchProducts = time.Now(), sum, len(counts)
	f.status.Flushes++
	f.statusMu.Unlock()
	return f.step(ctx, StepDeleted)
}

// Status returns the flusher's counters and, from Redis, what is pending now.
func (f *Flusher) Status(ctx context.Context) Status {
	f.statusMu.Lock()
	s := f.status
	f.statusMu.Unlock()
	p, err := f.c.Pending(ctx)
	if err != nil {
		s.PendingErr = err.Error()
	}
	s.Pending = p
	return s
}

// ApplyDirect writes counts (product id → views) straight to Postgres in one transaction,
// as one batch of the view_batches ledger: the last resort of a graceful stop when Redis
// does not take the buffered views. The cached totals (views:total) are raised when Redis
// answers; otherwise they catch up at the next flush or when they expire.
func (c *Counter) ApplyDirect(ctx context.Context, counts map[int64]int64) error {
	if len(counts) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(counts))
	ns := make([]int64, 0, len(counts))
	var sum int64
	for id, n := range counts {
		ids, ns = append(ids, id), append(ns, n)
		sum += n
	}
	totals := make(map[int64]int64, len(counts))
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO view_batches (id, views, products) VALUES ($1, $2, $3)`,
			newBatchID(time.Now()), sum, len(counts)); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `INSERT INTO product_views AS v (product_id, views)
			SELECT u.id, u.n FROM unnest($1::bigint[], $2::bigint[]) AS u(id, n)
			JOIN products p ON p.id = u.id
			ON CONFLICT (product_id) DO UPDATE SET views = v.views + EXCLUDED.views, updated_at = now()
			RETURNING product_id, views`, ids, ns)
		var pid, n int64
		_, err := pgx.ForEachRow(rows, []any{&pid, &n}, func() error { totals[pid] = n; return nil })
		return err
	})
	if err != nil {
		return fmt.Errorf("views: write %d views straight to Postgres: %w", sum, err)
	}
	_ = c.setTotals(ctx, totals) // best effort: Redis is probably away
	return nil
}
