package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/testenv"
)

func TestFormBadInput(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	id := productIDs(t, shop, 1)[0]
	var notForSale int64
	if err := shop.pool.QueryRow(context.Background(), `SELECT id FROM products WHERE NOT merchandise LIMIT 1`).Scan(&notForSale); err != nil {
		t.Fatal(err)
	}
	existing := newShopper(t, shop.URL)
	existing.register("taken@example.com", "Taken", "a fine long password")

	valid := url.Values{"email": {"new@example.com"}, "name": {"New"}, "password": {"a fine long password"}}
	with := func(k, v string) string {
		f := url.Values{}
		for key, vals := range valid {
			f[key] = vals
		}
		f.Set(k, v)
		return f.Encode()
	}
	add := func(product, qty string) string {
		return url.Values{"product_id": {product}, "quantity": {qty}}.Encode()
	}
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"register empty body", "/register", "", 422, "E-mail is required."},
		{"register bad email", "/register", with("email", "not-an-email"), 422, "Enter an e-mail address"},
		{"register long email", "/register", with("email", strings.Repeat("a", 243)+"@example.com"), 422, "at most 254 characters"},
		{"register long name", "/register", with("name", strings.Repeat("n", 201)), 422, "at most 200 characters"},
		{"register short password", "/register", with("password", "short"), 422, "at least 8 characters"},
		{"register taken email", "/register", with("email", "TAKEN@example.com"), 422, "already has an account"},
		{"register invalid utf-8", "/register", "email=%ff%fe&name=x&password=12345678", 400, "not text"},
		{"register malformed", "/register", "email=%zz", 400, "could not be read"},
		{"register too large", "/register", "name=" + strings.Repeat("x", 1<<20+1), 413, "larger than 1 MiB"},
		{"login wrong password", "/login", url.Values{"email": {"taken@example.com"}, "password": {"wrong password!"}}.Encode(), 422, "don&#39;t match an account"},
		{"login unknown email", "/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password!"}}.Encode(), 422, "don&#39;t match an account"},
		{"login empty body", "/login", "", 422, "E-mail is required."},
		{"add quantity 0", "/cart/items", add(fmt.Sprint(id), "0"), 422, "Choose a quantity from 1 to 99."},
		{"add quantity 100", "/cart/items", add(fmt.Sprint(id), "100"), 422, "Choose a quantity from 1 to 99."},
		{"add quantity abc", "/cart/items", add(fmt.Sprint(id), "abc"), 422, `value="abc"`},
		{"add unknown product", "/cart/items", add("99999999", "1"), 404, "couldn&#39;t find"},
		{"add malformed product", "/cart/items", add("abc", "1"), 400, "positive whole number"},
		{"add empty body", "/cart/items", "", 400, "positive whole number"},
		{"add not for sale", "/cart/items", add(fmt.Sprint(notForSale), "1"), 422, "is not for sale"},
		{"update quantity 100", fmt.Sprintf("/cart/items/%d", id), "quantity=100", 422, "Choose a quantity"},
		{"update unknown product", "/cart/items/99999999", "quantity=1", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newShopper(t, shop.URL)
			req, _ := http.NewRequest(http.MethodPost, shop.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r := s.do(req)
			expect(t, "POST "+tt.path, r, tt.status, tt.want)
			if strings.Contains(r.body, "a fine long password") || strings.Contains(r.body, "wrong password!") {
				t.Error("the page echoes a password")
			}
		})
	}
	// A wrong password and an unknown e-mail read the same.
	s := newShopper(t, shop.URL)
	a := s.post("/login", url.Values{"email": {"taken@example.com"}, "password": {"wrong password!"}})
	b := s.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password!"}})
	if strip(a.body, "taken@example.com") != strip(b.body, "nobody@example.com") {
		t.Error("wrong password and unknown e-mail give different pages")
	}
	// Checkout needs a signed-in user, and an empty cart cannot be ordered.
	if r := s.post("/checkout", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("anonymous checkout = %d to %q, want 303 to /login", r.status, r.location)
	}
	expect(t, "empty checkout", existing.post("/checkout", nil), http.StatusUnprocessableEntity, "Your cart is empty")
	// The login form never sends anyone to another site.
	r := existing.post("/login", url.Values{"email": {"taken@example.com"}, "password": {"a fine long password"}, "next": {"//evil.example/"}})
	if r.status != http.StatusSeeOther || r.location != "/" {
		t.Errorf("login with next=//evil.example = %d to %q, want 303 to /", r.status, r.location)
	}
}

// strip removes the typed e-mail and the footer (whose timings differ) from a page.
func strip(body, email string) string {
	body = strings.ReplaceAll(body, email, "")
	if i := strings.Index(body, `<footer class="served"`); i >= 0 {
		body = body[:i]
	}
	return body
}

func TestSessionsNeedRedis(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	up := newShop(t, dbURL)
	s := newShopper(t, up.URL)
	s.register("dana@example.com", "Dana", "a fine long password")
	token := s.sessionCookie()

	down := newShop(t, dbURL, withRedis(downRedisURL), withPrefix(up.prefix))
	d := newShopper(t, down.URL)
	d.setSessionCookie(token)
	expect(t, "home with Redis down", d.get("/"), http.StatusOK, "Featured today")
	expect(t, "product with Redis down", d.get("/products/1"), http.StatusOK)
	expect(t, "login with Redis down", d.post("/login", url.Values{"email": {"dana@example.com"}, "password": {"a fine long password"}}),
		http.StatusServiceUnavailable, "session store")
	expect(t, "checkout with Redis down", d.post("/checkout", nil), http.StatusServiceUnavailable, "session store")
	expect(t, "account with Redis down", d.get("/account"), http.StatusServiceUnavailable, "session store")
	// Whether the visitor is an administrator is in the session too: not known, not refused.
	expect(t, "admin page with Redis down", d.get("/admin/products"), http.StatusServiceUnavailable, "session store")
}
