package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/internal/testenv"
)

func TestAdminProductEditor(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ctx := context.Background()
	if _, err := accounts.NewStore(shop.pool, bcrypt.MinCost).EnsureAdmin(ctx, "admin@example.com", "admin password"); err != nil {
		t.Fatal(err)
	}
	anon := newShopper(t, shop.URL)
	expect(t, "anonymous editor", anon.get("/admin/products/1"), http.StatusForbidden, "Only administrators")
	expect(t, "anonymous save", anon.post("/admin/products/1", url.Values{"name": {"x"}}), http.StatusForbidden)
	shopperUser := newShopper(t, shop.URL)
	shopperUser.register("plain@example.com", "Plain", "a fine long password")
	expect(t, "shopper editor", shopperUser.get("/admin/products/1"), http.StatusForbidden)

	admin := newShopper(t, shop.URL)
	r := admin.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}})
	expect(t, "admin login", r, http.StatusSeeOther)
	form := admin.get("/admin/products/1")
	expect(t, "editor", form, http.StatusOK, `name="version" value="1"`, `value="2.95"`)
	// Warm the cache with version 1.
	if got, _ := xcache(t, admin, "/products/1"); got == "" {
		t.Fatal("no X-Cache")
	}

	valid := url.Values{"name": {"WHITE HANGING HEART (NEW)"}, "description": {"Now brighter."}, "price": {"3.10"}, "stock": {"42"}, "version": {"1"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range valid {
			f[key] = vals
		}
		f.Set(k, v)
		return f
	}
	for _, bad := range []struct {
		field, value, want string
	}{
		{"price", "abc", "Enter a price like 2.95"},
		{"price", "1.234", "Enter a price like 2.95"},
		{"price", "-1", "Enter a price like 2.95"},
		{"stock", "-3", "Enter a whole number from 0"},
		{"stock", "9999999", "Enter a whole number from 0"},
		{"name", "", "Name is required."},
		{"name", strings.Repeat("n", 201), "at most 200 characters"},
	} {
		expect(t, "save with "+bad.field+"="+bad.value, admin.post("/admin/products/1", with(bad.field, bad.value)),
			http.StatusUnprocessableEntity, bad.want)
	}
	expect(t, "save without version", admin.post("/admin/products/1", with("version", "")), http.StatusBadRequest)
	expect(t, "save unknown product", admin.post("/admin/products/999999", valid), http.StatusNotFound)

	r = admin.post("/admin/products/1", valid)
	expect(t, "save", r, http.StatusSeeOther)
	// Write-through: the next read is a Redis hit with the new values, no Postgres load.
	got, page := xcache(t, admin, "/products/1")
	if got != "HIT-REDIS" || !strings.Contains(page.body, "White Hanging Heart (New)") || !strings.Contains(page.body, "£3.10") {
		t.Errorf("product page after the save: X-Cache %q; want HIT-REDIS with the new name and price", got)
	}
	if !strings.Contains(page.body, "version 2") {
		t.Error("the admin's product page does not show version 2")
	}
	// Saving from the old version again is a conflict, and nothing is written.
	expect(t, "stale save", admin.post("/admin/products/1", with("name", "LOST UPDATE")), http.StatusConflict, "Someone changed this product")
	if _, page := xcache(t, admin, "/products/1"); strings.Contains(page.body, "Lost Update") {
		t.Error("a conflicting save was written")
	}
}

