package handlers_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/picture"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/internal/titlecase"
)

var (
	pictureURL = regexp.MustCompile(`/pictures/([0-9]+)/[0-9a-f]+\.svg`)
	cardPrice  = regexp.MustCompile(`<span class="price">([^<]*)</span>`)
)

// TestBrowsing walks the listing as a shopper does: sorts, a price range, numbered pages,
// bad parameters; and checks that the listing's cache keys carry the sort and the filter.
func TestBrowsing(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ctx := context.Background()
	var cheapest int64
	if err := shop.pool.QueryRow(ctx, `SELECT min(price) FROM products WHERE merchandise AND price > 0`).Scan(&cheapest); err != nil {
		t.Fatal(err)
	}
	s := newShopper(t, shop.URL)
	r := s.get("/products?sort=price_asc")
	expect(t, "price_asc", r, http.StatusOK, `<option value="price_asc" selected>`, `href="/products?page=2&amp;sort=price_asc"`)
	prices := cardPrice.FindAllStringSubmatch(r.body, -1)
	if len(prices) != 24 || prices[0][1] != fmt.Sprintf("£%d.%02d", cheapest/100, cheapest%100) {
		t.Fatalf("price_asc shows %d prices starting at %v, want 24 starting at the cheapest, %d", len(prices), prices[:1], cheapest)
	}
	for _, path := range []string{"/products", "/products?sort=price_asc&page=2", "/products?sort=bestselling", "/products?sort=name",
		"/products?sort=newest", "/products?sort=price_desc", "/search?q=heart", "/products?category=christmas"} {
		r := s.get(path)
		expect(t, path, r, http.StatusOK)
		if strings.Contains(r.body, "£0.00") {
			t.Errorf("%s lists a product at £0.00", path)
		}
	}
	r = s.get("/products?category=garden&min=5&max=10&sort=price_desc")
	expect(t, "garden £5–£10", r, http.StatusOK, `value="5"`, `value="10"`)
	for _, m := range cardPrice.FindAllStringSubmatch(r.body, -1) {
		p, _ := strconv.ParseFloat(strings.TrimPrefix(m[1], "£"), 64)
		if p < 5 || p > 10 {
			t.Errorf("garden £5–£10 lists a product at %s", m[1])
		}
	}
	expect(t, "page 80", s.get("/products?page=80"), http.StatusOK, `aria-label="Page 1, first"`, `aria-label="Page 163, last"`,
		`aria-current="page" aria-label="Page 80, current"`, `href="/products?page=78"`, `href="/products?page=82"`)
	for _, bad := range []struct{ path, want string }{
		{"/products?sort=cheapest", "Sort by one of bestselling, price_asc"},
		{"/products?sort=id%3B+DROP+TABLE+products", "Sort by one of"},
		{"/products?min=abc", "lowest price must be an amount"},
		{"/products?max=-1", "highest price must be an amount"},
		{"/products?max=1.234", "highest price must be an amount"},
		{"/products?min=20&max=5", "lowest price is above the highest"},
		{"/products?max=99999999999", "highest price must be an amount"},
	} {
		expect(t, bad.path, s.get(bad.path), http.StatusBadRequest, bad.want)
	}
	// Each listing has its own cache key; the plain listing keeps the key it always had.
	for _, k := range []string{"list:products::1", "list:products::1:price_asc:0-0", "list:products:garden:1:price_desc:500-1000"} {
		if n, err := shop.rdb.Exists(ctx, shop.prefix+k).Result(); err != nil || n != 1 {
			t.Errorf("cache key %s: exists %d, %v", k, n, err)
		}
	}
	// A category page shows its own bestseller board, which the order history fills.
	if _, err := shop.Board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	var top string
	if err := shop.pool.QueryRow(ctx, `SELECT p.name FROM products p JOIN order_items i ON i.product_id = p.id
		WHERE p.merchandise AND p.category = 'christmas' GROUP BY p.id ORDER BY sum(i.quantity) DESC, p.id LIMIT 1`).Scan(&top); err != nil {
		t.Fatal(err)
	}
	expect(t, "christmas", s.get("/products?category=christmas"), http.StatusOK,
		"Bestsellers in", `<li value="1"><a href="/products/`, ">"+html.EscapeString(titlecase.Name(top))+"</a>")
	// A second look at a sorted listing is a cache hit, and the foot of the page says so.
	expect(t, "price_asc again", s.get("/products?sort=price_asc"), http.StatusOK,
		"list:products::1:price_asc:0-0 ← Redis", "Postgres queries: <b>0</b>")
}

