package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/orders"
)

// The checkout runs in steps, each a page of its own:
//
//  1. GET /checkout/address: where the order goes, filled in from the profile; POST
//     /checkout/address saves it to the profile and goes on to
//  2. GET /checkout/review: the lines, the delivery charge and the VAT included, the address,
//     and the place-order form, which posts to
//  3. POST /checkout: places the order (orders.Checkout) and shows it.
//
// The idempotency key (checkout_key) is minted on the cart page and carried through the
// steps, so a double click or a second tab anywhere along the way places one order. The
// review's form carries the orders.QuoteDigest of what it showed: if the cart or a price
// changed since, nothing is ordered and the review is shown again with the changes marked.

// addressForm is the checkout's address step.
type addressForm struct {
	Address string
	Key     string // the checkout's idempotency key
	Errors  fieldErrors
}

func (f *addressForm) validate() bool {
	f.Errors = fieldErrors{}
	// Not required for checkLength: an address has several lines.
	f.Errors.checkLength("address", "Delivery address", f.Address, false, accounts.MaxAddressLength)
	switch {
	case f.Address == "":
		f.Errors.add("address", "Delivery address is required.")
	case !validText(f.Address):
		f.Errors.add("address", "Delivery address holds characters that are not text. Please type it again.")
	}
	return len(f.Errors) == 0
}

// reviewPage is the checkout's review step: the cart with delivery, VAT and the address.
type reviewPage struct {
	cartPage
	Address string
	// Currency-formatted amounts; empty when the cart mixes currencies (it cannot be
	// checked out).
	LinesTotal, Delivery, Total, VAT string
	FreeDelivery                     string // how much more makes delivery free; "" when it is
	Removed                          []string
	VATRate                          int
	DeliveryFee, FreeDeliveryFrom    string // the delivery rule, in the cart's currency
}

// checkoutKeyFrom returns the key a step was given, or a new one.
func checkoutKeyFrom(v string) string {
	if orders.ValidKey(v) {
		return v
	}
	return orders.NewKey()
}

func (s *Server) handleCheckoutAddress(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	s.render(w, r, http.StatusOK, "checkout_address", "Delivery address",
		&addressForm{Address: u.Address, Key: checkoutKeyFrom(r.URL.Query().Get("checkout_key"))})
}

func (s *Server) handleCheckoutAddressSave(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	u := currentUser(ctx)
	f := &addressForm{Address: strings.TrimSpace(values.Get("address")), Key: checkoutKeyFrom(values.Get("checkout_key"))}
	if !f.validate() {
		s.render(w, r, http.StatusUnprocessableEntity, "checkout_address", "Delivery address", f)
		return
	}
	if f.Address != u.Address {
		if _, err := s.accounts.UpdateProfile(ctx, u.ID, u.Name, f.Address); err != nil {
			s.serveError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/checkout/review?checkout_key="+url.QueryEscape(f.Key), http.StatusSeeOther)
}

// loadReview builds the review of the request's cart, to be shipped to address.
func (s *Server) loadReview(r *http.Request, key, address string) (reviewPage, error) {
	cart, err := s.loadCart(r)
	if err != nil {
		return reviewPage{}, err
	}
	cart.CheckoutKey = key
	cart.ReadOnly = true
	page := reviewPage{cartPage: cart, Address: address, VATRate: orders.VATRatePercent}
	if len(cart.totals) != 1 {
		if len(cart.totals) > 1 {
			page.Problem = "Your cart holds products priced in different currencies; check them out one currency at a time."
		}
		return page, nil
	}
	for currency, lines := range cart.totals {
		delivery := orders.DeliveryCharge(lines)
		page.LinesTotal = money.Format(lines, currency)
		page.Total = money.Format(lines+delivery, currency)
		page.VAT = money.Format(orders.VATIncluded(lines+delivery), currency)
		page.DeliveryFee, page.FreeDeliveryFrom = money.Format(orders.DeliveryFee, currency), money.Format(orders.FreeDeliveryFrom, currency)
		page.Delivery = "Free"
		if delivery > 0 {
			page.Delivery = money.Format(delivery, currency)
			page.FreeDelivery = money.Format(orders.FreeDeliveryFrom-lines, currency)
		}
	}
	return page, nil
}

func (s *Server) handleCheckoutReview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := currentUser(ctx)
	key := checkoutKeyFrom(r.URL.Query().Get("checkout_key"))
	if strings.TrimSpace(u.Address) == "" {
		http.Redirect(w, r, "/checkout/address?checkout_key="+url.QueryEscape(key), http.StatusSeeOther)
		return
	}
	page, err := s.loadReview(r, key, u.Address)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if len(page.Lines) == 0 {
		s.flash(ctx, "Your cart is empty: add something first.")
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "checkout_review", "Review your order", page)
}

// handleCheckout places the order. Its fields: checkout_key (the idempotency key),
// cart_digest (the QuoteDigest shown), and from the review address (where the order goes;
// without the field, the profile's address) and quoted (the lines shown, to mark changes).
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	u := currentUser(ctx)
	address := u.Address
	if _, given := values["address"]; given {
		f := &addressForm{Address: strings.TrimSpace(values.Get("address")), Key: checkoutKeyFrom(values.Get("checkout_key"))}
		if !f.validate() {
			s.render(w, r, http.StatusUnprocessableEntity, "checkout_address", "Delivery address", f)
			return
		}
		address = f.Address
	}
	// The form's key makes a double click, a resubmission or a second tab one order.
	order, err := s.checkout.Place(ctx, u.ID, values.Get("checkout_key"), values.Get("cart_digest"), address)
	var oos *orders.OutOfStockError
	switch {
	case errors.As(err, &oos):
		s.renderCartProblem(w, r, http.StatusConflict, outOfStockMessage(oos))
		return
	case errors.Is(err, orders.ErrEmptyCart):
		s.renderCartProblem(w, r, http.StatusUnprocessableEntity, "Your cart is empty: add something first.")
		return
	case errors.Is(err, orders.ErrQuoteChanged):
		s.renderQuoteChanged(w, r, values, address)
		return
	case errors.Is(err, orders.ErrCheckoutRunning):
		s.renderCartProblem(w, r, http.StatusConflict, "This cart is being checked out already, from another tab or window. "+
			"Look at your orders in a moment; nothing more was ordered.")
		return
	case errors.Is(err, orders.ErrMixedCurrency):
		s.renderCartProblem(w, r, http.StatusConflict, "Your cart holds products priced in different currencies; check them out one currency at a time.")
		return
	case err != nil:
		s.serveError(w, r, err)
		return
	}
	s.flash(ctx, fmt.Sprintf("Thank you! Order #%d is placed.", order.ID))
	http.Redirect(w, r, "/orders/"+strconv.FormatInt(order.ID, 10), http.StatusSeeOther)
}

