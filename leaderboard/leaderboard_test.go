package leaderboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/leaderboard"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newBoard(t *testing.T, pool *pgxpool.Pool) (*leaderboard.Board, *redis.Client) {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	return leaderboard.New(rdb, pool, prefix, discard), rdb
}

// sqlUnits is the SQL aggregate the all-time board must equal: net units of every product.
func sqlUnits(t *testing.T, pool *pgxpool.Pool) map[string]float64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT p.id, coalesce(sum(i.quantity), 0)
		FROM products p LEFT JOIN order_items i ON i.product_id = p.id GROUP BY p.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]float64{}
	for rows.Next() {
		var id, units int64
		if err := rows.Scan(&id, &units); err != nil {
			t.Fatal(err)
		}
		want[strconv.FormatInt(id, 10)] = float64(units)
	}
	return want
}

func boardScores(t *testing.T, rdb *redis.Client, key string) map[string]float64 {
	t.Helper()
	zs, err := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64, len(zs))
	for _, z := range zs {
		got[z.Member.(string)] = z.Score
	}
	return got
}

func TestRebuildEqualsTheSQLAggregate(t *testing.T) {
	pool := testenv.SeededDB(t)
	board, rdb := newBoard(t, pool)
	ctx := context.Background()
	if _, err := board.Top(ctx, leaderboard.AllTime, 10); !errors.Is(err, leaderboard.ErrNoBoard) {
		t.Errorf("Top before any rebuild: err = %v, want ErrNoBoard", err)
	}
	res, err := board.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Products != 4070 {
		t.Errorf("Rebuild().Products = %d, want 4070", res.Products)
	}
	want := sqlUnits(t, pool)
	got := boardScores(t, rdb, board.AllKey())
	if len(want) != 4070 || len(got) != len(want) {
		t.Fatalf("board has %d members, SQL %d products; want 4070 each", len(got), len(want))
	}
	for id, units := range want {
		if got[id] != units {
			t.Errorf("ZSCORE all %s = %v, want the SQL sum %v", id, got[id], units)
		}
	}
	if ttl := rdb.TTL(ctx, board.AllKey()).Val(); ttl != -1 {
		t.Errorf("TTL of the all-time board = %v, want none (-1)", ttl)
	}

	// The top 10 agrees with the SQL panel it replaces, rank for rank.
	top, err := board.Top(ctx, leaderboard.AllTime, 10)
	if err != nil {
		t.Fatal(err)
	}
	best, err := catalog.NewStore(pool).ListBestsellers(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 10 {
		t.Fatalf("Top(10) has %d entries", len(top))
	}
	for i, e := range top {
		if e.ProductID != best[i].ID || e.Units != best[i].Units || e.Rank != i+1 || e.Name != best[i].Name || e.Price != best[i].Price {
			t.Errorf("Top(10)[%d] = %+v, want product %d with %d units at rank %d", i, e, best[i].ID, best[i].Units, i+1)
		}
	}
	// POST (postage, not merchandise) is on the board, ranked 171st, and never listed.
	r, err := board.Rank(ctx, 25)
	if err != nil || r.Rank != 171 || r.Units != 6353 {
		t.Errorf("Rank(25, POSTAGE) = %+v, %v; want rank 171 with 6353 units", r, err)
	}
	long, err := board.Top(ctx, leaderboard.AllTime, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range long {
		if e.ProductID == 25 {
			t.Errorf("Top(200) lists POSTAGE, which is not merchandise")
		}
	}
	if len(long) != 200 || long[199].Rank != 201 {
		t.Errorf("Top(200): %d entries, last rank %d; want 200 entries, the last ranked 201 (POSTAGE counts)", len(long), long[len(long)-1].Rank)
	}
}

// insertProduct adds a product with a given id.
func insertProduct(t *testing.T, pool *pgxpool.Pool, id int64, merchandise bool, category string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO products (id, sku, name, price, currency, stock, merchandise, category)
		VALUES ($1, $4, $5, 100, 'GBP', 100, $2, $3)`, id, merchandise, category, fmt.Sprint("SKU", id), fmt.Sprint("Product ", id))
	if err != nil {
		t.Fatal(err)
	}
}

// insertSale adds one order with the given lines (product id → quantity) at time at.
func insertSale(t *testing.T, pool *pgxpool.Pool, at time.Time, lines map[int64]int) {
	t.Helper()
	ctx := context.Background()
	var order int64
	if err := pool.QueryRow(ctx, `INSERT INTO orders (kind, created_at) VALUES ('sale', $1) RETURNING id`, at).Scan(&order); err != nil {
		t.Fatal(err)
	}
	n := 0
	for id, q := range lines {
		n++
		if _, err := pool.Exec(ctx, `INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
			VALUES ($1, $2, $3, $4, 100)`, order, n, id, q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTiesShareARankAndListByID(t *testing.T) {
	pool := testenv.DB(t)
	ctx := context.Background()
	// 9, 10 and 100 tie at 30: Redis's ZREVRANGE lists them 9, 100, 10 (member bytes,
	// reversed); the documented order is by id. 3 is postage: ranked, never listed.
	units := map[int64]int{1: 50, 3: 40, 9: 30, 10: 30, 100: 30, 2: 10, 4: -5}
	for id := range units {
		insertProduct(t, pool, id, id != 3, "")
	}
	insertProduct(t, pool, 5, true, "") // never sold: on the board with 0, never listed
	insertSale(t, pool, time.Now(), map[int64]int{1: 60, 9: 30, 10: 30, 100: 30, 2: 10, 3: 40, 4: -5})
	insertSale(t, pool, time.Now(), map[int64]int{1: -10}) // a return
	board, rdb := newBoard(t, pool)
	if _, err := board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	naive, _ := rdb.ZRevRange(ctx, board.AllKey(), 2, 4).Result()
	t.Logf("ZREVRANGE 2 4 = %v (Redis's own order of the tie)", naive)

	type row struct {
		id   int64
		rank int
	}
	tests := []struct {
		n    int
		want []row
	}{
		{1, []row{{1, 1}}},
		{2, []row{{1, 1}, {9, 3}}},
		{3, []row{{1, 1}, {9, 3}, {10, 3}}},
		{4, []row{{1, 1}, {9, 3}, {10, 3}, {100, 3}}},
		{10, []row{{1, 1}, {9, 3}, {10, 3}, {100, 3}, {2, 6}}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.n), func(t *testing.T) {
			top, err := board.Fresh(ctx, leaderboard.AllTime, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for _, e := range top {
				got = append(got, row{e.ProductID, e.Rank})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Top(%d) = %v, want %v", tt.n, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Top(%d) = %v, want %v", tt.n, got, tt.want)
					break
				}
			}
		})
	}
	for id, want := range map[int64]leaderboard.Rank{1: {1, 50}, 3: {2, 40}, 9: {3, 30}, 10: {3, 30}, 100: {3, 30}, 2: {6, 10}, 5: {7, 0}, 4: {8, -5}, 999: {}} {
		if got, err := board.Rank(ctx, id); err != nil || got != want {
			t.Errorf("Rank(%d) = %+v, %v; want %+v", id, got, err, want)
		}
	}
}

func TestRecordMovesTheBoards(t *testing.T) {
	pool := testenv.DB(t)
	ctx := context.Background()
	insertProduct(t, pool, 1, true, "lamps")
	insertProduct(t, pool, 2, true, "")
	insertSale(t, pool, time.Now().AddDate(0, 0, -3), map[int64]int{1: 5})
	insertSale(t, pool, time.Now().AddDate(0, 0, -30), map[int64]int{2: 7})
	board, rdb := newBoard(t, pool)
	res, err := board.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Days != 1 || res.Categories != 1 {
		t.Errorf("Rebuild() = %+v, want 1 day board and 1 category board", res)
	}
	if top, _ := board.Top(ctx, leaderboard.Scope{Week: true}, 10); len(top) != 1 || top[0].ProductID != 1 {
		t.Errorf("7-day Top before the sale = %+v, want product 1 only", top)
	}

	ps := rdb.Subscribe(ctx, board.Channel())
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := board.Record(ctx, now, []leaderboard.Line{{ProductID: 2, Quantity: 10}, {ProductID: 1, Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	msg, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ev leaderboard.Event
	if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil || len(ev.Products) != 2 {
		t.Errorf("event %q: %v, want the two products", msg.Payload, err)
	}
	checks := []struct {
		key    string
		member string
		want   float64
	}{
		{board.AllKey(), "2", 17},
		{board.AllKey(), "1", 6},
		{board.DayKey(now), "2", 10},
		{board.CategoryKey("lamps"), "1", 6},
	}
	for _, c := range checks {
		if got := rdb.ZScore(ctx, c.key, c.member).Val(); got != c.want {
			t.Errorf("ZSCORE %s %s = %v, want %v", c.key, c.member, got, c.want)
		}
	}
	if ttl := rdb.TTL(ctx, board.DayKey(now)).Val(); ttl < 7*24*time.Hour || ttl > 8*24*time.Hour {
		t.Errorf("TTL of today's board = %v, want 7 to 8 days", ttl)
	}
	week, err := board.Top(ctx, leaderboard.Scope{Week: true}, 10)
	if err != nil || len(week) != 2 || week[0].ProductID != 2 || week[0].Units != 10 || week[1].Units != 6 {
		t.Errorf("7-day Top = %+v, %v; want product 2 (10) then 1 (6)", week, err)
	}
	if cat, err := board.Top(ctx, leaderboard.Scope{Category: "lamps"}, 10); err != nil || len(cat) != 1 || cat[0].Units != 6 {
		t.Errorf("Top(lamps) = %+v, %v; want product 1 with 6", cat, err)
	}
	if top, err := board.Top(ctx, leaderboard.AllTime, 1); err != nil || top[0].ProductID != 2 {
		t.Errorf("Top(1) after the sale = %+v, %v; want product 2 (the checkout dropped the cached list)", top, err)
	}
}

func TestRecordFailureMarksTheBoardForRepair(t *testing.T) {
	pool := testenv.DB(t)
	ctx := context.Background()
	insertProduct(t, pool, 1, true, "")
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	broken := leaderboard.New(down, pool, "x:", discard)
	if err := broken.Record(ctx, time.Now(), []leaderboard.Line{{ProductID: 1, Quantity: 1}}); err == nil {
		t.Fatal("Record with Redis down = nil, want an error")
	}
	if !broken.Dirty() {
		t.Error("Dirty() after a failed Record = false, want true")
	}
	if _, err := broken.Repair(ctx); err == nil || !broken.Dirty() {
		t.Errorf("Repair with Redis still down = %v, dirty %v; want an error and still dirty", err, broken.Dirty())
	}

	// Redis lost the board: Repair rebuilds it.
	board, rdb := newBoard(t, pool)
	insertSale(t, pool, time.Now(), map[int64]int{1: 4})
	if rebuilt, err := board.Repair(ctx); err != nil || !rebuilt {
		t.Errorf("Repair with no board = %v, %v; want a rebuild", rebuilt, err)
	}
	if got := rdb.ZScore(ctx, board.AllKey(), "1").Val(); got != 4 {
		t.Errorf("ZSCORE after Repair = %v, want 4", got)
	}
	if rebuilt, err := board.Repair(ctx); err != nil || rebuilt {
		t.Errorf("Repair of a whole board = %v, %v; want nothing done", rebuilt, err)
	}
}

func TestRebuildUnderConcurrentReadsNeverShowsAPartialBoard(t *testing.T) {
	pool := testenv.SeededDB(t)
	board, rdb := newBoard(t, pool)
	ctx := context.Background()
	if _, err := board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	want := rdb.ZCard(ctx, board.AllKey()).Val()
	first, _ := board.Fresh(ctx, leaderboard.AllTime, 10)

	stop := make(chan struct{})
	var reads, bad atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := rdb.ZCard(ctx, board.AllKey()).Result()
				top, err2 := board.Fresh(ctx, leaderboard.AllTime, 10)
				reads.Add(1)
				if err != nil || err2 != nil || n != want || len(top) != 10 || top[0] != first[0] {
					bad.Add(1)
					t.Errorf("during rebuild: ZCARD = %d (%v), top %d entries (%v); want %d and the same top", n, err, len(top), err2, want)
				}
			}
		})
	}
	for range 5 {
		if _, err := board.Rebuild(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if reads.Load() < 20 {
		t.Errorf("only %d reads ran during the rebuilds", reads.Load())
	}
	t.Logf("%d reads during 5 rebuilds, %d bad", reads.Load(), bad.Load())
	if keys, _ := rdb.Keys(ctx, board.AllKey()[:len(board.AllKey())-3]+"tmp:*").Result(); len(keys) != 0 {
		t.Errorf("temporary keys left after rebuilds: %v", keys)
	}
}

func TestRebuildKeepsIncrementsMadeDuringIt(t *testing.T) {
	pool := testenv.SeededDB(t)
	board, rdb := newBoard(t, pool)
	ctx := context.Background()
	if _, err := board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	// Record a sale that Postgres does not have, over and over while rebuilds run: each
	// increment lands either before a rebuild's copy (and is then replaced by the SQL sum, as
	// it should: Postgres is the truth) or after it (and is kept).
	stop := make(chan struct{})
	var recorded atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := board.Record(ctx, time.Now(), []leaderboard.Line{{ProductID: 5000, Quantity: 1}}); err != nil {
				t.Error(err)
				return
			}
			recorded.Add(1)
		}
	})
	for range 3 {
		if _, err := board.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	// Everything recorded after the last rebuild's copy is on the board: at least one
	// increment, never more than were recorded.
	got := int64(rdb.ZScore(ctx, board.AllKey(), "5000").Val())
	if got < 1 || got > recorded.Load() {
		t.Errorf("ZSCORE 5000 after rebuilds during increments = %d, want 1 to %d", got, recorded.Load())
	}
	if n := rdb.ZCard(ctx, board.AllKey()).Val(); n != 4071 {
		t.Errorf("ZCARD = %d, want 4070 products + the one recorded", n)
	}
}

// TestConcurrentRebuildsDoNotDouble: two instances that start together both find the board
// missing and rebuild it at once; the board must still equal the SQL sums.
func TestConcurrentRebuildsDoNotDouble(t *testing.T) {
	pool := testenv.SeededDB(t)
	a, rdb := newBoard(t, pool)
	b := leaderboard.New(rdb, pool, strings.TrimSuffix(a.AllKey(), "lb:{bestsellers}:all"), discard) // same prefix
	ctx := context.Background()
	errs := make(chan error, 2)
	for _, board := range []*leaderboard.Board{a, b} {
		go func() { _, err := board.Rebuild(ctx); errs <- err }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	want := sqlUnits(t, pool)
	got := boardScores(t, rdb, a.AllKey())
	for id, units := range want {
		if got[id] != units {
			t.Fatalf("after two concurrent rebuilds ZSCORE all %s = %v, want the SQL sum %v", id, got[id], units)
		}
	}
}

// TestTopOutlivesPostgres: with Postgres gone (here its pool closed), a top list computed
// again takes its ranks from Redis and the names and prices this process last read, so the
// home page's bestsellers survive an outage longer than TopTTL (found by the chaos suite:
// every home page 503 in a 5-minute Postgres outage). A process that never read them fails.
func TestTopOutlivesPostgres(t *testing.T) {
	ctx := context.Background()
	pool := testenv.SeededDB(t)
	rdb, prefix := testenv.Redis(t)
	board := leaderboard.New(rdb, pool, prefix, discard)
	if _, err := board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := board.Fresh(ctx, leaderboard.AllTime, 10)
	if err != nil || len(before) != 10 {
		t.Fatalf("Fresh = %d entries, %v; want 10", len(before), err)
	}
	// A board of another process on the same Redis, which never read the products.
	other := leaderboard.New(rdb, pool, prefix, discard)
	pool.Close()
	after, err := board.Fresh(ctx, leaderboard.AllTime, 10)
	if err != nil {
		t.Fatalf("Fresh with Postgres gone = %v, want the names and prices last read", err)
	}
	if !slices.Equal(after, before) {
		t.Errorf("Fresh with Postgres gone = %v, want %v", after, before)
	}
	if _, err := other.Fresh(ctx, leaderboard.AllTime, 10); err == nil {
		t.Error("Fresh with Postgres gone, in a process that never read the products, succeeded")
	}
}
