// Package leaderboard keeps the shop's bestseller boards as Redis sorted sets: the all-time
// board, one board per UTC day, a rolling 7-day board and one board per category. It updates
// them after each checkout, rebuilds them from Postgres (the source of truth), reads the top N
// with names and prices, gives one product's rank, and announces changes on Redis pub/sub.
// It knows nothing of HTTP.
//
// # The score
//
// A product's score is its net units sold: the sum of quantities over all of its order lines,
// cancellations and returns (negative quantities) included. For the imported real history this
// is the rule: 80,995 "PAPER CRAFT , LITTLE BIRDIE" sold and cancelled the same day score 0.
// The all-time board holds every product (4,070 for the real data set), with 0 for a product
// without lines, so that it equals the SQL aggregate
//
//	SELECT p.id, coalesce(sum(i.quantity), 0) FROM products p LEFT JOIN order_items i … GROUP BY p.id
//
// for every product. Non-merchandise codes (postage, fees) are on it too — "POST" ranks 171st in
// the real history — and are skipped when the top N is listed; ranks still count them.
//
// # Keys
//
// Every key starts with the configured prefix and shares the hash tag {bestsellers}, so that
// the multi-key commands here (MULTI/EXEC, ZUNIONSTORE, RENAME, the scripts) run unchanged on
// cluster mode enabled:
//
//	lb:{bestsellers}:all               all-time board (no TTL; see below)
//	lb:{bestsellers}:day:2026-11-29    one UTC day; expires at the end of the 7th day after
//	lb:{bestsellers}:7d                rolling 7 days = ZUNIONSTORE of 7 day boards, TTL 10 s
//	lb:{bestsellers}:cat:<category>    all-time board of one category (no TTL)
//	lb:{bestsellers}:top               cached top-N lists (hash, field "<board>:<n>"), TTL 10 s
//	lb:{bestsellers}:tmp:<token>:…     boards being rebuilt, renamed over the live ones
//	lb:{bestsellers}:events            the pub/sub channel of checkout events
//
// The all-time and category boards have no TTL: they are not cached values but structures
// rebuilt from Postgres (DESIGN's "every cached value has a TTL" is about copies). A TTL would
// also make them evictable under the volatile-lru policy that compose and the Terraform use.
//
// # Ties
//
// Products with equal scores share a rank (competition ranking: 1, 2, 2, 4), and are listed
// by product id, lowest first — the order of the SQL panel this replaces. Redis alone orders
// equal scores by member bytes, reversed by ZREVRANGE ("9" before "100" before "10"; redis
// #943, #3141), so Top fetches every member tied with the last one it lists and sorts in Go.
// A product's rank is 1 + ZCOUNT of the scores strictly above its ZSCORE, in one script call:
// ZREVRANK alone would give tied products different places.
//
// # Reading the top N: one round trip
//
// Top caches its result — ids, names, prices, units, ranks — as one JSON value in the top
// hash for 10 s (the project's TTL for real-time data); a hit is one HGET. A checkout deletes
// the hash in the same MULTI as its increments. A miss is one script call (top N plus the ties
// at the cut) and one Postgres query for names and prices, made once however many pages
// miss at once: singleflight merges the misses of one process, and a lease
// (lease:{lb:{bestsellers}:top:<board>:<n>}, cache.Shared) lets one instance compute while
// the others wait briefly for its list. This keeps the leaderboard free of
// the catalog cache's key format, and the JSON is what the live panel pushes to browsers.
//
// # Updates, repair and rebuild
//
// Record runs after the checkout's transaction commits: one MULTI with a ZINCRBY per line
// and board, then PUBLISH. When Redis fails the order stands; the Board marks itself dirty, and
// the repair loop (Repair, run every minute by the shop) rebuilds once Redis answers. It also
// rebuilds when the all-time board is missing (Redis restarted empty, or was flushed).
//
// Rebuild computes every board from one Postgres snapshot into temporary keys, then swaps them
// in with RENAME inside one script, so readers see the old board or the new one, never a
// half-built one. Checkouts recorded while a rebuild runs are not lost: the rebuild copies the
// live boards just before its Postgres snapshot, and at the swap adds what the live boards
// gained since (live − copy). Only a checkout whose commit falls between the copy and the
// snapshot (well under a millisecond) can be counted twice; the next rebuild corrects it.
package leaderboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/keys"
)

