package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
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
