package handlers_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/internal/titlecase"
)

// shopper is a browser: a cookie jar that does not follow redirects, so tests see each 303.
type shopper struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newShopper(t *testing.T, base string) *shopper {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &shopper{t: t, base: base, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (s *shopper) do(req *http.Request) response {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

func (s *shopper) get(path string) response {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(req)
}

// post sends a same-origin form, as a browser does.
func (s *shopper) post(path string, form url.Values) response {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return s.do(req)
}

// sessionCookie returns the shopper's session token, or "".
func (s *shopper) sessionCookie() string {
	u, _ := url.Parse(s.base)
	for _, c := range s.client.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// setSessionCookie replaces the shopper's session cookie, as an attacker replaying one would.
func (s *shopper) setSessionCookie(token string) {
	u, _ := url.Parse(s.base)
	s.client.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: token, Path: "/"}})
}

func expect(t *testing.T, what string, r response, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d, want %d; body: %.400s", what, r.status, status, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Errorf("%s: body lacks %q", what, c)
		}
	}
}

func (s *shopper) register(email, name, password string) {
	s.t.Helper()
	r := s.post("/register", url.Values{"email": {email}, "name": {name}, "password": {password}})
	if r.status != http.StatusSeeOther {
		s.t.Fatalf("register %s = %d, want 303; body: %.400s", email, r.status, r.body)
	}
}

func (s *shopper) addToCart(productID int64, quantity int) response {
	s.t.Helper()
	return s.post("/cart/items", url.Values{"product_id": {fmt.Sprint(productID)}, "quantity": {fmt.Sprint(quantity)}})
}

// productIDs returns the ids of n listed, in-stock products.
func productIDs(t *testing.T, shop *testShop, n int) []int64 {
	t.Helper()
	rows, err := shop.pool.Query(context.Background(),
		`SELECT id FROM products WHERE merchandise AND stock > 10 ORDER BY id LIMIT $1`, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		t.Fatalf("found %d products, want %d", len(ids), n)
	}
	return ids
}

func stockOf(t *testing.T, shop *testShop, id int64) int {
	t.Helper()
	var stock int
	if err := shop.pool.QueryRow(context.Background(), `SELECT stock FROM products WHERE id = $1`, id).Scan(&stock); err != nil {
		t.Fatal(err)
	}
	return stock
}

var orderPath = regexp.MustCompile(`^/orders/(\d+)$`)

