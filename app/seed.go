package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopcache/shop/internal/dataset"
)

// seedIfEmpty loads the default data set with its order history into an empty catalog, so a
// newcomer never sees an empty shop.
// Each progress line is logged, and written to also when it is set.
func seedIfEmpty(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, also io.Writer) error {
	var empty bool
	if err := pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM products)`).Scan(&empty); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !empty {
		return nil
	}
	logger.Info("catalog is empty: seeding the default data set with its order history (SHOP_SEED=false turns this off)",
		"dataset", dataset.Names[0])
	var progress io.Writer = slogWriter{logger}
	if also != nil {
		progress = io.MultiWriter(progress, also)
		fmt.Fprintf(also, "importing the default data set %s into the empty catalog\n", dataset.Names[0])
	}
	res, err := dataset.Load(ctx, pool, dataset.Names[0], true, progress)
	if err != nil {
		return err
	}
	logger.Info("seeded", "dataset", dataset.Names[0], "products", res.ProductsInserted,
		"orders", res.OrdersInserted, "order_lines", res.OrderLinesInserted, "took", res.Took)
	// The import's parsed rows (about 100 MB of heap for the order history) are garbage now;
	// without this the runtime would keep that memory mapped, and the shop would serve with
	// the import's peak as its resident size (docs/benchmarks.md: memory).
	debug.FreeOSMemory()
	return nil
}

// slogWriter logs each line written to it at info level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}
