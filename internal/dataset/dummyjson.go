package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopcache/shop/internal/richtext"
)

const dummyJSONFile = "data/dummyjson/products.json"

// dummyProduct is the part of a DummyJSON product the shop uses. Reviewer names and
// e-mails are in the file but deliberately not decoded.
type dummyProduct struct {
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Category    string  `json:"category"`
	Price       float64 `json:"price"`
	Rating      float64 `json:"rating"`
	Stock       int     `json:"stock"`
	Brand       string  `json:"brand"`
	SKU         string  `json:"sku"`
	Reviews     []struct {
		Rating  int       `json:"rating"`
		Comment string    `json:"comment"`
		Date    time.Time `json:"date"`
	} `json:"reviews"`
}

func loadDummyJSON(ctx context.Context, tx pgx.Tx, progress io.Writer) (Result, error) {
	data, err := files.ReadFile(dummyJSONFile)
	if err != nil {
		return Result{}, err
	}
	var products []dummyProduct
	if err := json.Unmarshal(data, &products); err != nil {
		return Result{}, fmt.Errorf("%s: %w", dummyJSONFile, err)
	}
	rows := make([]productRow, len(products))
	for i, p := range products {
		rating := int(math.Round(p.Rating * 100))
		rows[i] = productRow{
			sku: p.SKU, name: richtext.PlainName(p.Title), description: richtext.Sanitize(p.Description), brand: p.Brand,
			// "kitchen-accessories" -> "kitchen accessories", as a shopper reads it
			category: strings.ReplaceAll(p.Category, "-", " "),
			price:    int64(math.Round(p.Price * 100)), currency: "USD",
			stock: max(p.Stock, 0), rating: &rating, merchandise: true,
		}
	}
	ids, inserted, err := insertProducts(ctx, tx, rows)
	if err != nil {
		return Result{}, err
	}
	res := Result{Products: len(rows), ProductsInserted: inserted}

	// Reviews are added only with their product: a product that was already there keeps
	// the reviews it has, so a second load changes nothing.
	var fresh []int64
	dbRows, _ := tx.Query(ctx, `SELECT id FROM products p WHERE id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.product_id = p.id)`, mapValues(ids))
	fresh, err = pgx.CollectRows(dbRows, pgx.RowTo[int64])
	if err != nil {
		return Result{}, err
	}
	isFresh := make(map[int64]bool, len(fresh))
	for _, id := range fresh {
		isFresh[id] = true
	}
	var reviews [][]any
	for _, p := range products {
		res.Reviews += len(p.Reviews)
		if id := ids[p.SKU]; isFresh[id] {
			for _, r := range p.Reviews {
				reviews = append(reviews, []any{id, r.Rating, r.Comment, r.Date})
			}
		}
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"reviews"}, []string{"product_id", "rating", "comment", "created_at"},
		pgx.CopyFromRows(reviews))
	if err != nil {
		return Result{}, fmt.Errorf("copy reviews: %w", err)
	}
	res.ReviewsInserted = int(n)
	fmt.Fprintf(progress, "dummyjson: %d products, %d new; %d reviews, %d new\n",
		res.Products, res.ProductsInserted, res.Reviews, res.ReviewsInserted)
	return res, nil
}

func mapValues(m map[string]int64) []int64 {
	out := make([]int64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
