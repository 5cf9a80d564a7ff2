package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/orders"
)

// cartLine is a cart line with its product as it is now.
type cartLine struct {
	Product  catalog.Product
	Quantity int
	Subtotal string
	Error    string // a message next to the line's quantity
}

type cartPage struct {
	Lines   []cartLine
	Totals  []string // one per currency, e.g. "£12.40"
	Units   int
	Problem string // a message for the whole cart, e.g. what is out of stock
	SignIn  bool   // the visitor must sign in to check out
}

// loadCart reads the request's cart with current prices. Lines whose product is gone are
// dropped from the page.
func (s *Server) loadCart(r *http.Request) (cartPage, error) {
	page := cartPage{SignIn: currentUser(r.Context()) == nil}
	id := s.cartID(r.Context())
	if id == "" {
		return page, nil
	}
	ctx := r.Context()
	lines, err := s.carts.Lines(ctx, id)
	if err != nil || len(lines) == 0 {
		return page, err
	}
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.ProductID
	}
	products, err := s.catalog.FindProducts(ctx, ids)
	if err != nil {
		return page, err
	}
	totals := map[string]int64{}
	for _, l := range lines {
		p, ok := products[l.ProductID]
		if !ok {
			continue
		}
		sub := p.Price * int64(l.Quantity)
		totals[p.Currency] += sub
		page.Units += l.Quantity
		page.Lines = append(page.Lines, cartLine{Product: p, Quantity: l.Quantity, Subtotal: money.Format(sub, p.Currency)})
	}
	for currency, total := range totals {
		page.Totals = append(page.Totals, money.Format(total, currency))
	}
	sort.Strings(page.Totals)
	return page, nil
}

func (s *Server) handleCart(w http.ResponseWriter, r *http.Request) {
	if sessionsDown(r.Context()) { // the cart is there, but we cannot tell whose it is
		s.serveError(w, r, errSessionsDown)
		return
	}
	page, err := s.loadCart(r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "cart", "Your cart", page)
}

// cartProduct reads the page of the product a cart form names, which must exist and be for
// sale (the page, so that a refused form can show it again without reading it twice).
func (s *Server) cartProduct(r *http.Request, rawID string) (catalog.ProductPage, error) {
	id, err := productID(rawID)
	if err != nil {
		return catalog.ProductPage{}, err
	}
	page, err := s.catalog.FindProductPage(r.Context(), id)
	if err != nil {
		return catalog.ProductPage{}, err
	}
	if !page.Product.Merchandise {
		return catalog.ProductPage{}, &clientError{http.StatusUnprocessableEntity, page.Product.Name + " is not for sale."}
	}
	return page, nil
}

func (s *Server) handleCartAdd(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	page, err := s.cartProduct(r, values.Get("product_id"))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	p := page.Product
	n, msg := quantity(values.Get("quantity"))
	if msg == "" && n > p.Stock {
		msg = fmt.Sprintf("Only %d in stock.", p.Stock)
	}
	if msg != "" {
		s.renderProduct(w, r, http.StatusUnprocessableEntity, page, &addForm{Quantity: values.Get("quantity"), Error: msg}, nil)
		return
	}
	cart, err := s.ensureCartID(ctx)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	total, err := s.carts.Add(ctx, cart, p.ID, n)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	note := fmt.Sprintf("Added %d × %s to your cart.", n, p.Name)
	if total == orders.MaxQuantity {
		note = fmt.Sprintf("Your cart holds %d × %s, the most of one product.", total, p.Name)
	}
	s.flash(ctx, note)
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *Server) handleCartUpdate(w http.ResponseWriter, r *http.Request) {
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	product, err := s.cartProduct(r, r.PathValue("id"))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	p := product.Product
	n, msg := quantity(values.Get("quantity"))
	if msg != "" {
		page, err := s.loadCart(r)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		page.Problem = p.Name + ": " + msg
		for i := range page.Lines {
			if page.Lines[i].Product.ID == p.ID {
				page.Lines[i].Error, page.Problem = msg, ""
			}
		}
		s.render(w, r, http.StatusUnprocessableEntity, "cart", "Your cart", page)
		return
	}
	cart, err := s.ensureCartID(ctx)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if err := s.carts.Set(ctx, cart, p.ID, n); err != nil {
		s.serveError(w, r, err)
		return
	}
	s.flash(ctx, fmt.Sprintf("%s: quantity now %d.", p.Name, n))
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *Server) handleCartRemove(w http.ResponseWriter, r *http.Request) {
	if _, err := parseForm(w, r); err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	id, err := productID(r.PathValue("id"))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if cart := s.cartID(ctx); cart != "" {
		if err := s.carts.Remove(ctx, cart, id); err != nil {
			s.serveError(w, r, err)
			return
		}
	}
	s.flash(ctx, "Removed from your cart.")
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	if _, err := parseForm(w, r); err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	order, err := s.checkout.Place(ctx, currentUser(ctx).ID)
	var oos *orders.OutOfStockError
	switch {
	case errors.As(err, &oos):
		s.renderCartProblem(w, r, http.StatusConflict, outOfStockMessage(oos))
		return
	case errors.Is(err, orders.ErrEmptyCart):
		s.renderCartProblem(w, r, http.StatusUnprocessableEntity, "Your cart is empty: add something first.")
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

func outOfStockMessage(e *orders.OutOfStockError) string {
	if e.Available == 0 {
		return fmt.Sprintf("Sorry, %s is out of stock. Remove it from your cart to check out the rest; nothing was ordered.", e.Name)
	}
	return fmt.Sprintf("Sorry, only %d of %s are left and your cart asks for %d. Lower the quantity to check out; nothing was ordered.",
		e.Available, e.Name, e.Wanted)
}

func (s *Server) renderCartProblem(w http.ResponseWriter, r *http.Request, status int, problem string) {
	page, err := s.loadCart(r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	page.Problem = problem
	s.render(w, r, status, "cart", "Your cart", page)
}
