package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/orders"
)

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// placeForm reads the review page's place-order form.
func placeForm(t *testing.T, page string) url.Values {
	t.Helper()
	i := strings.Index(page, `action="/checkout"`)
	if i < 0 {
		t.Fatalf("the review has no place-order form:\n%s", page)
	}
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page[i:], -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	return form
}

// TestCheckoutSteps walks the stepped checkout: the address from the profile, a blank one
// refused next to its field, the review with its lines, delivery and VAT, the order placed
// at what the review showed and stored with its address, delivery and status; and a price
// changed between the review and "Place order" shows the review again with the change.
func TestCheckoutSteps(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ctx := context.Background()
	ids := productIDs(t, shop, 2)
	kim := newShopper(t, shop.URL)
	kim.register("kim@example.com", "Kim", "a fine long password")
	expect(t, "profile address", kim.post("/account", url.Values{"name": {"Kim"}, "address": {"1 Old Road\nLeeds"}}), http.StatusSeeOther)
	expect(t, "add", kim.addToCart(ids[0], 1), http.StatusSeeOther)

	key := checkoutKey(t, kim)
	expect(t, "address step", kim.get("/checkout/address?checkout_key="+key), http.StatusOK,
		"1 Old Road\nLeeds", `value="`+key+`"`, `aria-current="step"`)
	r := kim.post("/checkout/address", url.Values{"checkout_key": {key}, "address": {"   "}})
	expect(t, "blank address", r, http.StatusUnprocessableEntity, `aria-invalid="true"`, `aria-describedby="address-note address-error"`,
		`id="address-error"`, "Delivery address is required.")
	r = kim.post("/checkout/address", url.Values{"checkout_key": {key}, "address": {"Kim Lee\n2 New Street\nYork YO1 7HH"}})
	if r.status != http.StatusSeeOther || r.location != "/checkout/review?checkout_key="+key {
		t.Fatalf("address saved = %d to %q, want 303 to the review with the key", r.status, r.location)
	}
	expect(t, "the profile keeps the new address", kim.get("/account"), http.StatusOK, "2 New Street")

	p, err := shop.Catalog.FindProduct(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.Price >= orders.FreeDeliveryFrom {
		t.Fatalf("product %d costs %d; the test wants one under the free-delivery threshold", p.ID, p.Price)
	}
	gross := p.Price + orders.DeliveryFee
	review := kim.get(r.location)
	expect(t, "review", review, http.StatusOK, p.DisplayName(), "Kim Lee", "2 New Street",
		"Delivery</dt><dd>"+money.Format(orders.DeliveryFee, "GBP"),
		"Total</dt><dd class=\"grand\">"+money.Format(gross, "GBP"),
		"VAT included (20 %)</dt><dd>"+money.Format(orders.VATIncluded(gross), "GBP"))
	form := placeForm(t, review.body)
	if form.Get("checkout_key") != key || form.Get("address") != "Kim Lee\n2 New Street\nYork YO1 7HH" || form.Get("cart_digest") == "" {
		t.Fatalf("the place-order form = %v; want the key, the address and the digest", form)
	}

	// A price changed between the review and "Place order": nothing is ordered, and the
	// review comes back with the change marked.
	if _, err := shop.Catalog.UpdateProduct(ctx, p.ID, catalog.ProductUpdate{Name: p.Name, Description: p.Description,
		Price: p.Price + 100, Stock: p.Stock, Version: p.Version}); err != nil {
		t.Fatal(err)
	}
	expect(t, "add another meanwhile", kim.addToCart(ids[1], 1), http.StatusSeeOther)
	r = kim.post("/checkout", form)
	expect(t, "place at the old price", r, http.StatusConflict, "Review your order", "changed since you looked", "Nothing was ordered",
		`class="changed"`, "The price was "+money.Format(p.Price, "GBP")+" and is now "+money.Format(p.Price+100, "GBP"),
		"New in your cart since you looked.")
	if n := ordersOf(t, shop, "kim@example.com"); n != 0 {
		t.Fatalf("a refused checkout placed %d orders", n)
	}

	// The review shown again places the order, at what it shows, to its address.
	form = placeForm(t, r.body)
	r = kim.post("/checkout", form)
	m := orderPath.FindStringSubmatch(r.location)
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("place = %d to %q, want 303 to the order", r.status, r.location)
	}
	var address, status string
	var delivery, lines int64
	if err := shop.pool.QueryRow(ctx, `SELECT o.shipping_address, o.status, o.delivery, sum(i.quantity * i.unit_price)
		FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1 GROUP BY o.id`, m[1]).
		Scan(&address, &status, &delivery, &lines); err != nil {
		t.Fatal(err)
	}
	if address != "Kim Lee\n2 New Street\nYork YO1 7HH" || status != "placed" || delivery != orders.DeliveryCharge(lines) {
		t.Errorf("stored order: address %q, status %q, delivery %d for lines %d", address, status, delivery, lines)
	}
	expect(t, "order page", kim.get(r.location), http.StatusOK, "Placed: being packed for dispatch", "2 New Street",
		money.Format(lines+delivery, "GBP"), "VAT included")
	expect(t, "orders list", kim.get("/orders"), http.StatusOK, money.Format(lines+delivery, "GBP"), "Placed")

	// The review of an empty cart sends the shopper back to it; a blank address on the
	// place-order form is refused and orders nothing.
	r = kim.get("/checkout/review")
	if r.status != http.StatusSeeOther || r.location != "/cart" {
		t.Errorf("review of an empty cart = %d to %q, want 303 to /cart", r.status, r.location)
	}
	expect(t, "add again", kim.addToCart(ids[0], 1), http.StatusSeeOther)
	expect(t, "place with a blank address", kim.post("/checkout", url.Values{"checkout_key": {orders.NewKey()}, "address": {""}}),
		http.StatusUnprocessableEntity, "Delivery address is required.")
	if n := ordersOf(t, shop, "kim@example.com"); n != 1 {
		t.Errorf("orders after a refused blank address = %d, want 1", n)
	}
	expect(t, "anonymous review", newShopper(t, shop.URL).get("/checkout/review"), http.StatusSeeOther)
}