func TestShopperJourney(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 2)
	before := []int{stockOf(t, shop, ids[0]), stockOf(t, shop, ids[1])}

	alice := newShopper(t, shop.URL)
	// An anonymous cart, kept through registration.
	expect(t, "add to cart", alice.addToCart(ids[0], 2), http.StatusSeeOther)
	expect(t, "cart", alice.get("/cart"), http.StatusOK, "Sign in to check out", `value="2"`)
	alice.register("Alice@Example.com ", "Alice", "correct horse battery")
	expect(t, "home after register", alice.get("/"), http.StatusOK, "Welcome, Alice!", "Alice", "Sign out")
	expect(t, "add second product", alice.addToCart(ids[1], 3), http.StatusSeeOther)
	cart := alice.get("/cart")
	expect(t, "cart", cart, http.StatusOK, "Check out", `<span class="count">5</span>`)
	var name string
	if err := shop.pool.QueryRow(context.Background(), `SELECT name FROM products WHERE id = $1`, ids[1]).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if want := html.EscapeString(fmt.Sprintf("Added 3 × %s to your cart.", titlecase.Name(name))); !strings.Contains(cart.body, want) {
		t.Errorf("the cart's flash does not say %q, the product's name as shown", want)
	}

	r := alice.post("/checkout", nil)
	m := orderPath.FindStringSubmatch(r.location)
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("checkout = %d to %q, want 303 to /orders/{id}", r.status, r.location)
	}
	order := alice.get(r.location)
	expect(t, "order page", order, http.StatusOK, "Order #"+m[1], "Thank you!", "Total")
	if got := []int{stockOf(t, shop, ids[0]), stockOf(t, shop, ids[1])}; got[0] != before[0]-2 || got[1] != before[1]-3 {
		t.Errorf("stock after checkout = %v, want %v less 2 and 3", got, before)
	}
	expect(t, "orders", alice.get("/orders"), http.StatusOK, "#"+m[1])
	expect(t, "cart after checkout", alice.get("/cart"), http.StatusOK, "Your cart is empty")

	// Another shopper cannot see Alice's order.
	bob := newShopper(t, shop.URL)
	bob.register("bob@example.com", "Bob", "another long password")
	expect(t, "bob sees alice's order", bob.get(r.location), http.StatusNotFound)
	expect(t, "bob's orders", bob.get("/orders"), http.StatusOK, "No orders yet")

	// Sign out and back in: the order is still hers.
	expect(t, "logout", alice.post("/logout", nil), http.StatusSeeOther)
	expect(t, "orders after logout", alice.get("/orders"), http.StatusSeeOther)
	r = alice.post("/login", url.Values{"email": {"alice@example.com"}, "password": {"correct horse battery"}, "next": {"/orders"}})
	if r.status != http.StatusSeeOther || r.location != "/orders" {
		t.Fatalf("login = %d to %q, want 303 to /orders", r.status, r.location)
	}
	expect(t, "orders after login", alice.get("/orders"), http.StatusOK, "#"+m[1])

	// Profile: update, then see it.
	expect(t, "update profile", alice.post("/account", url.Values{"name": {"Alice B."}, "address": {"1 High St\nLondon"}}), http.StatusSeeOther)
	expect(t, "account", alice.get("/account"), http.StatusOK, "Alice B.", "1 High St", "alice@example.com")
}

func TestSessionSafety(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 1)
	ctx := context.Background()
	key := func(token string) string { return shop.prefix + "session:" + token }

	s := newShopper(t, shop.URL)
	r := s.addToCart(ids[0], 1)
	anon := s.sessionCookie()
	if anon == "" {
		t.Fatal("no session cookie after adding to the cart")
	}
	checkCookie(t, r.header)
	ttl, err := shop.rdb.PTTL(ctx, key(anon)).Result()
	if err != nil || ttl <= 0 || ttl > 30*time.Minute {
		t.Errorf("TTL of the session key = %v (%v), want within the 30 min idle timeout", ttl, err)
	}

	s.register("carol@example.com", "Carol", "a fine long password")
	signedIn := s.sessionCookie()
	if signedIn == anon || signedIn == "" {
		t.Fatalf("token after sign-up = %q, want a new one", signedIn)
	}
	if n := shop.rdb.Exists(ctx, key(anon)).Val(); n != 0 {
		t.Errorf("pre-login session still in Redis")
	}

	// Replaying the pre-login token: anonymous, and replaced by a fresh token.
	attacker := newShopper(t, shop.URL)
	attacker.setSessionCookie(anon)
	r = attacker.get("/")
	expect(t, "replayed pre-login token", r, http.StatusOK)
	if strings.Contains(r.body, "Carol") {
		t.Error("a replayed pre-login token is signed in")
	}
	if fresh := attacker.sessionCookie(); fresh == anon || fresh == "" {
		t.Errorf("replayed unknown token was not replaced (cookie %q)", fresh)
	}
	expect(t, "replayed token /account", attacker.get("/account"), http.StatusSeeOther)

	expect(t, "logout", s.post("/logout", nil), http.StatusSeeOther)
	after := s.sessionCookie()
	if after == signedIn || after == "" {
		t.Fatalf("token after logout = %q, want a new one", after)
	}
	if n := shop.rdb.Exists(ctx, key(signedIn)).Val(); n != 0 {
		t.Errorf("signed-in session still in Redis after logout")
	}
	attacker.setSessionCookie(signedIn)
	if r := attacker.get("/account"); r.status != http.StatusSeeOther {
		t.Errorf("replayed signed-in token after logout: /account = %d, want 303 to login", r.status)
	}

	// A forged token is never accepted and never kept.
	attacker.setSessionCookie("forged-token-value")
	attacker.get("/")
	if c := attacker.sessionCookie(); c == "forged-token-value" {
		t.Error("a forged session cookie was kept")
	}
	if n := shop.rdb.Exists(ctx, key("forged-token-value")).Val(); n != 0 {
		t.Error("a forged token was stored in Redis")
	}
}

