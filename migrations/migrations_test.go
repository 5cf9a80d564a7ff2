package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/migrations"
)

// contract lists the tables and columns that outside checks and later work rely on.
var contract = map[string][]string{
	"products":    {"id", "sku", "name", "description", "category", "price", "currency", "stock", "version", "updated_at"},
	"orders":      {"id", "user_id", "created_at"},
	"order_items": {"order_id", "product_id", "quantity", "unit_price"},
}

func TestUpOnAnEmptyDatabase(t *testing.T) {
	pool := testenv.Pool(t, testenv.EmptyDB(t))
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	ctx := context.Background()
	applied, err := migrations.Up(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 {
		t.Fatal("Up on an empty database applied nothing")
	}
	again, err := migrations.Up(ctx, db)
	if err != nil || len(again) != 0 {
		t.Errorf("second Up = %v, %v; want nothing applied", again, err)
	}
	for table, cols := range contract {
		for _, col := range cols {
			var n int
			err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
				WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`, table, col).Scan(&n)
			if err != nil || n != 1 {
				t.Errorf("column %s.%s: found %d (%v), want 1", table, col, n, err)
			}
		}
	}
	// Stock never goes below zero: the database itself refuses.
	_, err = pool.Exec(ctx, `INSERT INTO products (sku, name, price, currency, stock) VALUES ('X', 'x', 100, 'GBP', -1)`)
	if err == nil {
		t.Error("a product with stock -1 was accepted")
	}
}