const (
	// Window is the length of the rolling board, in days (today, UTC, and the 6 before).
	Window = 7
	// TopTTL is how long a computed top-N list and the rolling board are cached.
	TopTTL = 10 * time.Second
	// rebuildCallTimeout bounds one Redis round trip of a rebuild.
	rebuildCallTimeout = 30 * time.Second
	// tmpTTL bounds the life of a rebuild's temporary keys if it dies half-way.
	tmpTTL = 10 * time.Minute
	// StaleProducts is how long the names and prices a top list was last computed with may
	// stand in for Postgres when it cannot answer (stale-if-error, as SHOP_STALE_IF_ERROR's
	// default for the caches), so that the home page's bestsellers outlive TopTTL in an outage.
	StaleProducts = 15 * time.Minute
)

// ErrNoBoard is returned by Top when the all-time board is not in Redis (before the first
// rebuild, or after Redis lost it): callers fall back to Postgres until Repair rebuilds it.
var ErrNoBoard = errors.New("leaderboard: the board is not in Redis")

// Scope names one board.
type Scope struct {
	Week     bool   // the rolling 7-day board instead of the all-time one
	Category string // a category's all-time board; empty for the whole shop
}

// AllTime is the all-time board of the whole shop.
var AllTime = Scope{}

func (s Scope) String() string {
	switch {
	case s.Week:
		return "7d"
	case s.Category != "":
		return "cat:" + s.Category
	default:
		return "all"
	}
}

// Entry is one row of a top-N list.
type Entry struct {
	Rank      int    `json:"rank"` // competition rank: 1, 2, 2, 4
	ProductID int64  `json:"id"`
	Name      string `json:"name"`
	Price     int64  `json:"price"` // minor units of Currency
	Currency  string `json:"currency"`
	Units     int64  `json:"units"` // net units sold on the board
}

// DisplayPrice is Price formatted for a shopper, e.g. "£2.95".
func (e Entry) DisplayPrice() string { return money.Format(e.Price, e.Currency) }

// Rank is one product's place on a board.
type Rank struct {
	Rank  int   // competition rank; 0 when the product is not on the board
	Units int64 // its score: net units sold
}

// Line is one order line as the leaderboard counts it.
type Line struct {
	ProductID int64
	Quantity  int // negative for a return
}

// Board reads and writes the bestseller boards. It is safe for concurrent use.
type Board struct {
	rdb    redis.UniversalClient
	pool   *pgxpool.Pool
	prefix string
	log    *slog.Logger
	dirty  atomic.Bool // a Record failed: the boards miss increments until a rebuild
	lists  *cache.Shared[[]Entry]
	known  sync.Map // product id → knownRow: the rows last read by products
}

// knownRow is a product row as products last read it, and when.
type knownRow struct {
	row productRow
	at  time.Time
}

// New returns a Board over rdb and pool whose keys start with prefix.
func New(rdb redis.UniversalClient, pool *pgxpool.Pool, prefix string, logger *slog.Logger) *Board {
	return &Board{rdb: rdb, pool: pool, prefix: prefix, log: logger,
		lists: cache.NewShared[[]Entry](rdb, prefix, cache.SharedOptions{})}
}

func (b *Board) key(parts ...string) string {
	return b.prefix + keys.Leaderboard(parts...)
}

// AllKey is the key of the all-time board: lb:{bestsellers}:all after the prefix.
func (b *Board) AllKey() string { return b.key("all") }

// DayKey is the key of the board of the UTC day of t: lb:{bestsellers}:day:2026-11-29.
func (b *Board) DayKey(t time.Time) string { return b.key("day", t.UTC().Format(time.DateOnly)) }

