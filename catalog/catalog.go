// Package catalog holds the shop's products: their type, the Postgres queries that read them
// and the price formatting shown on every page. It knows nothing of HTTP. The caching layers
// in front of these queries are added by the cache package's strategies, not here.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopcache/shop/internal/pgretry"

	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/internal/picture"
	"github.com/shopcache/shop/internal/richtext"
	"github.com/shopcache/shop/internal/titlecase"
)

var (
	// ErrNotFound is returned when a product or category does not exist.
	ErrNotFound = errors.New("catalog: not found")
	// ErrConflict is returned by UpdateProduct when the product changed since the version
	// the editor started from.
	ErrConflict = errors.New("catalog: the product changed meanwhile")
)

// Product is one row of the products table.
type Product struct {
	ID          int64
	SKU         string
	Name        string
	Description string
	Category    string // empty when the data set has no categories
	Brand       string // empty when unknown
	Price       int64  // minor units of Currency (pence, cents)
	Currency    string // ISO 4217 code, e.g. "GBP"
	Stock       int    // units on hand, never negative
	Rating      *int   // hundredths of a star out of 500 (4.56 stars = 456); nil when unrated
	Merchandise bool   // false for postage, fees and bookkeeping codes, which are never listed
	Version     int64  // bumped on every change of the row
	UpdatedAt   time.Time
}

// DisplayName is Name as a shopper reads it: title case for the upper-case names of the
// default data set, acronyms, sizes and codes kept ("WHITE HANGING HEART T-LIGHT HOLDER" ->
// "White Hanging Heart T-Light Holder"); see internal/titlecase. The stored Name is the
// source text, kept for search and the admin editor.
func (p Product) DisplayName() string { return titlecase.Name(p.Name) }

// DescriptionHTML is Description sanitised to the safe subset of HTML (internal/richtext),
// for a template to insert as it is.
func (p Product) DescriptionHTML() template.HTML { return richtext.HTML(p.Description) }

// PictureURL is the address of the product's drawn picture (internal/picture):
// "/pictures/{id}/{version}.svg", the version a hash of what it is drawn from, so the
// address changes when the picture would and can be cached for good.
func (p Product) PictureURL() string {
	return fmt.Sprintf("/pictures/%d/%s.svg", p.ID, picture.Version(p.PictureSubject()))
}

// PictureSubject is what the product's picture is drawn from.
func (p Product) PictureSubject() picture.Subject {
	return picture.Subject{SKU: p.SKU, Name: p.Name, Category: p.Category}
}

// DisplayPrice is Price formatted for a shopper, e.g. "£2.95".
func (p Product) DisplayPrice() string { return money.Format(p.Price, p.Currency) }

// Stars is Rating as a star count with two decimals, e.g. "4.56"; empty when unrated.
func (p Product) Stars() string {
	if p.Rating == nil {
		return ""
	}
	return fmt.Sprintf("%d.%02d", *p.Rating/100, *p.Rating%100)
}

// Review is a customer review of a product, without the reviewer's name or e-mail.
type Review struct {
	Rating    int // 1 to 5 stars
	Comment   string
	CreatedAt time.Time
}

// Bestseller is a product with its net units sold in the order history.
type Bestseller struct {
	Product
	Units int64 // sum of quantities over all order lines, cancellations (negative) included
}

// Page asks for one page of a listing. Number counts from 1.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// Sort is the order of a listing; the zero value is the catalog's own order (by id, which
// for the default data set is its popularity in the source).
type Sort string

// The orders a listing can be sorted in.
const (
	SortDefault     Sort = ""
	SortBestselling Sort = "bestselling" // most net units sold in the order history first
	SortPriceAsc    Sort = "price_asc"   // cheapest first
	SortPriceDesc   Sort = "price_desc"  // dearest first
	SortName        Sort = "name"        // A to Z
	SortNewest      Sort = "newest"      // most recently added first (highest id)
)

// Sorts lists the valid sorts, in the order a sort menu shows them.
var Sorts = []Sort{SortDefault, SortBestselling, SortPriceAsc, SortPriceDesc, SortName, SortNewest}

// orderBy is the ORDER BY clause of each Sort; every order ends with the id, so pages never
// overlap.
var orderBy = map[Sort]string{
	SortDefault:     `p.id`,
	SortBestselling: `coalesce(b.units, 0) DESC, p.id`,
	SortPriceAsc:    `p.price, p.id`,
	SortPriceDesc:   `p.price DESC, p.id`,
	SortName:        `lower(p.name), p.id`,
	SortNewest:      `p.id DESC`,
}

