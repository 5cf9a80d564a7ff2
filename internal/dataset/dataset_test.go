package dataset_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopcache/shop/internal/dataset"
	"github.com/shopcache/shop/internal/testenv"
)

// fileFacts are counted straight from the shipped files, independently of the loader.
type fileFacts struct {
	lines, invoices, cancellations, adjustments int
	unitsBySKU                                  map[string]int64
	linesWithoutCustomer                        int
}

func readFacts(t *testing.T) fileFacts {
	t.Helper()
	f, err := os.Open("data/online-retail/online_retail.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bufio.NewReader(gz))
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	facts := fileFacts{unitsBySKU: map[string]int64{}}
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return facts
		}
		if err != nil {
			t.Fatal(err)
		}
		facts.lines++
		q, _ := strconv.Atoi(rec[3])
		facts.unitsBySKU[rec[1]] += int64(q)
		if rec[6] == "" {
			facts.linesWithoutCustomer++
		}
		if !seen[rec[0]] {
			seen[rec[0]] = true
			facts.invoices++
			switch rec[0][0] {
			case 'C':
				facts.cancellations++
			case 'A':
				facts.adjustments++
			}
		}
	}
}

// listedInFile counts the rows of products.csv that are merchandise and have a price: the
// package doc's rule for listed products.
func listedInFile(t *testing.T) int {
	t.Helper()
	f, err := os.Open("data/online-retail/products.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rec := range recs[1:] { // stock_code,name,price_gbp,is_merchandise,…
		if rec[3] == "true" && rec[2] != "" && rec[2] != "0" && !strings.HasPrefix(rec[2], "0.00") && !dataset.NotMerchandise(rec[1]) {
			n++
		}
	}
	return n
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestOnlineRetailImportMatchesFiles(t *testing.T) {
	pool := testenv.SeededDB(t) // loaded by dataset.Load(online-retail, orders)
	facts := readFacts(t)
	if facts.lines != 541_909 || facts.invoices != 25_900 {
		t.Fatalf("shipped file has %d lines in %d invoices, want 541909 in 25900", facts.lines, facts.invoices)
	}
	checks := []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM products`, 4070},
		{`SELECT count(*) FROM orders WHERE invoice_no IS NOT NULL AND user_id IS NULL`, facts.invoices},
		{`SELECT count(*) FROM order_items`, facts.lines},
		{`SELECT count(*) FROM orders WHERE kind = 'cancellation'`, facts.cancellations},
		{`SELECT count(*) FROM orders WHERE kind = 'adjustment'`, facts.adjustments},
		{`SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.customer_ref IS NULL`, facts.linesWithoutCustomer},
		{`SELECT count(*) FROM order_items WHERE quantity < 0`, 10_624},
		{`SELECT count(*) FROM products WHERE merchandise`, listedInFile(t)},
		{`SELECT count(*) FROM products WHERE NOT merchandise AND stock <> 0`, 0},
	}
	for _, c := range checks {
		if got := count(t, pool, c.sql); got != c.want {
			t.Errorf("%s = %d, want %d", c.sql, got, c.want)
		}
	}
	// Net units per product equal the file's sums, for every product.
	rows, err := pool.Query(context.Background(),
		`SELECT p.sku, coalesce(sum(i.quantity), 0) FROM products p LEFT JOIN order_items i ON i.product_id = p.id GROUP BY p.sku`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var sku string
		var units int64
		if err := rows.Scan(&sku, &units); err != nil {
			t.Fatal(err)
		}
		n++
		if want := facts.unitsBySKU[sku]; units != want {
			t.Errorf("net units of %s = %d, want %d", sku, units, want)
		}
	}
	if n != 4070 {
		t.Errorf("compared %d products, want 4070", n)
	}
	var name string
	var price int64
	err = pool.QueryRow(context.Background(), `SELECT name, price FROM products WHERE sku = '85123A'`).Scan(&name, &price)
	if err != nil || name != "WHITE HANGING HEART T-LIGHT HOLDER" || price != 295 {
		t.Errorf("product 85123A = %q, %d pence (%v); want WHITE HANGING HEART T-LIGHT HOLDER at 295", name, price, err)
	}
}

func TestLoadTwiceChangesNothing(t *testing.T) {
	pool := testenv.SeededDB(t)
	before := snapshot(t, pool)
	res, err := dataset.Load(context.Background(), pool, dataset.OnlineRetail, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProductsInserted != 0 || res.OrdersInserted != 0 || res.OrderLinesInserted != 0 {
		t.Errorf("second load inserted %+v, want nothing", res)
	}
	if after := snapshot(t, pool); after != before {
		t.Errorf("counts after second load = %v, want %v", after, before)
	}
}

func snapshot(t *testing.T, pool *pgxpool.Pool) [4]int {
	return [4]int{
		count(t, pool, `SELECT count(*) FROM products`),
		count(t, pool, `SELECT count(*) FROM orders`),
		count(t, pool, `SELECT count(*) FROM order_items`),
		count(t, pool, `SELECT count(*) FROM reviews`),
	}
}

func TestConcurrentLoadsImportOnce(t *testing.T) {
	pool := testenv.DB(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = dataset.Load(context.Background(), pool, dataset.OnlineRetail, true, io.Discard)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshot(t, pool); got != [4]int{4070, 25_900, 541_909, 0} {
		t.Errorf("after two concurrent loads: products, orders, lines, reviews = %v, want [4070 25900 541909 0]", got)
	}
}

func TestDummyJSON(t *testing.T) {
	pool := testenv.DB(t)
	ctx := context.Background()
	for range 2 {
		if _, err := dataset.Load(ctx, pool, dataset.DummyJSON, false, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	var file []struct {
		Reviews []json.RawMessage `json:"reviews"`
	}
	b, _ := os.ReadFile("data/dummyjson/products.json")
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	reviews := 0
	for _, p := range file {
		reviews += len(p.Reviews)
	}
	if got := count(t, pool, `SELECT count(*) FROM products`); got != len(file) {
		t.Errorf("products = %d, want %d", got, len(file))
	}
	if got := count(t, pool, `SELECT count(*) FROM reviews`); got != reviews {
		t.Errorf("reviews = %d, want %d", got, reviews)
	}
	if got := count(t, pool, `SELECT count(*) FROM products WHERE category = '' OR rating IS NULL OR currency <> 'USD'`); got != 0 {
		t.Errorf("%d products lack a category or rating, or are not in USD", got)
	}
	// No reviewer's name or e-mail is stored anywhere in the reviews table.
	if got := count(t, pool, `SELECT count(*) FROM reviews r WHERE r::text ILIKE '%dummyjson.com%'`); got != 0 {
		t.Errorf("%d reviews hold a reviewer e-mail", got)
	}
	if got := count(t, pool, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'reviews' AND column_name ~ 'name|email'`); got != 0 {
		t.Errorf("reviews has %d name or e-mail columns", got)
	}
}