// CategoryKey is the key of the board of category.
func (b *Board) CategoryKey(category string) string { return b.key("cat", category) }

// Channel is the pub/sub channel that Record publishes to.
func (b *Board) Channel() string { return b.key("events") }

func (b *Board) weekKey() string { return b.key("7d") }
func (b *Board) topKey() string  { return b.key("top") }

// ForgetLists drops the cached top-N lists, which hold names and prices: for when a product
// changed. The next read computes them again.
func (b *Board) ForgetLists(ctx context.Context) error {
	if err := b.rdb.Del(ctx, b.topKey()).Err(); err != nil {
		return fmt.Errorf("leaderboard: forget lists: %w", err)
	}
	return nil
}

// dayExpiry is when the board of day d may go: at the end of day d+Window, the last day a
// rolling window (plus one day of slack for clocks) still needs it.
func dayExpiry(d time.Time) time.Time {
	y, m, day := d.UTC().Date()
	return time.Date(y, m, day, 0, 0, 0, 0, time.UTC).AddDate(0, 0, Window+1)
}

// weekDays returns the keys of the Window day boards ending with the day of now.
func (b *Board) weekDays(now time.Time) []string {
	keys := make([]string, Window)
	for i := range Window {
		keys[i] = b.DayKey(now.AddDate(0, 0, -i))
	}
	return keys
}

func (b *Board) boardKey(s Scope) string {
	switch {
	case s.Week:
		return b.weekKey()
	case s.Category != "":
		return b.CategoryKey(s.Category)
	default:
		return b.AllKey()
	}
}

// Event is what Record publishes on Channel after a checkout.
type Event struct {
	Products []int64   `json:"products"`
	At       time.Time `json:"at"`
}

// Record adds a committed order's lines to the boards: all-time, the day of at (UTC) and
// each product's category board, in one MULTI, then publishes an Event. Call it only after
// the order's transaction committed. It returns an error when Redis (or the category lookup)
// fails; the Board is then dirty until Repair rebuilds it, and the order stands.
func (b *Board) Record(ctx context.Context, at time.Time, lines []Line) error {
	if len(lines) == 0 {
		return nil
	}
	err := b.record(ctx, at, lines)
	if err != nil {
		b.dirty.Store(true)
		return fmt.Errorf("leaderboard: record: %w", err)
	}
	return nil
}

func (b *Board) record(ctx context.Context, at time.Time, lines []Line) error {
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.ProductID
	}
	rows, _ := b.pool.Query(ctx, `SELECT id, category FROM products WHERE id = ANY($1) AND category <> ''`, ids)
	categories := map[int64]string{}
	var id int64
	var category string
	_, err := pgx.ForEachRow(rows, []any{&id, &category}, func() error { categories[id] = category; return nil })
	if err != nil {
		return err
	}
	day := b.DayKey(at)
	event, err := json.Marshal(Event{Products: ids, At: at.UTC()})
	if err != nil {
		return err
	}
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, l := range lines {
			member := strconv.FormatInt(l.ProductID, 10)
			p.ZIncrBy(ctx, b.AllKey(), float64(l.Quantity), member)
			p.ZIncrBy(ctx, day, float64(l.Quantity), member)
			if c, ok := categories[l.ProductID]; ok {
				p.ZIncrBy(ctx, b.CategoryKey(c), float64(l.Quantity), member)
			}
		}
		p.ExpireAt(ctx, day, dayExpiry(at))
		p.Del(ctx, b.topKey(), b.weekKey())
		p.Publish(ctx, b.Channel(), event)
		return nil
	})
	return err
}

// Dirty reports whether a Record failed since the last successful rebuild.
func (b *Board) Dirty() bool { return b.dirty.Load() }

// Exists reports whether the all-time board is in Redis.
func (b *Board) Exists(ctx context.Context) (bool, error) {
	n, err := b.rdb.Exists(ctx, b.AllKey()).Result()
	if err != nil {
		return false, fmt.Errorf("leaderboard: exists: %w", err)
	}
	return n == 1, nil
}