// TestNonMerchandiseIsNotAProduct: postage, carriage and gift vouchers are not listed,
// found, sold, or shown at their address.
func TestNonMerchandiseIsNotAProduct(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	for _, sku := range []string{"POST", "DOT", "23444", "23574", "22016", "M", "BANK CHARGES"} {
		var id int64
		var merchandise bool
		if err := shop.pool.QueryRow(context.Background(), `SELECT id, merchandise FROM products WHERE sku = $1`, sku).Scan(&id, &merchandise); err != nil {
			t.Fatal(sku, err)
		}
		if merchandise {
			t.Errorf("%s is merchandise", sku)
		}
		expect(t, "page of "+sku, s.get(fmt.Sprint("/products/", id)), http.StatusNotFound)
		expect(t, "picture of "+sku, s.get(fmt.Sprintf("/pictures/%d/x.svg", id)), http.StatusNotFound)
	}
	for _, q := range []string{"postage", "carriage", "next day carriage", "voucher", "bank charges"} {
		r := s.get("/search?q=" + strings.ReplaceAll(q, " ", "+"))
		for _, bad := range []string{"Postage", "Next Day Carriage", "Voucher", "Bank Charges"} {
			if strings.Contains(r.body, `class="name">`+bad) {
				t.Errorf("search %q lists %q", q, bad)
			}
		}
	}
}

// TestPictures: every product's picture is drawn locally, cached for good under an address
// that changes with it, answered 304 to a matching ETag, and no two neighbours on the real
// first pages look alike.
func TestPictures(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	ctx := context.Background()
	for _, path := range []string{"/products", "/products?page=2", "/products?sort=price_asc", "/products?sort=bestselling",
		"/products?category=christmas", "/search?q=heart", "/search?q=bag"} {
		r := s.get(path)
		expect(t, path, r, http.StatusOK)
		urls := pictureURL.FindAllStringSubmatch(r.body, -1)
		if len(urls) < 12 {
			t.Fatalf("%s: %d pictures", path, len(urls))
		}
		var prev picture.Design
		for i, u := range urls {
			var sub picture.Subject
			if err := shop.pool.QueryRow(ctx, `SELECT sku, name, category FROM products WHERE id = $1`, u[1]).
				Scan(&sub.SKU, &sub.Name, &sub.Category); err != nil {
				t.Fatal(err)
			}
			d := picture.DesignOf(sub)
			if i > 0 && d.Background == prev.Background && d.Accent == prev.Accent && d.Pattern == prev.Pattern && d.Initials == prev.Initials {
				t.Errorf("%s: pictures %d and %d look alike: %+v", path, i, i+1, d)
			}
			prev = d
		}
	}
	r := s.get("/products/1")
	u := pictureURL.FindString(r.body)
	resp, err := http.Get(shop.URL + u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || etag == "" ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(string(body), "<svg") {
		t.Fatalf("GET %s = %d %v", u, resp.StatusCode, resp.Header)
	}
	var sub picture.Subject
	if err := shop.pool.QueryRow(ctx, `SELECT sku, name, category FROM products WHERE id = 1`).Scan(&sub.SKU, &sub.Name, &sub.Category); err != nil {
		t.Fatal(err)
	}
	if string(body) != string(picture.SVG(sub)) {
		t.Error("the served picture is not the drawing of the product")
	}
	req, _ := http.NewRequest(http.MethodGet, shop.URL+u, nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s = %d, want 304", etag, resp.StatusCode)
	}
	// A renamed product gets a new address; the old one redirects there.
	p, err := shop.Catalog.FindProduct(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Catalog.UpdateProduct(ctx, 1, catalog.ProductUpdate{Name: p.Name + " XL", Description: p.Description,
		Price: p.Price, Stock: p.Stock, Version: p.Version}); err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(shop.URL + u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc == u || !pictureURL.MatchString(loc) {
		t.Errorf("old picture address after a rename = %d to %q, want 302 to the new one", resp.StatusCode, loc)
	}
}

// signInAdmin makes an administrator and returns a shopper signed in as them.
func signInAdmin(t *testing.T, shop *testShop) *shopper {
	t.Helper()
	if _, err := accounts.NewStore(shop.pool, bcrypt.MinCost).EnsureAdmin(context.Background(), "admin@example.com", "admin password"); err != nil {
		t.Fatal(err)
	}
	admin := newShopper(t, shop.URL)
	expect(t, "admin login", admin.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}}), http.StatusSeeOther)
	return admin
}

