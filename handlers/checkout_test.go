package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/testenv"
)

var checkoutKeyField = regexp.MustCompile(`name="checkout_key" value="([A-Za-z0-9_-]+)"`)

// checkoutKey reads the key the cart page's checkout form carries.
func checkoutKey(t *testing.T, s *shopper) string {
	t.Helper()
	m := checkoutKeyField.FindStringSubmatch(s.get("/cart").body)
	if m == nil {
		t.Fatal("the cart page has no checkout_key field")
	}
	return m[1]
}

// postAll sends n copies of the same form at once from s's browser and returns each
// response's status and Location.
func postAll(t *testing.T, s *shopper, path string, form url.Values, n int) (statuses []int, locations []string) {
	t.Helper()
	statuses, locations = make([]int, n), make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			<-start
			resp, err := s.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i], locations[i] = resp.StatusCode, resp.Header.Get("Location")
		})
	}
	close(start)
	wg.Wait()
	return statuses, locations
}

func ordersOf(t *testing.T, shop *testShop, email string) int {
	t.Helper()
	var n int
	if err := shop.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = $1`, email).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckoutOnce: ten concurrent submissions of one cart — the same form (a double click)
// or forms without a key (several tabs, a script) — place one order; every submission lands
// on that order or, once the cart is empty, says so; none fails. Resubmitting the form later
// lands on the same order. Repeated, as a race should be.
func TestCheckoutOnce(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 1)
	for round := range 4 {
		withKey := round%2 == 0
		t.Run(fmt.Sprintf("round %d, same key %v", round, withKey), func(t *testing.T) {
			email := fmt.Sprintf("dora%d@example.com", round)
			dora := newShopper(t, shop.URL)
			dora.register(email, "Dora", "a fine long password")
			stock := stockOf(t, shop, ids[0])
			expect(t, "add", dora.addToCart(ids[0], 2), http.StatusSeeOther)
			form := url.Values{}
			if withKey {
				form.Set("checkout_key", checkoutKey(t, dora))
			}
			statuses, locations := postAll(t, dora, "/checkout", form, 10)
			if n := ordersOf(t, shop, email); n != 1 {
				t.Fatalf("10 concurrent checkouts of one cart placed %d orders, want 1 (statuses %v)", n, statuses)
			}
			var order string
			for i, st := range statuses {
				switch {
				case st == http.StatusSeeOther && orderPath.MatchString(locations[i]):
					if order != "" && locations[i] != order {
						t.Errorf("submissions landed on %s and %s", order, locations[i])
					}
					order = locations[i]
				case st == http.StatusUnprocessableEntity && !withKey:
					// came after the order was placed: the cart is empty, and it says so
				default:
					t.Errorf("submission %d = %d to %q", i, st, locations[i])
				}
			}
			if got := stockOf(t, shop, ids[0]); got != stock-2 {
				t.Errorf("stock = %d, want %d: taken once", got, stock-2)
			}
			if withKey {
				r := dora.post("/checkout", form)
				if r.status != http.StatusSeeOther || r.location != order {
					t.Errorf("the form resubmitted later = %d to %q, want 303 to %s", r.status, r.location, order)
				}
				if n := ordersOf(t, shop, email); n != 1 {
					t.Errorf("after a resubmission: %d orders, want 1", n)
				}
			}
		})
	}
}

// TestAddDuringCheckoutIsKept holds a checkout after it read the cart — its INSERT waits on a
// lock of the orders table that lets reads through — while the same shopper adds to the cart: a new product, and
// more of one being ordered. The checkout then takes out exactly what it ordered.
func TestAddDuringCheckoutIsKept(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 2)
	erin := newShopper(t, shop.URL)
	erin.register("erin@example.com", "Erin", "a fine long password")
	expect(t, "add", erin.addToCart(ids[0], 2), http.StatusSeeOther)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, shop.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE orders IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, erin.base+"/checkout", strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := erin.client.Do(req)
		if err != nil {
			t.Error(err)
			done <- response{}
			return
		}
		resp.Body.Close()
		done <- response{status: resp.StatusCode, location: resp.Header.Get("Location")}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting int
		if err := shop.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO orders%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the checkout never waited on the lock")
		}
	}
	expect(t, "add another product during the checkout", erin.addToCart(ids[1], 3), http.StatusSeeOther)
	expect(t, "add more of the ordered one during the checkout", erin.addToCart(ids[0], 1), http.StatusSeeOther)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.status != http.StatusSeeOther || !orderPath.MatchString(r.location) {
		t.Fatalf("checkout = %d to %q, want 303 to the order", r.status, r.location)
	}
	expect(t, "the order", erin.get(r.location), http.StatusOK, "Order #")
	lines := shop.rdb.HGetAll(ctx, shop.prefix+"cart:u"+userID(t, shop, "erin@example.com")).Val()
	want := map[string]string{fmt.Sprint(ids[0]): "1", fmt.Sprint(ids[1]): "3"}
	if len(lines) != len(want) || lines[fmt.Sprint(ids[0])] != "1" || lines[fmt.Sprint(ids[1])] != "3" {
		t.Errorf("cart after the checkout = %v, want %v: what was added during it", lines, want)
	}
}

// TestCartRules: add, update and the merge at sign-in keep one set of rules — 1 to 99 units,
// never above the stock (the same message), 0 removes the line, and a line that is not in
// the cart cannot be updated.
func TestCartRules(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 3)
	ctx := context.Background()
	// A product with 3 in stock, read by nobody yet (no cache holds the old stock).
	if _, err := shop.pool.Exec(ctx, `UPDATE products SET stock = 3 WHERE id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	few, other, third := ids[0], ids[1], ids[2]
	path := func(id int64) string { return fmt.Sprintf("/cart/items/%d", id) }

	fay := newShopper(t, shop.URL)
	fay.register("fay@example.com", "Fay", "a fine long password")
	cartKey := shop.prefix + "cart:u" + userID(t, shop, "fay@example.com")
	line := func(id int64) string { return shop.rdb.HGet(ctx, cartKey, fmt.Sprint(id)).Val() }

	expect(t, "update a product not in the cart", fay.post(path(other), url.Values{"quantity": {"2"}}), http.StatusNotFound)
	if line(other) != "" {
		t.Error("updating a product not in the cart added it")
	}
	expect(t, "add more than the stock", fay.addToCart(few, 4), http.StatusUnprocessableEntity, "Only 3 in stock.")
	expect(t, "add 2", fay.addToCart(few, 2), http.StatusSeeOther)
	expect(t, "add 2 more: 4, over the stock", fay.addToCart(few, 2), http.StatusUnprocessableEntity, "Only 3 in stock.")
	if got := line(few); got != "2" {
		t.Errorf("line after a refused add = %q, want 2 (unchanged)", got)
	}
	expect(t, "update above the stock", fay.post(path(few), url.Values{"quantity": {"4"}}), http.StatusUnprocessableEntity, "Only 3 in stock.")
	expect(t, "update to the stock", fay.post(path(few), url.Values{"quantity": {"3"}}), http.StatusSeeOther)
	expect(t, "update to 100", fay.post(path(few), url.Values{"quantity": {"100"}}), http.StatusUnprocessableEntity, "to 99")
	expect(t, "add 0", fay.addToCart(other, 0), http.StatusUnprocessableEntity, "from 1 to 99")
	if got := line(few); got != "3" {
		t.Errorf("line = %q, want 3", got)
	}
	expect(t, "update to 0", fay.post(path(few), url.Values{"quantity": {"0"}}), http.StatusSeeOther)
	if line(few) != "" {
		t.Error("quantity 0 left the line in the cart")
	}

	// The merge at sign-in: the anonymous cart's lines join hers, cut to the stock.
	expect(t, "add 2 to her cart", fay.addToCart(few, 2), http.StatusSeeOther)
	expect(t, "sign out", fay.post("/logout", nil), http.StatusSeeOther)
	expect(t, "add 2 anonymously", fay.addToCart(few, 2), http.StatusSeeOther)
	expect(t, "add another anonymously", fay.addToCart(third, 5), http.StatusSeeOther)
	expect(t, "sign in", fay.post("/login", url.Values{"email": {"fay@example.com"}, "password": {"a fine long password"}}), http.StatusSeeOther)
	if got, want := line(few), "3"; got != want {
		t.Errorf("merged line = %q, want %s: 2 + 2 cut to the 3 in stock", got, want)
	}
	if got := line(third); got != "5" {
		t.Errorf("merged line = %q, want 5", got)
	}
}