// Repair rebuilds the boards when a Record failed or the all-time board is missing, and
// reports whether it rebuilt. It returns Redis's or Postgres's error when it cannot tell or
// cannot rebuild; the next call tries again.
func (b *Board) Repair(ctx context.Context) (bool, error) {
	dirty := b.dirty.Load()
	if !dirty {
		ok, err := b.Exists(ctx)
		if err != nil || ok {
			return false, err
		}
	}
	b.dirty.Store(false) // before the rebuild: a Record failing during it marks it again
	if _, err := b.Rebuild(ctx); err != nil {
		b.dirty.Store(true)
		return false, err
	}
	return true, nil
}

// RunRepair calls Repair every interval until ctx ends, logging what it does.
func (b *Board) RunRepair(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rebuilt, err := b.Repair(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			b.log.Warn("leaderboard repair failed; will retry", "err", err)
		case rebuilt:
			b.log.Info("leaderboard repaired: rebuilt from Postgres")
		}
	}
}

// RebuildResult says what a rebuild wrote.
type RebuildResult struct {
	Products   int // members of the all-time board
	Days       int // day boards with sales in the last Window+1 days
	Categories int // category boards
	Took       time.Duration
}

// swapScript swaps rebuilt boards in. KEYS come in threes — live, copy, tmp — then the
// caches to drop; ARGV[1] is the number of boards, then one expiry (unix s, 0 for none) per
// board. Each tmp gains what its live board gained since the copy (live − copy) and is
// renamed over the live board, or the live board is deleted when nothing is left.
var swapScript = redis.NewScript(`
local n = tonumber(ARGV[1])
for i = 1, n do
  local live, copy, tmp = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  redis.call('ZUNIONSTORE', tmp, 3, tmp, live, copy, 'WEIGHTS', 1, 1, -1)
  redis.call('DEL', copy)
  if redis.call('EXISTS', tmp) == 1 then
    redis.call('RENAME', tmp, live)
    local at = tonumber(ARGV[i+1])
    if at > 0 then redis.call('EXPIREAT', live, at) end
  else
    redis.call('DEL', live)
  end
end
for i = 3*n+1, #KEYS do redis.call('DEL', KEYS[i]) end
return n`)

