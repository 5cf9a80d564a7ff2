package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/testenv"
)

// TestSearchForgives runs the real queries of issue 16 against the real catalog: prefixes
// as you type, typos, phrases with codes, several words, words only in descriptions, and
// queries of common words only.
func TestSearchForgives(t *testing.T) {
	pool := testenv.SeededDB(t)
	store := catalog.NewStore(pool)
	ctx := context.Background()
	page := catalog.Page{Number: 1, Size: 24}
	tests := []struct {
		query      string
		first      string // the best match's name
		allHave    []string
		suggestion string
		corrected  bool
	}{
		{query: "hear", first: "WHITE HANGING HEART T-LIGHT HOLDER", allHave: []string{"HEAR"}},
		{query: "hart", first: "WHITE HANGING HEART T-LIGHT HOLDER", allHave: []string{"HEART"}, suggestion: "heart", corrected: true},
		{query: "lantren", allHave: []string{"LANTERN"}, suggestion: "lantern", corrected: true},
		{query: "lant", allHave: []string{"LANTERN"}},
		{query: "t-light holder", first: "WHITE HANGING HEART T-LIGHT HOLDER", allHave: []string{"LIGHT", "HOLDER"}},
		{query: "red retrospot bag", first: "JUMBO BAG RED RETROSPOT", allHave: []string{"RED", "RETROSPOT", "BAG"}},
		{query: "hart lantren", first: "HANGING METAL HEART LANTERN", suggestion: "heart lantern", corrected: true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, err := store.SearchProducts(ctx, tt.query, page)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total == 0 || len(res.Products) == 0 {
				t.Fatalf("no results (suggestion %q)", res.Suggestion)
			}
			if tt.first != "" && res.Products[0].Name != tt.first {
				t.Errorf("first result %q, want %q", res.Products[0].Name, tt.first)
			}
			for _, p := range res.Products {
				for _, w := range tt.allHave {
					if !strings.Contains(p.Name+" "+strings.ToUpper(p.Category), w) {
						t.Errorf("result %q lacks %q", p.Name, w)
					}
				}
				if !p.Merchandise || p.Price <= 0 {
					t.Errorf("result %q is not listable (merchandise %v, price %d)", p.Name, p.Merchandise, p.Price)
				}
			}
			if res.Suggestion != tt.suggestion || res.Corrected != tt.corrected {
				t.Errorf("suggestion %q corrected %v, want %q %v", res.Suggestion, res.Corrected, tt.suggestion, tt.corrected)
			}
		})
	}
	for _, q := range []string{"the", "of and the", "!!!", "a"} {
		res, err := store.SearchProducts(ctx, q, page)
		if err != nil {
			t.Fatal(err)
		}
		if !res.CommonOnly || res.Total != 0 {
			t.Errorf("search %q = %+v, want CommonOnly without results", q, res)
		}
	}
	res, err := store.SearchProducts(ctx, "zzzzqqqxx", page)
	if err != nil || res.Total != 0 || res.Suggestion != "" || res.CommonOnly {
		t.Errorf("search for nonsense = %+v, %v; want nothing and no suggestion", res, err)
	}
	// A long query that matches nothing is not spell-checked word by word (each word would
	// be compared with the whole vocabulary: 50 words took Postgres 5 s).
	var long []string
	for i := range 50 {
		long = append(long, string([]byte{"bcdfghjkmpqvwxz"[i%15], "hartlnbgcsw"[i%11], "kmpqvwxzdt"[i%10]}))
	}
	res, err = store.SearchProducts(ctx, strings.Join(long, " "), page)
	if err != nil || res.Total != 0 || res.Suggestion != "" {
		t.Errorf("search for 50 made-up words = total %d, suggestion %q, %v; want nothing, no suggestion, no error", res.Total, res.Suggestion, err)
	}
	// Postage is in the catalog but never found.
	res, err = store.SearchProducts(ctx, "postage", page)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Products {
		if !p.Merchandise {
			t.Errorf("search for postage found %q", p.Name)
		}
	}
}