// Valid reports whether s is one of Sorts.
func (s Sort) Valid() bool { _, ok := orderBy[s]; return ok }

// Filter narrows and orders a product listing. The zero value lists every merchandise
// product in the catalog's order.
type Filter struct {
	Category string // exact category name; empty for all
	Sort     Sort
	MinPrice int64 // lowest price in minor units, inclusive; 0 for no bound
	MaxPrice int64 // highest price in minor units, inclusive; 0 for no bound
	Page     Page
}

// Category is a category with the number of merchandise products in it.
type Category struct {
	Name     string
	Products int
}

// ProductPage is what a product page shows: the product and its newest reviews. It is the
// value cached under product:{id}, versioned by Product.Version.
type ProductPage struct {
	Product Product
	Reviews []Review // newest first, at most ReviewsPerPage
}

// ReviewsPerPage is how many reviews a product page shows.
const ReviewsPerPage = 10

// Store reads and writes products in Postgres.
type Store struct {
	pool    *pgxpool.Pool
	latency time.Duration

	// beforeCommit, when set (export_test.go), runs inside UpdateProduct's transaction just
	// before the commit: a test hook to look at the cache while the change is not committed.
	beforeCommit func(id int64)
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// WithLatency makes every query of the store wait d first (SHOP_DB_LATENCY): a demonstration
// of a slower database, so that the cache's effect shows on a laptop. It returns s.
func (s *Store) WithLatency(d time.Duration) *Store {
	s.latency = d
	return s
}

// wait sleeps the demonstration latency, or until ctx ends.
func (s *Store) wait(ctx context.Context) {
	if s.latency <= 0 {
		return
	}
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

const productColumns = `p.id, p.sku, p.name, p.description, p.category, p.brand, p.price,
	p.currency, p.stock, p.rating, p.merchandise, p.version, p.updated_at`

func scanProduct(row pgx.CollectableRow) (Product, error) {
	var p Product
	err := row.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.Category, &p.Brand, &p.Price,
		&p.Currency, &p.Stock, &p.Rating, &p.Merchandise, &p.Version, &p.UpdatedAt)
	return p, err
}

// findProduct returns the product with id, or ErrNotFound.
func (s *Store) findProduct(ctx context.Context, id int64) (Product, error) {
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1`, id)
	p, err := pgx.CollectExactlyOneRow(rows, scanProduct)
	if errors.Is(err, pgx.ErrNoRows) {
		return Product{}, fmt.Errorf("catalog: find product %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Product{}, fmt.Errorf("catalog: find product %d: %w", id, err)
	}
	return p, nil
}

// listProducts returns one page of the merchandise products that match f, in f.Sort's
// order, and the number of them in all. An unknown f.Category returns ErrNotFound; a known
// one with nothing in the price range an empty page.
func (s *Store) listProducts(ctx context.Context, f Filter) ([]Product, int, error) {
	order, ok := orderBy[f.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("catalog: unknown sort %q", f.Sort)
	}
	s.wait(ctx)
	const match = `p.merchandise AND p.price > 0 AND ($1 = '' OR p.category = $1)
		AND ($2 = 0 OR p.price >= $2) AND ($3 = 0 OR p.price <= $3)`
	var total int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products p WHERE `+match,
		f.Category, f.MinPrice, f.MaxPrice).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: count products: %w", err)
	}
	if total == 0 && f.Category != "" {
		var exists bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE merchandise AND category = $1)`, f.Category).Scan(&exists)
		if err != nil {
			return nil, 0, fmt.Errorf("catalog: find category: %w", err)
		}
		if !exists {
			return nil, 0, fmt.Errorf("catalog: category %q: %w", f.Category, ErrNotFound)
		}
	}
	from := `products p`
	if f.Sort == SortBestselling {
		// The same measure as the bestseller boards: net units over the whole history.
		from = `products p LEFT JOIN (
			SELECT product_id, sum(quantity) AS units FROM order_items GROUP BY product_id
		) b ON b.product_id = p.id`
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+` FROM `+from+` WHERE `+match+`
		ORDER BY `+order+` LIMIT $4 OFFSET $5`, f.Category, f.MinPrice, f.MaxPrice, f.Page.Size, f.Page.Offset())
	items, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list products: %w", err)
	}
	return items, total, nil
}

// SearchResult is one page of search results.
type SearchResult struct {
	Products []Product
	Total    int // matches in all
	// Suggestion is the query with each word replaced by the nearest word of the catalog's
	// names ("did you mean"), when the typed query matched nothing and the suggestion
	// differs; empty otherwise.
	Suggestion string
	// Corrected is set when the typed query matched nothing and Products are the matches of
	// Suggestion instead.
	Corrected bool
	// CommonOnly is set when the query holds no word to search for: only words too common
	// to mean anything ("the", "and") or no letters at all. Nothing is searched.
	CommonOnly bool
}

// searchWords splits a query into lower-case words of letters and digits: "T-Light holder!"
// -> [t light holder]. Anything else (quotes, operators) separates words.
func searchWords(query string) []string {
	return strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// tsQuery is the text search query of words: all of them must match, stemmed as English,
// the last one also as a prefix when it has two characters or more, so that results come
// as the shopper types ("hear" finds "heart"). Words are letters and digits only, which
// to_tsquery reads literally.
func tsQuery(words []string) string {
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = w
		if i == len(words)-1 && utf8.RuneCountInString(w) >= 2 {
			terms[i] += ":*"
		}
	}
	return strings.Join(terms, " & ")
}

// maxSuggestWords is the longest query (in words) that gets a "did you mean": each word is
// compared with the whole vocabulary of the catalog's names, and a longer query that
// matches nothing is a sentence or noise, not a typo.
const maxSuggestWords = 6

// searchProducts returns one page of the merchandise products that match query, best match
// first, as SearchResult describes. Every word of the query must be found in the name,
// category, brand, code or description (stemmed as English, the last word also as a
// prefix); names weigh most, descriptions least, and ties go by id. When nothing matches,
// each word is replaced by the catalog word (of three letters or more, in the listed
// products' names) that scores highest on pg_trgm similarity (at least 0.3) plus 0.05 ×
// ln(how many names hold it) — so a common word beats a rare one that is a hair more
// similar: "hart" is "heart" (similarity 0.375, 200+ names), not "hare" (0.43, 2 names) —
// and that query is searched; not for a query of more than maxSuggestWords words. A word of
// the catalog stays as it is.
func (s *Store) searchProducts(ctx context.Context, query string, page Page) (SearchResult, error) {
	words := searchWords(query)
	if len(words) == 0 {
		return SearchResult{CommonOnly: true}, nil
	}
	s.wait(ctx)
	var terms int
	if err := s.pool.QueryRow(ctx, `SELECT numnode(to_tsquery('english', $1))`, tsQuery(words)).Scan(&terms); err != nil {
		return SearchResult{}, fmt.Errorf("catalog: search %q: %w", query, err)
	}
	if terms == 0 {
		return SearchResult{CommonOnly: true}, nil
	}
	res, err := s.match(ctx, tsQuery(words), page)
	if err != nil || res.Total > 0 || len(words) > maxSuggestWords {
		return res, err
	}
	// MATERIALIZED: the vocabulary is built once per query, not once per word.
	rows, _ := s.pool.Query(ctx, `WITH vocab AS MATERIALIZED (
			SELECT w, count(*) AS n FROM products p, regexp_split_to_table(lower(p.name), '[^[:alnum:]]+') w
			WHERE p.merchandise AND length(w) >= 3 GROUP BY w
		)
		SELECT coalesce((SELECT w FROM vocab WHERE similarity(w, q.word) >= 0.3
			ORDER BY w = q.word DESC, similarity(w, q.word) + 0.05 * ln(n) DESC, w LIMIT 1), q.word)
		FROM unnest($1::text[]) WITH ORDINALITY AS q(word, i) ORDER BY q.i`, words)
	fixed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return SearchResult{}, fmt.Errorf("catalog: suggest for %q: %w", query, err)
	}
	suggestion := strings.Join(fixed, " ")
	if suggestion == strings.Join(words, " ") {
		return res, nil
	}
	res, err = s.match(ctx, tsQuery(fixed), page)
	if err != nil {
		return SearchResult{}, err
	}
	res.Suggestion, res.Corrected = suggestion, res.Total > 0
	if !res.Corrected {
		res.Products = nil
	}
	return res, nil
}

// match returns one page of the merchandise products that match the text search query tsq.
func (s *Store) match(ctx context.Context, tsq string, page Page) (SearchResult, error) {
	const match = `p.merchandise AND p.price > 0 AND p.search @@ to_tsquery('english', $1)`
	var res SearchResult
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products p WHERE `+match, tsq).Scan(&res.Total); err != nil {
		return SearchResult{}, fmt.Errorf("catalog: count search %q: %w", tsq, err)
	}
	if res.Total == 0 {
		return res, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products p WHERE `+match+`
		ORDER BY ts_rank(p.search, to_tsquery('english', $1)) DESC, p.id
		LIMIT $2 OFFSET $3`, tsq, page.Size, page.Offset())
	var err error
	if res.Products, err = pgx.CollectRows(rows, scanProduct); err != nil {
		return SearchResult{}, fmt.Errorf("catalog: search %q: %w", tsq, err)
	}
	return res, nil
}

// listCategories returns the categories that have merchandise with their product counts,
// sorted by name. It is empty when the data set has no categories.
func (s *Store) listCategories(ctx context.Context) ([]Category, error) {
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT category, count(*) FROM products
		WHERE merchandise AND category <> '' GROUP BY category ORDER BY category`)
	names, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Category])
	if err != nil {
		return nil, fmt.Errorf("catalog: list categories: %w", err)
	}
	return names, nil
}

