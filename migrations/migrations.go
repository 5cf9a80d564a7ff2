// Package migrations holds the numbered SQL files of the schema, embedded in the binary,
// and applies them with goose. It is used at start-up (shop serve), by shop migrate and by
// the test helpers that build template databases. It holds no queries of its own.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// FS holds the migration files, named NNNNN_what.sql.
//
//go:embed *.sql
var FS embed.FS

// Up applies every pending migration to db. Concurrent callers (several instances starting
// at once) are serialised by a Postgres advisory lock, so each migration runs exactly once.
// It returns the versions it applied, oldest first.
func Up(ctx context.Context, db *sql.DB) ([]int64, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrations: locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, FS,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: up: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}
