package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/internal/titlecase"
)

// TestFragmentsFollowTheVersion: the product page's body is rendered once per product
// version and kept; it is rendered again after an edit through the admin page and after an
// UPDATE straight in Postgres (reaching the shop through pgnotify), it is never served for
// another product, and the parts that differ per request (the header, the admin's link, the
// cart count) are never another visitor's.
func TestFragmentsFollowTheVersion(t *testing.T) {
	shop := newStartedShop(t, testenv.SeededDBURL(t), withL1(cache.L1Options{Size: 1000, TTL: time.Hour}))
	ctx := context.Background()
	select {
	case <-shop.App.Listening():
	case <-time.After(30 * time.Second):
		t.Fatal("the Postgres listener did not start")
	}
	if _, err := accounts.NewStore(shop.pool, bcrypt.MinCost).EnsureAdmin(ctx, "admin@example.com", "admin password"); err != nil {
		t.Fatal(err)
	}
	admin := newShopper(t, shop.URL)
	expect(t, "admin login", admin.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}}), http.StatusSeeOther)
	alice := newShopper(t, shop.URL)
	alice.register("alice@example.com", "Alice", "a fine long password")
	expect(t, "add to cart", alice.addToCart(2, 2), http.StatusSeeOther)
	anon := newShopper(t, shop.URL)

	name := func(id int64) string {
		t.Helper()
		var n string
		if err := shop.pool.QueryRow(ctx, `SELECT name FROM products WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return titlecase.Name(n) // as the page shows it
	}
	h1 := func(r response) string {
		_, after, _ := strings.Cut(r.body, "<h1>")
		before, _, _ := strings.Cut(after, "</h1>")
		return html.UnescapeString(before)
	}
	// Each visitor in turn, on products 1 to 5 (each fragment cached by the first visit):
	// every page carries its own product and its own visitor's header.
	for round := range 2 {
		for id := int64(1); id <= 5; id++ {
			path := "/products/" + strconv.FormatInt(id, 10)
			a, b, c := admin.get(path), alice.get(path), anon.get(path)
			for who, r := range map[string]response{"admin": a, "alice": b, "anonymous": c} {
				if got, want := h1(r), name(id); got != want {
					t.Fatalf("round %d: %s sees %q on %s, want %q", round, who, got, path, want)
				}
			}
			if !strings.Contains(a.body, "Edit this product") || strings.Contains(b.body, "Edit this product") || strings.Contains(c.body, "Edit this product") {
				t.Errorf("%s: the admin's edit link is on the wrong pages", path)
			}
			if !strings.Contains(b.body, ">Alice</a>") || strings.Contains(c.body, "Alice") || strings.Contains(a.body, "Alice") {
				t.Errorf("%s: Alice's name is in another visitor's header", path)
			}
			if !strings.Contains(b.body, `<span class="count">2</span>`) || strings.Contains(a.body, `class="count"`) || strings.Contains(c.body, `class="count"`) {
				t.Errorf("%s: Alice's cart count is missing from her page or on another's", path)
			}
		}
	}

	// An edit through the admin page: the next page of every visitor has the new body.
	form := admin.get("/admin/products/1")
	version := between(form.body, `name="version" value="`, `"`)
	expect(t, "save", admin.post("/admin/products/1", url.Values{"name": {"Fragment Edit"}, "description": {"d"},
		"price": {"3.10"}, "stock": {"42"}, "version": {version}}), http.StatusSeeOther)
	for who, s := range map[string]*shopper{"admin": admin, "alice": alice, "anonymous": anon} {
		if got := h1(s.get("/products/1")); got != "Fragment Edit" {
			t.Errorf("after the admin's edit %s sees %q, want Fragment Edit", who, got)
		}
	}

	// An UPDATE straight in Postgres, as psql would: pgnotify evicts, and the body follows.
	if _, err := shop.pool.Exec(ctx, `UPDATE products SET name = 'Fragment Psql' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for h1(anon.get("/products/1")) != "Fragment Psql" {
		if time.Now().After(deadline) {
			t.Fatal("the product page still shows the old body 30 s after an UPDATE in Postgres")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := h1(alice.get("/products/1")); got != "Fragment Psql" {
		t.Errorf("after the UPDATE Alice sees %q, want Fragment Psql", got)
	}
	if got := h1(anon.get("/products/2")); got != name(2) {
		t.Errorf("product 2 shows %q, want %q", got, name(2))
	}
}
