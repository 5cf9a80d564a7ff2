package dataset_test

import (
	"context"
	"testing"

	"github.com/shopcache/shop/internal/dataset"
	"github.com/shopcache/shop/internal/testenv"
)

// TestFillCategoriesUpgradesOldImports: products imported before categories existed get
// the rule's category once; products with a category, or of another data set, keep theirs.
func TestFillCategoriesUpgradesOldImports(t *testing.T) {
	pool := testenv.SeededDB(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `UPDATE products SET category = '' WHERE sku <> '22423'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE products SET category = 'kept' WHERE sku = '22423'`); err != nil {
		t.Fatal(err)
	}
	n, err := dataset.FillCategories(ctx, pool)
	if err != nil || n != 4069 {
		t.Fatalf("FillCategories = %d, %v; want 4069", n, err)
	}
	rows, err := pool.Query(ctx, `SELECT name, category FROM products WHERE sku <> '22423'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, category string
		if err := rows.Scan(&name, &category); err != nil {
			t.Fatal(err)
		}
		if category != dataset.Categorize(name) {
			t.Errorf("%q filled as %q, want %q", name, category, dataset.Categorize(name))
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM products WHERE sku = '22423' AND category = 'kept'`); n != 1 {
		t.Error("a product with a category was changed")
	}
	if n, err := dataset.FillCategories(ctx, pool); err != nil || n != 0 {
		t.Errorf("second FillCategories = %d, %v; want 0", n, err)
	}
}
