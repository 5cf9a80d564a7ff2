package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/shopcache/shop/internal/pgretry"
)

// AdminSorts are the orders the admin's product list offers, by the name a URL uses; a
// leading '-' (e.g. "-price") reverses one. Every order ends with the id, so pages never
// overlap.
var AdminSorts = map[string]string{
	"id":      "p.id",
	"name":    "lower(p.name)",
	"price":   "p.price",
	"stock":   "p.stock",
	"updated": "p.updated_at",
}

// AdminQuery asks for one page of the admin's product list.
type AdminQuery struct {
	// Search matches products whose name or SKU contains it (case-insensitive), or whose id
	// it is; "" matches every product.
	Search string
	// Sort is a key of AdminSorts, optionally with a leading '-'; "" is "id".
	Sort string
	Page Page
}

// AdminList returns one page of every product — merchandise or not, in stock or not — for
// the admin's list, read from Postgres (never cached: the admin sees what is stored), and
// the number of products that match q in all. An unknown q.Sort is an error.
func (s *Store) AdminList(ctx context.Context, q AdminQuery) (items []Product, total int, err error) {
	column, ok := AdminSorts[strings.TrimPrefix(q.Sort, "-")]
	if q.Sort == "" {
		column, ok = AdminSorts["id"], true
	}
	if !ok {
		return nil, 0, fmt.Errorf("catalog: unknown sort %q", q.Sort)
	}
	dir := "ASC"
	if strings.HasPrefix(q.Sort, "-") {
		dir = "DESC"
	}
	// The pattern escapes LIKE's wildcards, so "50%" means the text "50%".
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Search) + "%"
	const match = `($1 = '' OR p.name ILIKE $2 OR p.sku ILIKE $2 OR p.id::text = $1)`
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error {
		s.wait(ctx)
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products p WHERE `+match, q.Search, pattern).Scan(&total); err != nil {
			return err
		}
		rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products p WHERE `+match+`
			ORDER BY `+column+` `+dir+`, p.id `+dir+` LIMIT $3 OFFSET $4`, q.Search, pattern, q.Page.Size, q.Page.Offset())
		items, err = pgx.CollectRows(rows, scanProduct)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: admin list %+v: %w", q, err)
	}
	return items, total, nil
}

// AdminList is Store.AdminList: the admin's list is read from Postgres, never the cache.
func (c *Cached) AdminList(ctx context.Context, q AdminQuery) ([]Product, int, error) {
	return c.store.AdminList(ctx, q)
}
