// Package dataset holds the real data sets the shop is seeded with, embedded in the binary
// with their licences beside them, and loads them into Postgres with COPY.
//
// Two data sets exist:
//
//   - "online-retail" (the default): the 4,070 stock codes of a real UK gift-ware retailer and,
//     with the order history, its 541,909 real order lines of 2010-12 to 2011-12 (UCI "Online
//     Retail", CC0; see data/online-retail/README.md).
//   - "dummyjson": 194 demo products with categories, brands, ratings, stock and reviews
//     (DummyJSON, MIT; see data/dummyjson/LICENSE). Reviewer names and e-mails are not stored.
//
// How the messy rows of the order history are stored (every line is kept, none is dropped):
//
//   - Each invoice becomes one row of orders with invoice_no set and user_id null. Invoices
//     starting with "C" are kind 'cancellation', with "A" kind 'adjustment', others 'sale'.
//     An invoice whose lines carry several timestamps (43 do) is dated at the earliest.
//   - Each line becomes one row of order_items, numbered by its place in the invoice;
//     negative quantities (cancellations, returns, stock adjustments) are kept as they are.
//   - Prices become minor units (pence), rounded half away from zero: the four lines priced
//     £0.001 become 0; negative prices (bad-debt adjustments) are kept.
//   - A line without a CustomerID has customer_ref null.
//   - Non-merchandise codes (postage, fees, "DOT", "BANK CHARGES", … — is_merchandise false in
//     products.csv, and the few services that file calls merchandise: "Next Day Carriage",
//     "PACKING CHARGE", "High Resolution Image", gift vouchers; see NotMerchandise), the 148
//     codes that never sold (no name, no price) and codes whose price rounds to £0.00 are
//     products with merchandise = false: their lines stay queryable, but they are never
//     listed, searched or sold.
//   - Names are stored as the source wrote them (upper case); pages show them through
//     internal/titlecase. The source has no descriptions: products get none, and the product
//     page says once what the data is. Categories are derived from the names (Categorize).
//   - Descriptions (dummyjson) are sanitised to a safe subset of HTML (internal/richtext).
//
// Products get stock = a month's sales at the 2010–11 rate (units_sold / 12, at least 10) for
// listed merchandise and 0 otherwise: the source has no stock column.
//
// Loading is idempotent: products are inserted with ON CONFLICT (sku) DO NOTHING, and the order
// history is imported only into a database that has none; all of one Load runs in one
// transaction under an advisory lock, so two instances seeding at once import it once.
package dataset

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed data/online-retail/products.csv data/online-retail/online_retail.csv.gz data/dummyjson/products.json
var files embed.FS

// Names of the data sets, as given to shop seed --dataset.
const (
	OnlineRetail = "online-retail"
	DummyJSON    = "dummyjson"
)

// Version names the loading rules; bump it when they change what Load writes, so that test
// databases seeded under older rules are rebuilt.
const Version = "3"

// Names lists the data sets that Load accepts; the first is the default.
var Names = []string{OnlineRetail, DummyJSON}

// ErrUnknown is returned by Load for a data set name not in Names.
var ErrUnknown = errors.New("dataset: unknown data set")

// ErrNoOrders is returned by Load when an order history is asked of a data set without one.
var ErrNoOrders = errors.New("dataset: this data set has no order history")

// Result counts what one Load found in the files and what it inserted.
type Result struct {
	Products, ProductsInserted     int
	Reviews, ReviewsInserted       int
	Orders, OrdersInserted         int // invoices
	OrderLines, OrderLinesInserted int
	Took                           time.Duration
}

// advisoryLockKey serialises concurrent Loads; any constant works, this is "shopseed" in ASCII.
const advisoryLockKey = 0x73686f7073656564

// Load inserts data set name (one of Names) into the database, and its order history when
// withOrders is set. It writes progress lines to progress. It returns ErrUnknown or
// ErrNoOrders for a bad request; any other error leaves the database as it was.
func Load(ctx context.Context, pool *pgxpool.Pool, name string, withOrders bool, progress io.Writer) (Result, error) {
	start := time.Now()
	var load func(context.Context, pgx.Tx, io.Writer) (Result, error)
	switch {
	case name == OnlineRetail && withOrders:
		load = loadOnlineRetailWithOrders
	case name == OnlineRetail:
		load = loadOnlineRetailProducts
	case name == DummyJSON && withOrders:
		return Result{}, fmt.Errorf("%w: %s", ErrNoOrders, name)
	case name == DummyJSON:
		load = loadDummyJSON
	default:
		return Result{}, fmt.Errorf("%w: %q (want one of %v)", ErrUnknown, name, Names)
	}
	var res Result
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(advisoryLockKey)); err != nil {
			return err
		}
		var err error
		res, err = load(ctx, tx, progress)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("dataset: load %s: %w", name, err)
	}
	// Fresh statistics, so the planner does not plan the first pages for empty tables
	// (before autovacuum gets to them, /orders took 210-475 ms; after, 0.17 ms).
	fmt.Fprintln(progress, "updating the planner's statistics (ANALYZE)")
	if _, err := pool.Exec(ctx, `ANALYZE products, reviews, orders, order_items`); err != nil {
		return Result{}, fmt.Errorf("dataset: analyze after loading %s: %w", name, err)
	}
	res.Took = time.Since(start)
	return res, nil
}

// productRow is a product as the files give it, before it has an id.
type productRow struct {
	sku, name, description, category, brand string
	price                                   int64
	currency                                string
	stock                                   int
	rating                                  *int
	merchandise                             bool
	lines, units                            int // sale lines and units of the order history (online-retail only)
}

// insertProducts inserts rows whose sku is not yet in products, and returns the ids of all
// rows by sku, old and new, and how many it inserted.
func insertProducts(ctx context.Context, tx pgx.Tx, rows []productRow) (map[string]int64, int, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_products (
		seq serial, sku text, name text, description text, category text, brand text,
		price bigint, currency text, stock integer, rating integer, merchandise boolean
	) ON COMMIT DROP`); err != nil {
		return nil, 0, err
	}
	cols := []string{"sku", "name", "description", "category", "brand", "price", "currency", "stock", "rating", "merchandise"}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_products"}, cols,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{r.sku, r.name, r.description, r.category, r.brand, r.price, r.currency, r.stock, r.rating, r.merchandise}, nil
		}))
	if err != nil {
		return nil, 0, fmt.Errorf("copy products: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO products (sku, name, description, category, brand, price, currency, stock, rating, merchandise)
		SELECT sku, name, description, category, brand, price, currency, stock, rating, merchandise
		FROM stage_products ORDER BY seq
		ON CONFLICT (sku) DO NOTHING`)
	if err != nil {
		return nil, 0, fmt.Errorf("insert products: %w", err)
	}
	ids := make(map[string]int64, len(rows))
	dbRows, _ := tx.Query(ctx, `SELECT p.sku, p.id FROM products p JOIN stage_products s USING (sku)`)
	var sku string
	var id int64
	_, err = pgx.ForEachRow(dbRows, []any{&sku, &id}, func() error { ids[sku] = id; return nil })
	if err != nil {
		return nil, 0, fmt.Errorf("read product ids: %w", err)
	}
	return ids, int(tag.RowsAffected()), nil
}