// listFeatured returns n in-stock merchandise products, a selection that changes once a day.
func (s *Store) listFeatured(ctx context.Context, n int) ([]Product, error) {
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products p
		WHERE p.merchandise AND p.price > 0 AND p.stock > 0
		ORDER BY hashtext(p.sku || current_date::text), p.id LIMIT $1`, n)
	items, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, fmt.Errorf("catalog: list featured: %w", err)
	}
	return items, nil
}

// listBestsellers returns the n merchandise products with the most net units sold over the
// whole order history, most first; ties are broken by product id.
func (s *Store) listBestsellers(ctx context.Context, n int) ([]Bestseller, error) {
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+`, b.units FROM (
			SELECT product_id, sum(quantity) AS units FROM order_items GROUP BY product_id
		) b JOIN products p ON p.id = b.product_id
		WHERE p.merchandise AND b.units > 0
		ORDER BY b.units DESC, p.id LIMIT $1`, n)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Bestseller, error) {
		var b Bestseller
		p := &b.Product
		err := row.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.Category, &p.Brand, &p.Price,
			&p.Currency, &p.Stock, &p.Rating, &p.Merchandise, &p.Version, &p.UpdatedAt, &b.Units)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: list bestsellers: %w", err)
	}
	return items, nil
}

// listReviews returns up to n reviews of product id, newest first.
func (s *Store) listReviews(ctx context.Context, id int64, n int) ([]Review, error) {
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT rating, comment, created_at FROM reviews
		WHERE product_id = $1 ORDER BY created_at DESC, id LIMIT $2`, id, n)
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Review])
	if err != nil {
		return nil, fmt.Errorf("catalog: list reviews of %d: %w", id, err)
	}
	return items, nil
}