// renderQuoteChanged shows the review again, 409, with each line that differs from the
// quoted one the form carried marked, and the lines that left the cart named.
func (s *Server) renderQuoteChanged(w http.ResponseWriter, r *http.Request, values url.Values, address string) {
	page, err := s.loadReview(r, checkoutKeyFrom(values.Get("checkout_key")), address)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	page.Problem = "Your cart or its prices changed since you looked at it: " +
		"check it below and place the order again. Nothing was ordered."
	before := decodeQuotes(values.Get("quoted"))
	for i := range page.Lines {
		l := &page.Lines[i]
		q, ok := before[l.Product.ID]
		switch {
		case before == nil:
		case !ok:
			l.Changed = "New in your cart since you looked."
		case q.UnitPrice != l.Product.Price:
			l.Changed = fmt.Sprintf("The price was %s and is now %s.", money.Format(q.UnitPrice, l.Product.Currency), l.Product.DisplayPrice())
		case q.Quantity != l.Quantity:
			l.Changed = fmt.Sprintf("The quantity was %d and is now %d.", q.Quantity, l.Quantity)
		}
		delete(before, l.Product.ID)
	}
	if len(before) > 0 {
		ids := make([]int64, 0, len(before))
		for id := range before {
			ids = append(ids, id)
		}
		gone, err := s.catalog.FindProducts(r.Context(), ids)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		for _, id := range ids {
			name := fmt.Sprintf("product %d", id)
			if p, ok := gone[id]; ok {
				name = p.Name
			}
			page.Removed = append(page.Removed, name)
		}
	}
	s.render(w, r, http.StatusConflict, "checkout_review", "Review your order", page)
}

// encodeQuotes writes quotes as "id:quantity:unit_price" joined by ';' (the review form's
// quoted field).
func encodeQuotes(quotes []orders.Quote) string {
	parts := make([]string, len(quotes))
	for i, q := range quotes {
		parts[i] = fmt.Sprintf("%d:%d:%d", q.ProductID, q.Quantity, q.UnitPrice)
	}
	return strings.Join(parts, ";")
}

// decodeQuotes reads a quoted field by product id; nil when it is missing or malformed (the
// changes are then not marked: the field only ever explains, the digest decides).
func decodeQuotes(v string) map[int64]orders.Quote {
	if v == "" || len(v) > 64<<10 {
		return nil
	}
	out := map[int64]orders.Quote{}
	for _, part := range strings.Split(v, ";") {
		f := strings.Split(part, ":")
		if len(f) != 3 {
			return nil
		}
		id, err1 := strconv.ParseInt(f[0], 10, 64)
		n, err2 := strconv.Atoi(f[1])
		price, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil
		}
		out[id] = orders.Quote{ProductID: id, Quantity: n, UnitPrice: price}
	}
	return out
}