// Rebuild recomputes every board from Postgres and swaps them in atomically: the all-time
// board (every product), the day boards of the last Window+1 days (UTC) and one board per
// category. Readers never see a missing or half-built board.
func (b *Board) Rebuild(ctx context.Context) (RebuildResult, error) {
	// Its pipelines carry thousands of commands: longer than one page's Redis call.
	ctx = cache.WithCallTimeout(ctx, rebuildCallTimeout)
	start := time.Now()
	token := randomToken()
	// One rebuild at a time across instances: two at once would each count the other's
	// swapped-in board as "gained since the copy" and double it. A second caller waits for
	// the first to finish, and then has nothing to do.
	lock := b.key("rebuilding")
	got, err := b.rdb.SetNX(ctx, lock, token, tmpTTL).Result()
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: lock: %w", err)
	}
	if !got {
		for {
			select {
			case <-ctx.Done():
				return RebuildResult{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			n, err := b.rdb.Exists(ctx, lock).Result()
			if err != nil {
				return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: wait for another: %w", err)
			}
			if n == 0 {
				return RebuildResult{Took: time.Since(start)}, nil
			}
		}
	}
	defer func() {
		_ = releaseRebuildScript.Run(context.WithoutCancel(ctx), b.rdb, []string{lock}, token).Err()
	}()
	tmp := func(live string) string { return b.key("tmp", token, strings.TrimPrefix(live, b.key(""))) }
	copyOf := func(live string) string { return b.key("tmp", token, "copy", strings.TrimPrefix(live, b.key(""))) }

	// The categories and the day window decide which boards exist. Copy those live boards,
	// then take the Postgres snapshot that the sums come from: what a board gains between
	// the copy and the swap is added at the swap.
	categories, err := pgx.CollectRows(must(b.pool.Query(ctx, `SELECT DISTINCT category FROM products WHERE category <> ''`)), pgx.RowTo[string])
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: categories: %w", err)
	}
	now := time.Now().UTC()
	var days []time.Time
	for i := range Window + 1 {
		days = append(days, now.AddDate(0, 0, -i))
	}
	lives := []string{b.AllKey()}
	expiry := map[string]int64{}
	for _, c := range categories {
		lives = append(lives, b.CategoryKey(c))
	}
	for _, d := range days {
		k := b.DayKey(d)
		lives = append(lives, k)
		expiry[k] = dayExpiry(d).Unix()
	}
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range lives {
			p.ZUnionStore(ctx, copyOf(k), &redis.ZStore{Keys: []string{k}})
			p.PExpire(ctx, copyOf(k), tmpTTL)
		}
		return nil
	})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: copy live boards: %w", err)
	}
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: %w", err)
	}
	defer tx.Rollback(ctx)

	boards := map[string][]redis.Z{}
	res := RebuildResult{}
	rows, _ := tx.Query(ctx, `SELECT p.id, p.category, coalesce(sum(i.quantity), 0)
		FROM products p LEFT JOIN order_items i ON i.product_id = p.id GROUP BY p.id`)
	var id, units int64
	var category string
	_, err = pgx.ForEachRow(rows, []any{&id, &category, &units}, func() error {
		z := redis.Z{Member: strconv.FormatInt(id, 10), Score: float64(units)}
		boards[b.AllKey()] = append(boards[b.AllKey()], z)
		if category != "" && slices.Contains(categories, category) {
			boards[b.CategoryKey(category)] = append(boards[b.CategoryKey(category)], z)
		}
		return nil
	})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: all-time: %w", err)
	}
	res.Products = len(boards[b.AllKey()])
	first := days[len(days)-1]
	rows, _ = tx.Query(ctx, `SELECT (o.created_at AT TIME ZONE 'UTC')::date, i.product_id, sum(i.quantity)
		FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.created_at >= $1 GROUP BY 1, 2`,
		time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC))
	var day time.Time
	_, err = pgx.ForEachRow(rows, []any{&day, &id, &units}, func() error {
		k := b.DayKey(day)
		if _, ok := expiry[k]; ok {
			boards[k] = append(boards[k], redis.Z{Member: strconv.FormatInt(id, 10), Score: float64(units)})
		}
		return nil
	})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: days: %w", err)
	}
	for _, d := range days {
		if len(boards[b.DayKey(d)]) > 0 {
			res.Days++
		}
	}
	res.Categories = len(categories)

	// Write the temporary boards in chunks, one pipeline.
	_, err = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, zs := range boards {
			for c := range slices.Chunk(zs, 1000) {
				p.ZAdd(ctx, tmp(k), c...)
			}
			p.PExpire(ctx, tmp(k), tmpTTL)
		}
		return nil
	})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: write: %w", err)
	}
	keys := make([]string, 0, 3*len(lives)+2)
	args := []any{len(lives)}
	for _, k := range lives {
		keys = append(keys, k, copyOf(k), tmp(k))
		args = append(args, expiry[k])
	}
	keys = append(keys, b.topKey(), b.weekKey())
	if err := swapScript.Run(ctx, b.rdb, keys, args...).Err(); err != nil {
		return RebuildResult{}, fmt.Errorf("leaderboard: rebuild: swap: %w", err)
	}
	res.Took = time.Since(start)
	return res, nil
}

// must lets a query's error surface in CollectRows, as pgx intends (rows carry the error).
func must(rows pgx.Rows, _ error) pgx.Rows { return rows }

// releaseRebuildScript deletes the rebuild lock KEYS[1] if it still holds ARGV[1].
var releaseRebuildScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func randomToken() string {
	var buf [8]byte
	rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}

