// Package testenv gives tests their own real Postgres database and Redis key space on the
// servers of the machine (see README: Test it). Databases are cloned from templates that are
// migrated (and, for SeededDB, loaded with the real data) once per schema version, and
// dropped when the test ends.
//
// SHOP_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
// names the server and a database to connect to for administration; SHOP_TEST_REDIS_URL
// (default redis://127.0.0.1:6379/0) names the Redis.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/dataset"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/migrations"
)

// AdminURL is the URL tests use to create and drop databases.
func AdminURL() string {
	if v := os.Getenv("SHOP_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL is the Redis tests use.
func RedisURL() string {
	if v := os.Getenv("SHOP_TEST_REDIS_URL"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

// DatabaseURL returns the URL of database name on the test server.
func DatabaseURL(tb testing.TB, name string) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(AdminURL())
	if err != nil {
		tb.Fatalf("SHOP_TEST_DATABASE_URL: %v", err)
	}
	u := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	return u
}

// EmptyDB returns the URL of a new database with nothing in it, dropped after the test.
func EmptyDB(tb testing.TB) string {
	tb.Helper()
	return cloneDB(tb, "")
}

// DB returns a pool on a new migrated database with an empty catalog, dropped after the test.
func DB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return Pool(tb, cloneDB(tb, template(tb, false)))
}

// SeededDB returns a pool on a new migrated database holding the online-retail products and
// order history, dropped after the test.
func SeededDB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return Pool(tb, cloneDB(tb, template(tb, true)))
}

// SeededDBURL is SeededDB's database URL, for tests that start the whole shop.
func SeededDBURL(tb testing.TB) string {
	tb.Helper()
	return cloneDB(tb, template(tb, true))
}

// Pool opens a pool on url as the shop does (queries counted in reqstats), closed after the test.
func Pool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	return pool(tb, url, nil)
}

// Queries counts the statements a CountingPool sends, and how many ran at once at most.
type Queries struct {
	total, inFlight, maxInFlight atomic.Int64
	mu                           sync.Mutex
	sql                          []string
}

// Matching is the number of statements sent whose SQL contains substr.
func (q *Queries) Matching(substr string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, s := range q.sql {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// Total is the number of statements sent.
func (q *Queries) Total() int64 { return q.total.Load() }

// MaxInFlight is the most statements that were running at one moment.
func (q *Queries) MaxInFlight() int64 { return q.maxInFlight.Load() }

// Reset sets both counts to zero.
func (q *Queries) Reset() {
	q.total.Store(0)
	q.maxInFlight.Store(0)
	q.mu.Lock()
	q.sql = nil
	q.mu.Unlock()
}

type countingTracer struct {
	reqstats.PGTracer
	q *Queries
}

func (t countingTracer) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.q.total.Add(1)
	t.q.mu.Lock()
	t.q.sql = append(t.q.sql, d.SQL)
	t.q.mu.Unlock()
	n := t.q.inFlight.Add(1)
	for m := t.q.maxInFlight.Load(); n > m && !t.q.maxInFlight.CompareAndSwap(m, n); m = t.q.maxInFlight.Load() {
	}
	return t.PGTracer.TraceQueryStart(ctx, c, d)
}

func (t countingTracer) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {
	t.q.inFlight.Add(-1)
}

// NewQueries returns an empty count; it counts the statements of whatever pool it traces
// (app.Config.QueryTracer).
func NewQueries() *Queries { return &Queries{} }

// TraceQueryStart implements pgx.QueryTracer: it counts the statement.
func (q *Queries) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return countingTracer{q: q}.TraceQueryStart(ctx, c, d)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (q *Queries) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {
	q.inFlight.Add(-1)
}

// CountingPool is Pool that also counts the statements it sends.
func CountingPool(tb testing.TB, url string) (*pgxpool.Pool, *Queries) {
	tb.Helper()
	q := &Queries{}
	return pool(tb, url, countingTracer{q: q}), q
}

func pool(tb testing.TB, url string, tracer pgx.QueryTracer) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	if tracer == nil {
		tracer = reqstats.PGTracer{}
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// Redis returns a client of the test Redis, closed after the test, and a key prefix of the
// test's own ("test:<random>:"); keys under it are deleted after the test.
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		tb.Fatalf("SHOP_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("test Redis at %s: %v (start it: see README, Test it)", RedisURL(), err)
	}
	prefix := "test:" + randomName() + ":"
	tb.Cleanup(func() {
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

func admin(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("test Postgres at %s: %v (start it: see README, Test it)", AdminURL(), err)
	}
	return conn
}

// cloneDB creates a database from template (none when empty) and drops it after the test.
func cloneDB(tb testing.TB, template string) string {
	tb.Helper()
	ctx := context.Background()
	conn := admin(tb)
	defer conn.Close(ctx)
	name := "shop_t_" + randomName()
	sql := "CREATE DATABASE " + name
	if template != "" {
		sql += " TEMPLATE " + template
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		conn := admin(tb)
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	return DatabaseURL(tb, name)
}

// template returns the name of a template database for the current migrations, building it
// when missing. Test binaries run in parallel; an advisory lock makes one of them build it.
func template(tb testing.TB, seeded bool) string {
	tb.Helper()
	name := "shop_tmpl_" + schemaHash(tb)
	if seeded {
		name += "_seeded"
	}
	ctx := context.Background()
	conn := admin(tb)
	defer conn.Close(ctx)
	const lockKey = 0x73686f70746d706c // "shoptmpl"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockKey)); err != nil {
		tb.Fatal(err)
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(lockKey))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		tb.Fatal(err)
	}
	if exists {
		return name
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		tb.Fatal(err)
	}
	func() {
		pool, err := pgxpool.New(ctx, DatabaseURL(tb, building))
		if err != nil {
			tb.Fatal(err)
		}
		defer pool.Close()
		db := stdlib.OpenDBFromPool(pool)
		defer db.Close()
		if _, err := migrations.Up(ctx, db); err != nil {
			tb.Fatalf("migrate template: %v", err)
		}
		if seeded {
			if _, err := dataset.Load(ctx, pool, dataset.OnlineRetail, true, io.Discard); err != nil {
				tb.Fatalf("seed template: %v", err)
			}
		}
	}()
	// Rename last, so a template that exists is complete.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// schemaHash identifies the migrations and data files, so a changed schema gets new templates.
func schemaHash(tb testing.TB) string {
	tb.Helper()
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	h.Write([]byte(dataset.Version))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