func TestLoadRefusesBadRequests(t *testing.T) {
	pool := testenv.DB(t)
	ctx := context.Background()
	if _, err := dataset.Load(ctx, pool, "nope", false, io.Discard); !errors.Is(err, dataset.ErrUnknown) {
		t.Errorf("Load(nope) = %v, want ErrUnknown", err)
	}
	if _, err := dataset.Load(ctx, pool, dataset.DummyJSON, true, io.Discard); !errors.Is(err, dataset.ErrNoOrders) {
		t.Errorf("Load(dummyjson, orders) = %v, want ErrNoOrders", err)
	}
	if got := count(t, pool, `SELECT count(*) FROM products`); got != 0 {
		t.Errorf("refused loads wrote %d products", got)
	}
}

func TestLoadRollsBackWhole(t *testing.T) {
	pool := testenv.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel as soon as the loader reports copying order lines: the products and invoices
	// were written in the same transaction and must be gone too.
	w := &cancelOn{substr: "copying 541909 order lines", cancel: cancel}
	if _, err := dataset.Load(ctx, pool, dataset.OnlineRetail, true, w); err == nil {
		t.Fatal("Load after cancel succeeded")
	}
	if got := snapshot(t, pool); got != [4]int{} {
		t.Errorf("after a failed load: %v rows, want none", got)
	}
}

type cancelOn struct {
	substr string
	cancel func()
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.substr) {
		c.cancel()
	}
	return len(p), nil
}