// topScript returns the members of KEYS[1] with a positive score, highest first, at most
// ARGV[1] of them, followed by every member tied with the last one (member, score pairs),
// or -1 when KEYS[1] does not exist. With more KEYS, KEYS[1] is the rolling board: when
// missing it is first made as their union and kept ARGV[2] ms.
var topScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  if #KEYS == 1 then return -1 end
  local src = {}
  for i = 2, #KEYS do src[#src+1] = KEYS[i] end
  redis.call('ZUNIONSTORE', KEYS[1], #src, unpack(src))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local k = tonumber(ARGV[1])
local top = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, k)
if #top < 2*k then return top end
local last = top[#top]
local ties = redis.call('ZRANGEBYSCORE', KEYS[1], last, last, 'WITHSCORES')
for i = 1, #ties do top[#top+1] = ties[i] end
return top`)

// candidate is a member of a board with its competition rank.
type candidate struct {
	id, units int64
	rank      int
}

// rankCandidates parses topScript's reply, sorts it by units (most first), then id (lowest
// first), and gives each its competition rank. full says whether the board may hold more.
func rankCandidates(reply []any, k int) (cands []candidate, full bool, err error) {
	seen := map[int64]bool{}
	for i := 0; i+1 < len(reply); i += 2 {
		m, _ := reply[i].(string)
		s, _ := reply[i+1].(string)
		id, err1 := strconv.ParseInt(m, 10, 64)
		units, err2 := strconv.ParseFloat(s, 64)
		if err1 != nil || err2 != nil {
			return nil, false, fmt.Errorf("leaderboard: bad member %q score %q", m, s)
		}
		if !seen[id] {
			seen[id] = true
			cands = append(cands, candidate{id: id, units: int64(units)})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.units != b.units {
			if a.units > b.units {
				return -1
			}
			return 1
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	for i := range cands {
		if i > 0 && cands[i].units == cands[i-1].units {
			cands[i].rank = cands[i-1].rank
		} else {
			cands[i].rank = i + 1
		}
	}
	return cands, len(cands) >= k, nil
}

// Top returns the n best-selling merchandise products of board s with a positive score, most
// units first, ties by product id, each with its competition rank (which counts the
// non-merchandise codes above it). A cached list is served when there is one (at most TopTTL
// old, dropped by every checkout); a missing one is computed once however many ask at once:
// singleflight in this process, and a lease across instances (cache.Shared). It returns ErrNoBoard when the all-time board is missing,
// else Redis's or Postgres's error.
func (b *Board) Top(ctx context.Context, s Scope, n int) ([]Entry, error) {
	field := s.String() + ":" + strconv.Itoa(n)
	read := func(ctx context.Context) ([]Entry, bool, error) {
		cached, err := b.rdb.HGet(ctx, b.topKey(), field).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		} else if err != nil {
			return nil, false, fmt.Errorf("leaderboard: top %s: %w", field, err)
		}
		var entries []Entry
		if json.Unmarshal(cached, &entries) != nil {
			return nil, false, nil // an older shape: computed again and replaced
		}
		return entries, true, nil
	}
	// A miss is computed once at a time in this process, and by one instance at a time.
	return b.lists.Get(ctx, b.topKey()+":"+field, read, func(ctx context.Context) ([]Entry, error) {
		return b.Fresh(ctx, s, n)
	})
}

// Fresh is Top computed from the board, bypassing the cached list, which it replaces.
func (b *Board) Fresh(ctx context.Context, s Scope, n int) ([]Entry, error) {
	field := s.String() + ":" + strconv.Itoa(n)
	entries, err := b.compute(ctx, s, n)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: top %s: %w", field, err)
	}
	blob, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, b.topKey(), field, blob)
		p.ExpireNX(ctx, b.topKey(), TopTTL)
		return nil
	})
	if err != nil {
		b.log.Warn("leaderboard: caching the top list failed", "err", err)
	}
	return entries, nil
}

func (b *Board) compute(ctx context.Context, s Scope, n int) ([]Entry, error) {
	if n <= 0 {
		return nil, nil
	}
	keys := []string{b.boardKey(s)}
	if s.Week {
		keys = append(keys, b.weekDays(time.Now())...)
	}
	for k := n; ; k *= 2 {
		res, err := topScript.Run(ctx, b.rdb, keys, k, TopTTL.Milliseconds()).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if n, ok := res.(int64); ok && n == -1 {
			if s.Category != "" {
				return nil, nil // a category without sales has no board
			}
			return nil, ErrNoBoard
		}
		reply, _ := res.([]any)
		cands, full, err := rankCandidates(reply, k)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(cands))
		for i, c := range cands {
			ids[i] = c.id
		}
		products, err := b.products(ctx, ids)
		if err != nil {
			return nil, err
		}
		var entries []Entry
		for _, c := range cands {
			p, ok := products[c.id]
			if !ok || !p.merchandise {
				continue
			}
			entries = append(entries, Entry{Rank: c.rank, ProductID: c.id, Name: p.name, Price: p.price,
				Currency: p.currency, Units: c.units})
			if len(entries) == n {
				return entries, nil
			}
		}
		if !full {
			return entries, nil
		}
	}
}

type productRow struct {
	name, currency string
	price          int64
	merchandise    bool
}

// products reads the name, price and currency of the products of ids. When Postgres cannot
// answer, the rows this process last read stand in, if it read every one of them within
// StaleProducts (the ranks stay live: they come from Redis).
func (b *Board) products(ctx context.Context, ids []int64) (map[int64]productRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, _ := b.pool.Query(ctx, `SELECT id, name, price, currency, merchandise FROM products WHERE id = ANY($1)`, ids)
	m := make(map[int64]productRow, len(ids))
	var id int64
	var p productRow
	_, err := pgx.ForEachRow(rows, []any{&id, &p.name, &p.price, &p.currency, &p.merchandise}, func() error {
		m[id] = p
		return nil
	})
	now := time.Now()
	if err == nil {
		for id, p := range m {
			b.known.Store(id, knownRow{p, now})
		}
		return m, nil
	}
	for _, id := range ids {
		k, ok := b.known.Load(id)
		if !ok || now.Sub(k.(knownRow).at) > StaleProducts {
			return nil, err
		}
		m[id] = k.(knownRow).row
	}
	b.log.Warn("leaderboard: Postgres not answering; the top list uses the names and prices last read", "err", err)
	return m, nil
}

// rankScript returns {score, members above} for member ARGV[1] of KEYS[1], or nil.
var rankScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return false end
return {s, redis.call('ZCOUNT', KEYS[1], '(' .. s, '+inf')}`)