// TestSearchMatchesDescriptions finds a product by a word that only its description holds,
// ranked below products that have the word in their name.
func TestSearchMatchesDescriptions(t *testing.T) {
	pool := testenv.SeededDB(t)
	ctx := context.Background()
	var id int64
	if err := pool.QueryRow(ctx, `UPDATE products SET description = '<p>Hand-made from reclaimed driftwood.</p>'
		WHERE sku = '22423' RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	res, err := catalog.NewStore(pool).SearchProducts(ctx, "driftwood", catalog.Page{Number: 1, Size: 24})
	if err != nil {
		t.Fatal(err)
	}
	found := -1
	for i, p := range res.Products {
		if p.ID == id {
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("search for a word of a description did not find it: %d results", res.Total)
	}
	for _, p := range res.Products[found+1:] {
		if strings.Contains(p.Name, "DRIFTWOOD") {
			t.Errorf("%q (name match) ranks below a description match", p.Name)
		}
	}
}

// TestListingSortsAndFilters checks every sort against Postgres's own order of the same
// rows, the price range, and that nothing unlisted or free is ever listed.
func TestListingSortsAndFilters(t *testing.T) {
	pool := testenv.SeededDB(t)
	store := catalog.NewStore(pool)
	ctx := context.Background()
	var cheapest, dearest int64
	if err := pool.QueryRow(ctx, `SELECT min(price), max(price) FROM products WHERE merchandise AND price > 0`).Scan(&cheapest, &dearest); err != nil {
		t.Fatal(err)
	}
	list := func(f catalog.Filter) ([]catalog.Product, int) {
		t.Helper()
		if f.Page.Size == 0 {
			f.Page = catalog.Page{Number: 1, Size: 24}
		}
		ps, total, err := store.ListProducts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return ps, total
	}
	ps, all := list(catalog.Filter{Sort: catalog.SortPriceAsc})
	if ps[0].Price != cheapest || ps[0].Price == 0 {
		t.Errorf("price_asc starts at %d, want the cheapest merchandise, %d", ps[0].Price, cheapest)
	}
	for _, s := range catalog.Sorts {
		ps, total := list(catalog.Filter{Sort: s, Page: catalog.Page{Number: 2, Size: 50}})
		if total != all {
			t.Errorf("sort %q: total %d, want %d", s, total, all)
		}
		for i, p := range ps {
			if !p.Merchandise || p.Price <= 0 {
				t.Errorf("sort %q lists %q at %d", s, p.Name, p.Price)
			}
			if i == 0 {
				continue
			}
			prev := ps[i-1]
			var ok bool
			switch s {
			case catalog.SortPriceAsc:
				ok = prev.Price < p.Price || prev.Price == p.Price && prev.ID < p.ID
			case catalog.SortPriceDesc:
				ok = prev.Price > p.Price || prev.Price == p.Price && prev.ID < p.ID
			case catalog.SortName:
				ok = strings.ToLower(prev.Name) <= strings.ToLower(p.Name)
			case catalog.SortNewest:
				ok = prev.ID > p.ID
			default:
				ok = true
			}
			if !ok {
				t.Errorf("sort %q: %q (%d) before %q (%d)", s, prev.Name, prev.Price, p.Name, p.Price)
			}
		}
	}
	ps, _ = list(catalog.Filter{Sort: catalog.SortPriceDesc})
	if ps[0].Price != dearest {
		t.Errorf("price_desc starts at %d, want %d", ps[0].Price, dearest)
	}
	// Bestselling: the first is the product with the most net units, as the boards count.
	var best int64
	if err := pool.QueryRow(ctx, `SELECT p.id FROM products p JOIN order_items i ON i.product_id = p.id
		WHERE p.merchandise AND p.price > 0 GROUP BY p.id ORDER BY sum(i.quantity) DESC, p.id LIMIT 1`).Scan(&best); err != nil {
		t.Fatal(err)
	}
	if ps, _ := list(catalog.Filter{Sort: catalog.SortBestselling}); ps[0].ID != best {
		t.Errorf("bestselling starts at %d, want %d", ps[0].ID, best)
	}
	// A price range in a category.
	ps, total := list(catalog.Filter{Category: "garden", MinPrice: 500, MaxPrice: 1000, Sort: catalog.SortPriceAsc, Page: catalog.Page{Number: 1, Size: 500}})
	var want int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM products WHERE merchandise AND price > 0
		AND category = 'garden' AND price BETWEEN 500 AND 1000`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if total != want || len(ps) != want || want == 0 {
		t.Errorf("garden £5–£10: %d listed of %d, want %d (and some)", len(ps), total, want)
	}
	for _, p := range ps {
		if p.Category != "garden" || p.Price < 500 || p.Price > 1000 {
			t.Errorf("garden £5–£10 lists %q, %s, %d", p.Name, p.Category, p.Price)
		}
	}
	// A known category with nothing in range is empty, an unknown one not found.
	if ps, total := list(catalog.Filter{Category: "garden", MinPrice: 90_000_000}); total != 0 || len(ps) != 0 {
		t.Errorf("garden above £900,000: %d", total)
	}
	if _, _, err := store.ListProducts(ctx, catalog.Filter{Category: "no such", Page: catalog.Page{Number: 1, Size: 1}}); err == nil {
		t.Error("an unknown category listed")
	}
	if _, _, err := store.ListProducts(ctx, catalog.Filter{Sort: "1; DROP TABLE products", Page: catalog.Page{Number: 1, Size: 1}}); err == nil {
		t.Error("an unknown sort listed")
	}
	// Categories: every listed product in exactly one, counted.
	cats, err := store.ListCategories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum, other := 0, 0
	for _, c := range cats {
		sum += c.Products
		if c.Name == "other" {
			other = c.Products
		}
	}
	if sum != all || len(cats) < 10 {
		t.Errorf("%d categories count %d products, want at least 10 counting all %d", len(cats), sum, all)
	}
	if other*100/all >= 8 {
		t.Errorf("other holds %d of %d products", other, all)
	}
	t.Logf("%d listed products; %d categories; other %d", all, len(cats), other)
}