var cartDigestField = regexp.MustCompile(`name="cart_digest" value="([0-9a-f]+)"`)

// TestCheckoutAtThePricesShown: a price that changed between the cart page and "Place order"
// places nothing and says so; the cart shown again places the order at the new price.
func TestCheckoutAtThePricesShown(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	id := productIDs(t, shop, 1)[0]
	jan := newShopper(t, shop.URL)
	jan.register("jan@example.com", "Jan", "a fine long password")
	expect(t, "add", jan.addToCart(id, 2), http.StatusSeeOther)
	form := func() url.Values {
		page := jan.get("/cart").body
		key, digest := checkoutKeyField.FindStringSubmatch(page), cartDigestField.FindStringSubmatch(page)
		if key == nil || digest == nil {
			t.Fatal("the cart page's form lacks checkout_key or cart_digest")
		}
		return url.Values{"checkout_key": {key[1]}, "cart_digest": {digest[1]}}
	}
	shown := form()
	stock := stockOf(t, shop, id)

	ctx := context.Background()
	p, err := shop.Catalog.FindProduct(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Catalog.UpdateProduct(ctx, id, catalog.ProductUpdate{Name: p.Name, Description: p.Description,
		Price: p.Price * 10, Stock: p.Stock, Version: p.Version}); err != nil {
		t.Fatal(err)
	}
	expect(t, "checkout at the old prices", jan.post("/checkout", shown), http.StatusConflict, "changed since you looked", "Nothing was ordered")
	if n := ordersOf(t, shop, "jan@example.com"); n != 0 || stockOf(t, shop, id) != stock {
		t.Fatalf("after a refused checkout: %d orders, stock %d (was %d); want none and unchanged", n, stockOf(t, shop, id), stock)
	}
	r := jan.post("/checkout", form())
	if r.status != http.StatusSeeOther || !orderPath.MatchString(r.location) {
		t.Fatalf("checkout of the cart shown again = %d to %q, want the order", r.status, r.location)
	}
	var total int64
	if err := shop.pool.QueryRow(ctx, `SELECT sum(quantity * unit_price) FROM order_items WHERE order_id = $1`,
		orderPath.FindStringSubmatch(r.location)[1]).Scan(&total); err != nil || total != 2*p.Price*10 {
		t.Errorf("order total = %d (%v), want %d: the new price", total, err, 2*p.Price*10)
	}
}

// TestCheckoutAfterAFailedRelease: an order was placed but its checkout could not end its
// claim nor take its lines out of the cart (Redis hung or failing over right after the
// commit). A checkout of the same cart later — a new form — must not be told that old order
// is its own: it takes the old order's lines out once, and orders what was added since.
func TestCheckoutAfterAFailedRelease(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ids := productIDs(t, shop, 2)
	ctx := context.Background()
	fay := newShopper(t, shop.URL)
	fay.register("fay@example.com", "Fay", "a fine long password")
	expect(t, "add", fay.addToCart(ids[0], 2), http.StatusSeeOther)
	key := checkoutKey(t, fay)
	first := fay.post("/checkout", url.Values{"checkout_key": {key}})
	if first.status != http.StatusSeeOther || !orderPath.MatchString(first.location) {
		t.Fatalf("first checkout = %d to %q, want 303 to its order", first.status, first.location)
	}

	// The state a failed release leaves: the claim still the first checkout's, its lines
	// still in the cart; and the order placed a minute ago.
	cart := shop.prefix + "cart:u" + userID(t, shop, "fay@example.com")
	now, err := shop.rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := shop.rdb.HSet(ctx, cart, "checkout", fmt.Sprintf("%s:%d", key, now.UnixMilli()), fmt.Sprint(ids[0]), 2).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.pool.Exec(ctx, `UPDATE orders SET created_at = now() - interval '1 minute' WHERE idempotency_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	expect(t, "add another product", fay.addToCart(ids[1], 1), http.StatusSeeOther)

	second := fay.post("/checkout", url.Values{})
	if second.status != http.StatusSeeOther || !orderPath.MatchString(second.location) || second.location == first.location {
		t.Fatalf("second checkout = %d to %q, want 303 to a new order (the first is %s)", second.status, second.location, first.location)
	}
	var lines string
	if err := shop.pool.QueryRow(ctx, `SELECT string_agg(product_id || 'x' || quantity, ',' ORDER BY product_id)
		FROM order_items WHERE order_id = (SELECT id FROM orders WHERE idempotency_key <> $1 AND user_id = $2::bigint)`,
		key, userID(t, shop, "fay@example.com")).Scan(&lines); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%dx1", ids[1]); lines != want {
		t.Errorf("the second order has %q, want %q: only what was added after the first", lines, want)
	}
	if left := shop.rdb.HGetAll(ctx, cart).Val(); len(left) != 0 {
		t.Errorf("cart after both checkouts = %v, want empty and unclaimed", left)
	}
	if n := ordersOf(t, shop, "fay@example.com"); n != 2 {
		t.Errorf("%d orders, want 2", n)
	}
}
