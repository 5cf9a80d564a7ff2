// Package pgretry runs Postgres reads again when they failed only because the schema
// changed under the pool's cached prepared statements. It holds no retry policy beyond that
// one case: other errors (a server away, a timeout) are the caller's to handle.
package pgretry

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// Resetter is a connection pool that can drop its connections (*pgxpool.Pool).
type Resetter interface {
	Reset()
}

// Read runs read and, when it fails with "cached plan must not change result type" (SQLSTATE
// 0A000: a column's type changed, ALTER TABLE … ALTER COLUMN … TYPE, since a pooled
// connection prepared the statement), resets the pool and runs it once more. pgx forgets a
// statement that failed only on the connection it failed on, so without the reset the next
// try may meet the same error on another connection: one failure per pooled connection
// and statement. The reset closes idle connections at once and the others when they are
// released; the second try runs on a connection that prepares its statements afresh.
//
// Use it for reads outside a transaction only: a failed statement aborts its transaction,
// and a write must not run twice.
func Read(ctx context.Context, pool Resetter, read func(ctx context.Context) error) error {
	err := read(ctx)
	if !PlanChanged(err) || ctx.Err() != nil {
		return err
	}
	pool.Reset()
	return read(ctx)
}

// PlanChanged reports whether err is Postgres's "cached plan must not change result type".
func PlanChanged(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "0A000" && pgErr.Message == "cached plan must not change result type"
}
