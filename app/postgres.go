package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/shopcache/shop/internal/dataset"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/migrations"
)

// OpenPostgres connects to databaseURL, creating the database first when it does not exist,
// and returns a pool whose queries are counted in each request's reqstats and, when onQuery
// is not nil, by onQuery (given the statement's context); tracer, when not nil, is also told of each statement.
//
// statementTimeout, when above zero, is every session's statement_timeout (rounded down to
// whole milliseconds): the server ends a statement that runs longer. Whatever the timeout, a
// statement whose context ends is cancelled on the server too (a cancel request), not only
// abandoned on the client: pgx's default only closes the socket, and a query waiting on a
// lock then keeps running on the server until the lock is released.
func OpenPostgres(ctx context.Context, databaseURL string, logger *slog.Logger, onQuery func(context.Context), tracer pgx.QueryTracer, statementTimeout time.Duration) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("SHOP_DATABASE_URL: %w", err)
	}
	if statementTimeout > 0 {
		pcfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(statementTimeout.Milliseconds(), 10)
	}
	pcfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		// Send PostgreSQL a cancel request at once; if the server has not answered a second
		// later, give up on the connection as pgx's default does.
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	pcfg.ConnConfig.Tracer = reqstats.PGTracer{OnQuery: onQuery}
	if tracer != nil {
		pcfg.ConnConfig.Tracer = bothTracers{pcfg.ConnConfig.Tracer, tracer}
	}
	created, err := createDatabase(ctx, pcfg.ConnConfig)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created database", "name", pcfg.ConnConfig.Database, "host", pcfg.ConnConfig.Host)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return pool, nil
}

// createDatabase creates the database of cfg when it is missing, connecting to the
// "postgres" maintenance database of the same server to do so. It reports whether it
// created it; another instance creating it at the same moment is not an error.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return false, conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return false, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return false, fmt.Errorf("postgres: connect to create database %q: %w", cfg.Database, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	// duplicate_database, or the unique index of pg_database when two CREATEs race: another
	// instance won, and the database is there.
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: create database %q: %w", cfg.Database, err)
	}
	return true, nil
}

// Migrate applies pending migrations over a database/sql handle borrowed from pool and
// returns the versions applied; then it gives the default data set's products without a
// category theirs (dataset.FillCategories).
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	applied, err := migrations.Up(ctx, db)
	if err != nil {
		return applied, err
	}
	// Data the migrations cannot write in SQL: the default data set's categories, derived
	// by a Go rule, for products imported before it (a no-op once they have them).
	if _, err := dataset.FillCategories(ctx, pool); err != nil {
		return applied, err
	}
	return applied, nil
}

// bothTracers tells two tracers of every statement.
type bothTracers [2]pgx.QueryTracer

func (t bothTracers) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return t[1].TraceQueryStart(t[0].TraceQueryStart(ctx, c, d), c, d)
}

func (t bothTracers) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {
	t[0].TraceQueryEnd(ctx, c, d)
	t[1].TraceQueryEnd(ctx, c, d)
}