// findProducts returns the products with the given ids, by id; ids that do not exist are
// absent from the map.
func (s *Store) findProducts(ctx context.Context, ids []int64) (map[int64]Product, error) {
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = ANY($1)`, ids)
	items, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, fmt.Errorf("catalog: find products %v: %w", ids, err)
	}
	m := make(map[int64]Product, len(items))
	for _, p := range items {
		m[p.ID] = p
	}
	return m, nil
}

// FindProductPage returns product id with its newest reviews, or ErrNotFound.
func (s *Store) FindProductPage(ctx context.Context, id int64) (ProductPage, error) {
	p, err := s.FindProduct(ctx, id)
	if err != nil {
		return ProductPage{}, err
	}
	reviews, err := s.ListReviews(ctx, id, ReviewsPerPage)
	if err != nil {
		return ProductPage{}, err
	}
	return ProductPage{Product: p, Reviews: reviews}, nil
}

// findProductPages returns the pages of the products with the given ids, by id, in two
// queries; ids that do not exist are absent.
func (s *Store) findProductPages(ctx context.Context, ids []int64) (map[int64]ProductPage, error) {
	products, err := s.FindProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	s.wait(ctx)
	rows, _ := s.pool.Query(ctx, `SELECT product_id, rating, comment, created_at FROM (
			SELECT product_id, rating, comment, created_at,
				row_number() OVER (PARTITION BY product_id ORDER BY created_at DESC, id) AS n
			FROM reviews WHERE product_id = ANY($1)
		) r WHERE n <= $2 ORDER BY product_id, n`, ids, ReviewsPerPage)
	pages := make(map[int64]ProductPage, len(products))
	for id, p := range products {
		pages[id] = ProductPage{Product: p}
	}
	var id int64
	var r Review
	_, err = pgx.ForEachRow(rows, []any{&id, &r.Rating, &r.Comment, &r.CreatedAt}, func() error {
		page := pages[id]
		page.Reviews = append(page.Reviews, r)
		pages[id] = page
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: reviews of %v: %w", ids, err)
	}
	return pages, nil
}

// ProductUpdate is an admin's change to a product. Version is the version the editor
// started from.
type ProductUpdate struct {
	Name, Description string
	Price             int64 // minor units of the product's currency
	Stock             int
	Version           int64
}

// UpdateProduct applies u to product id in one transaction and bumps its version. The
// name is stored as text (entities decoded, tags dropped) and the description sanitised to
// the safe subset of HTML (internal/richtext). It returns
// the product as committed, ErrNotFound, or ErrConflict when the product is no longer at
// u.Version (someone else changed it: nothing is written).
func (s *Store) UpdateProduct(ctx context.Context, id int64, u ProductUpdate) (Product, error) {
	u.Name, u.Description = richtext.PlainName(u.Name), richtext.Sanitize(u.Description)
	var p Product
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE products p SET name = $2, description = $3, price = $4, stock = $5,
				version = version + 1, updated_at = now()
			WHERE id = $1 AND version = $6 RETURNING `+productColumns, id, u.Name, u.Description, u.Price, u.Stock, u.Version)
		var err error
		p, err = pgx.CollectExactlyOneRow(rows, scanProduct)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)`, id).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return ErrConflict
			}
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if s.beforeCommit != nil {
			s.beforeCommit(id)
		}
		return nil
	})
	if err != nil {
		return Product{}, fmt.Errorf("catalog: update product %d: %w", id, err)
	}
	return p, nil
}

// The reads of the store, each run again once when a schema change made a pooled
// connection's prepared statement fail (pgretry.Read): a live migration gives no error page.

// FindProduct returns the product with id, or ErrNotFound.
func (s *Store) FindProduct(ctx context.Context, id int64) (p Product, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { p, err = s.findProduct(ctx, id); return err })
	return p, err
}

// ListProducts returns one page of the merchandise products that match f, in f.Sort's
// order, and the number of them in all. An unknown f.Category returns ErrNotFound.
func (s *Store) ListProducts(ctx context.Context, f Filter) (items []Product, total int, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { items, total, err = s.listProducts(ctx, f); return err })
	return items, total, err
}

// SearchProducts returns one page of the merchandise products that match query, best match
// first; see searchProducts for the rules.
func (s *Store) SearchProducts(ctx context.Context, query string, page Page) (res SearchResult, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error {
		res, err = s.searchProducts(ctx, query, page)
		return err
	})
	return res, err
}

// ListCategories returns the categories that have merchandise with their product counts,
// sorted by name. It is empty when the data set has no categories.
func (s *Store) ListCategories(ctx context.Context) (names []Category, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { names, err = s.listCategories(ctx); return err })
	return names, err
}

// ListFeatured returns n in-stock merchandise products, a selection that changes once a day.
func (s *Store) ListFeatured(ctx context.Context, n int) (items []Product, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { items, err = s.listFeatured(ctx, n); return err })
	return items, err
}

// ListBestsellers returns the n merchandise products with the most net units sold over the
// whole order history, most first; ties are broken by product id.
func (s *Store) ListBestsellers(ctx context.Context, n int) (items []Bestseller, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { items, err = s.listBestsellers(ctx, n); return err })
	return items, err
}

// ListReviews returns up to n reviews of product id, newest first.
func (s *Store) ListReviews(ctx context.Context, id int64, n int) (items []Review, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { items, err = s.listReviews(ctx, id, n); return err })
	return items, err
}

// FindProducts returns the products with the given ids, by id; ids that do not exist are
// absent from the map.
func (s *Store) FindProducts(ctx context.Context, ids []int64) (m map[int64]Product, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { m, err = s.findProducts(ctx, ids); return err })
	return m, err
}

// FindProductPages returns the pages of the products with the given ids, by id, in two
// queries; ids that do not exist are absent.
func (s *Store) FindProductPages(ctx context.Context, ids []int64) (m map[int64]ProductPage, err error) {
	err = pgretry.Read(ctx, s.pool, func(ctx context.Context) error { m, err = s.findProductPages(ctx, ids); return err })
	return m, err
}