// QueueRank queues the rank lookup of product id on the all-time board in p, for callers
// that batch it with other commands in one round trip; the returned function gives the
// result after p is executed. The script is sent with EVAL (it is 150 bytes), so a
// pipeline never meets NOSCRIPT.
func (b *Board) QueueRank(ctx context.Context, p redis.Pipeliner, id int64) func() (Rank, error) {
	cmd := rankScript.Eval(ctx, p, []string{b.AllKey()}, id)
	return func() (Rank, error) {
		reply, err := cmd.Slice()
		if errors.Is(err, redis.Nil) {
			return Rank{}, nil
		}
		if err != nil || len(reply) != 2 {
			return Rank{}, fmt.Errorf("leaderboard: rank of %d: %w", id, err)
		}
		s, _ := reply[0].(string)
		above, _ := reply[1].(int64)
		units, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Rank{}, fmt.Errorf("leaderboard: rank of %d: score %q", id, s)
		}
		return Rank{Rank: int(above) + 1, Units: int64(units)}, nil
	}
}

// Rank returns product id's competition rank and units on the all-time board (Rank 0 when
// it is not on the board), in one round trip.
func (b *Board) Rank(ctx context.Context, id int64) (Rank, error) {
	p := b.rdb.Pipeline()
	get := b.QueueRank(ctx, p, id)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Rank{}, fmt.Errorf("leaderboard: rank of %d: %w", id, err)
	}
	return get()
}