// TestAdminProductList: the admin's list searches, sorts and pages every product; the
// header links it for admins only; a signed-in shopper's 403 page shows their own header.
func TestAdminProductList(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ctx := context.Background()
	if _, err := accounts.NewStore(shop.pool, bcrypt.MinCost).EnsureAdmin(ctx, "admin@example.com", "admin password"); err != nil {
		t.Fatal(err)
	}
	plain := newShopper(t, shop.URL)
	plain.register("plain@example.com", "Plainly Named", "a fine long password")
	r := plain.get("/admin/products")
	expect(t, "shopper's list", r, http.StatusForbidden, "Only administrators", "Plainly Named", "Sign out")
	if strings.Contains(r.body, `href="/login"`) || strings.Contains(r.body, `href="/admin/products">Manage products`) {
		t.Error("the 403 page of a signed-in shopper offers Sign in or the admin link")
	}
	if r := plain.get("/"); strings.Contains(r.body, `href="/admin/products"`) {
		t.Error("a shopper's header links the admin list")
	}

	admin := newShopper(t, shop.URL)
	expect(t, "admin login", admin.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}}), http.StatusSeeOther)
	expect(t, "admin header", admin.get("/"), http.StatusOK, `href="/admin/products"`)

	var total, cheapest int64
	var heart int
	if err := shop.pool.QueryRow(ctx, `SELECT count(*), min(price), count(*) FILTER (WHERE name ILIKE '%heart%' OR sku ILIKE '%heart%') FROM products`).
		Scan(&total, &cheapest, &heart); err != nil {
		t.Fatal(err)
	}
	expect(t, "list", admin.get("/admin/products"), http.StatusOK, fmt.Sprintf("%s products", num(total)))
	expect(t, "search", admin.get("/admin/products?q=heart"), http.StatusOK, fmt.Sprintf("%s products matching", num(int64(heart))))
	// The first row sorted by price is the cheapest.
	r = admin.get("/admin/products?sort=price")
	first := regexp.MustCompile(`data-label="Price">([^<]+)<`).FindStringSubmatch(r.body)
	if first == nil || first[1] != money.Format(cheapest, "GBP") {
		t.Errorf("first price sorted by price = %v, want %s", first, money.Format(cheapest, "GBP"))
	}
	expect(t, "page 2", admin.get("/admin/products?sort=-price&page=2"), http.StatusOK, "page 2")
	expect(t, "unknown sort", admin.get("/admin/products?sort=evil;drop"), http.StatusBadRequest)
	expect(t, "page past the end", admin.get("/admin/products?q=heart&page=9999"), http.StatusNotFound)
	expect(t, "a wildcard is text", admin.get("/admin/products?q=%25%25%25zz"), http.StatusOK, "No product matches.")
}

// TestAdminPriceConfirmation: a price of 0, or one more than 50 % away from the current one,
// is saved only with confirm=yes; without it the editor answers 422 with the question and
// nothing is written.
func TestAdminPriceConfirmation(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ctx := context.Background()
	if _, err := accounts.NewStore(shop.pool, bcrypt.MinCost).EnsureAdmin(ctx, "admin@example.com", "admin password"); err != nil {
		t.Fatal(err)
	}
	admin := newShopper(t, shop.URL)
	expect(t, "admin login", admin.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}}), http.StatusSeeOther)
	price := func() string {
		var p int64
		if err := shop.pool.QueryRow(ctx, `SELECT price FROM products WHERE id = 1`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return money.Format(p, "GBP")
	}
	version := func() string {
		var v int64
		if err := shop.pool.QueryRow(ctx, `SELECT version FROM products WHERE id = 1`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(v, 10)
	}
	form := func(p string, confirm bool) url.Values {
		f := url.Values{"name": {"WHITE HANGING HEART T-LIGHT HOLDER"}, "description": {""}, "price": {p}, "stock": {"10"}, "version": {version()}}
		if confirm {
			f.Set("confirm", "yes")
		}
		return f
	}
	if price() != "£2.95" {
		t.Fatalf("product 1 costs %s, want the seeded £2.95", price())
	}
	for _, c := range []struct{ price, question string }{
		{"0", "shoppers would get it for nothing"},
		{"0.00", "shoppers would get it for nothing"},
		{"29.50", "a rise of 900 %"},
		{"4.43", "a rise of 50 %"}, // 2.95 → 4.43 is 50.2 % up
		{"1.47", "a cut of 50 %"},  // 50.2 % down
	} {
		expect(t, "save at "+c.price, admin.post("/admin/products/1", form(c.price, false)), http.StatusUnprocessableEntity,
			"Please confirm.", c.question, `name="confirm" value="yes"`)
		if got := price(); got != "£2.95" {
			t.Fatalf("an unconfirmed save at %s wrote %s", c.price, got)
		}
	}
	expect(t, "save at +50 % exactly, no question", admin.post("/admin/products/1", form("4.42", false)), http.StatusSeeOther)
	expect(t, "and back, -33 %, no question", admin.post("/admin/products/1", form("2.95", false)), http.StatusSeeOther)
	expect(t, "confirmed 0", admin.post("/admin/products/1", form("0", true)), http.StatusSeeOther)
	if got := price(); got != "£0.00" {
		t.Fatalf("a confirmed save at 0 left %s", got)
	}
	expect(t, "from 0 to a price, no question", admin.post("/admin/products/1", form("3.00", false)), http.StatusSeeOther)
}

// num formats n with thousands separators, as the pages do.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