// checkCookie asserts the session cookie's attributes.
func checkCookie(t *testing.T, h http.Header) {
	t.Helper()
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		if c.Name != "session" {
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
			t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure (SHOP_SESSION_SECURE unset)", c)
		}
		return
	}
	t.Error("no session cookie set")
}

func TestConcurrentCheckoutsOfTheLastItem(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	id := productIDs(t, shop, 1)[0]
	if _, err := shop.pool.Exec(context.Background(), `UPDATE products SET stock = 1 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	const n = 50
	shoppers := make([]*shopper, n)
	for i := range shoppers {
		shoppers[i] = newShopper(t, shop.URL)
		shoppers[i].register(fmt.Sprintf("buyer%d@example.com", i), fmt.Sprintf("Buyer %d", i), "a fine long password")
		expect(t, "add", shoppers[i].addToCart(id, 1), http.StatusSeeOther)
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range shoppers {
		wg.Go(func() {
			<-start
			statuses[i] = s.post("/checkout", nil).status
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count[http.StatusSeeOther] != 1 || count[http.StatusConflict] != n-1 {
		t.Errorf("checkout statuses = %v, want one 303 and %d × 409", count, n-1)
	}
	if s := stockOf(t, shop, id); s != 0 {
		t.Errorf("stock = %d, want 0", s)
	}
	var orders, lines int
	err := shop.pool.QueryRow(context.Background(), `SELECT count(DISTINCT o.id), count(i.*) FROM orders o
		LEFT JOIN order_items i ON i.order_id = o.id WHERE o.user_id IS NOT NULL`).Scan(&orders, &lines)
	if err != nil || orders != 1 || lines != 1 {
		t.Errorf("orders, lines = %d, %d (%v), want 1, 1: a refused checkout must write nothing", orders, lines, err)
	}
	// The 409 page names the item.
	r := shoppers[0].post("/checkout", nil)
	if r.status == http.StatusConflict && !strings.Contains(r.body, "out of stock") {
		t.Errorf("409 page does not say what is out of stock: %.300s", r.body)
	}
}

func TestConcurrentAddsKeepEveryLine(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 21)
	for _, signedIn := range []bool{true, false} {
		t.Run(fmt.Sprintf("signedIn=%v", signedIn), func(t *testing.T) {
			s := newShopper(t, shop.URL)
			if signedIn {
				s.register(fmt.Sprintf("adder%v@example.com", signedIn), "Adder", "a fine long password")
			} else {
				expect(t, "first add", s.addToCart(ids[20], 1), http.StatusSeeOther) // the session exists from here
			}
			var wg sync.WaitGroup
			for _, id := range ids[:20] {
				wg.Go(func() {
					if r := s.addToCart(id, 1); r.status != http.StatusSeeOther {
						t.Errorf("add %d = %d", id, r.status)
					}
				})
			}
			wg.Wait()
			body := s.get("/cart").body
			for _, id := range ids[:20] {
				if !strings.Contains(body, fmt.Sprintf(`action="/cart/items/%d"`, id)) {
					t.Errorf("cart lacks product %d after 20 concurrent adds", id)
				}
			}
		})
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	id := productIDs(t, shop, 1)[0]
	form := url.Values{"product_id": {fmt.Sprint(id)}, "quantity": {"1"}}.Encode()
	for name, headers := range map[string]map[string]string{
		"sec-fetch-site": {"Sec-Fetch-Site": "cross-site"},
		"origin":         {"Origin": "https://evil.example"},
	} {
		req, _ := http.NewRequest(http.MethodPost, shop.URL+"/cart/items", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		r := newShopper(t, shop.URL).do(req)
		expect(t, "cross-origin POST ("+name+")", r, http.StatusForbidden, "another site")
	}
}