// TestAdminEditSanitises: hostile HTML typed into the editor is stored and shown without
// anything that could run; the safe formatting stays.
func TestAdminEditSanitises(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	admin := signInAdmin(t, shop)
	hostile := `<p>Brighter &amp; <b>bolder</b></p><script>alert(1)</script><img src=x onerror=alert(2)>` +
		`<a href="javascript:alert(3)">x</a><p style="color:red" onclick="alert(4)">styled</p>`
	r := admin.post("/admin/products/1", url.Values{"name": {"Caf&eacute; HEART"}, "description": {hostile},
		"price": {"2.95"}, "stock": {"10"}, "version": {"1"}})
	expect(t, "save", r, http.StatusSeeOther)
	var name, desc string
	if err := shop.pool.QueryRow(context.Background(), `SELECT name, description FROM products WHERE id = 1`).Scan(&name, &desc); err != nil {
		t.Fatal(err)
	}
	if name != "Café HEART" {
		t.Errorf("stored name %q, want the entity decoded", name)
	}
	page := admin.get("/products/1")
	expect(t, "product page", page, http.StatusOK, "<p>Brighter &amp; <b>bolder</b></p>", "<p>styled</p>", "Café Heart")
	for _, bad := range []string{"alert(", "onerror", "onclick", "javascript:", `style="color`} {
		if strings.Contains(desc, bad) || strings.Contains(page.body, bad) {
			t.Errorf("%q survived the editor", bad)
		}
	}
}

// TestSearchPages: what the search page says for a typo, a query of common words, and a
// prefix, on the real catalog.
func TestSearchPages(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	expect(t, "hear", s.get("/search?q=hear"), http.StatusOK, "White Hanging Heart T-Light Holder")
	expect(t, "hart", s.get("/search?q=hart"), http.StatusOK, "Nothing matched “hart”. Showing results for",
		`href="/search?q=heart"`, "White Hanging Heart T-Light Holder")
	expect(t, "lantren", s.get("/search?q=lantren"), http.StatusOK, "Showing results for", "Lantern")
	expect(t, "the", s.get("/search?q=the"), http.StatusOK, "has no word to search for")
	r := s.get("/search?q=the")
	if strings.Contains(r.body, `class="card"`) {
		t.Error("a query of common words lists products")
	}
}

// TestCachedListingsFollowEdits: a listing is cached as ids, so an edit shows in it at once
// — a new price, and a product priced 0 is no longer listed — without waiting for the TTL.
func TestCachedListingsFollowEdits(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	ctx := context.Background()
	first := s.get("/products?sort=price_asc")
	m := pictureURL.FindStringSubmatch(first.body)
	if m == nil {
		t.Fatal("no product listed")
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	p, err := shop.Catalog.FindProduct(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	update := catalog.ProductUpdate{Name: p.Name, Description: p.Description, Price: 1234, Stock: p.Stock, Version: p.Version}
	if p, err = shop.Catalog.UpdateProduct(ctx, id, update); err != nil {
		t.Fatal(err)
	}
	expect(t, "after a price change", s.get("/products?sort=price_asc"), http.StatusOK, "£12.34")
	update.Price, update.Version = 0, p.Version
	if _, err := shop.Catalog.UpdateProduct(ctx, id, update); err != nil {
		t.Fatal(err)
	}
	r := s.get("/products?sort=price_asc")
	if strings.Contains(r.body, fmt.Sprintf(`href="/products/%d"`, id)) || strings.Contains(r.body, "£0.00") {
		t.Errorf("a product priced 0 is still listed from the cached list")
	}
}
