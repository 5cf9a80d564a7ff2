package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/money"
	"github.com/shopcache/shop/internal/titlecase"
	"github.com/shopcache/shop/orders"
)

// cartLine is a cart line with its product as it is now.
type cartLine struct {
	Product  catalog.Product
	Quantity int
	Subtotal string
	Error    string // a message next to the line's quantity
	// Changed says how the line differs from the review the shopper placed the order from
	// ("" when it does not), for the review shown again after ErrQuoteChanged.
	Changed string
}

type cartPage struct {
	Lines   []cartLine
	Totals  []string // one per currency, e.g. "£12.40"
	Units   int
	Problem string // a message for the whole cart, e.g. what is out of stock
	SignIn  bool   // the visitor must sign in to check out
	// CheckoutKey is the idempotency key the checkout form carries: however often it is
	// submitted, it places one order.
	CheckoutKey string
	// Digest is the orders.QuoteDigest of the lines and prices shown: the order is placed
	// only at those.
	Digest string
	// Quoted lists the lines and prices shown, "id:quantity:unit_price" joined by ';': the
	// review's form carries it, so that a refused order can show what changed.
	Quoted   string
	ReadOnly bool // the lines are shown without their forms (never, on the cart page)
	// totals holds the lines' total per currency, in minor units.
	totals map[string]int64
}

// loadCart reads the request's cart with current prices. Lines whose product is gone are
// dropped from the page.
func (s *Server) loadCart(r *http.Request) (cartPage, error) {
	page := cartPage{SignIn: currentUser(r.Context()) == nil, CheckoutKey: orders.NewKey()}
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
	var quotes []orders.Quote
	for _, l := range lines {
		p, ok := products[l.ProductID]
		if !ok {
			continue
		}
		quotes = append(quotes, orders.Quote{ProductID: p.ID, Quantity: l.Quantity, UnitPrice: p.Price, Currency: p.Currency})
		sub := p.Price * int64(l.Quantity)
		totals[p.Currency] += sub
		page.Units += l.Quantity
		page.Lines = append(page.Lines, cartLine{Product: p, Quantity: l.Quantity, Subtotal: money.Format(sub, p.Currency)})
	}
	for currency, total := range totals {
		page.Totals = append(page.Totals, money.Format(total, currency))
	}
	sort.Strings(page.Totals)
	page.totals = totals
	page.Digest = orders.QuoteDigest(quotes)
	page.Quoted = encodeQuotes(quotes)
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
		return catalog.ProductPage{}, &clientError{http.StatusUnprocessableEntity, page.Product.DisplayName() + " is not for sale."}
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
	n, msg := quantity(values.Get("quantity"), 1)
	if msg == "" && n > p.Stock {
		msg = overStock(p.Stock)
	}
	var total int
	if msg == "" {
		var cart string
		if cart, err = s.ensureCartID(ctx); err == nil {
			total, err = s.carts.Add(ctx, cart, p.ID, n, p.Stock)
		}
		var over *orders.OverStockError
		if errors.As(err, &over) {
			msg, err = overStock(over.Stock)+fmt.Sprintf(" Your cart has %d already.", over.InCart), nil
		}
		if err != nil {
			s.serveError(w, r, err)
			return
		}
	}
	if msg != "" {
		s.renderProduct(w, r, http.StatusUnprocessableEntity, page, &addForm{Quantity: values.Get("quantity"), Error: msg}, nil)
		return
	}
	note := fmt.Sprintf("Added %d × %s to your cart.", n, p.DisplayName())
	if total == orders.MaxQuantity {
		note = fmt.Sprintf("Your cart holds %d × %s, the most of one product.", total, p.DisplayName())
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
	n, msg := quantity(values.Get("quantity"), 0)
	if msg == "" && n > p.Stock {
		msg = overStock(p.Stock)
	}
	if msg != "" {
		page, err := s.loadCart(r)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		page.Problem = p.DisplayName() + ": " + msg
		for i := range page.Lines {
			if page.Lines[i].Product.ID == p.ID {
				page.Lines[i].Error, page.Problem = msg, ""
			}
		}
		s.render(w, r, http.StatusUnprocessableEntity, "cart", "Your cart", page)
		return
	}
	err = orders.ErrNotInCart
	if cart := s.cartID(ctx); cart != "" {
		err = s.carts.Set(ctx, cart, p.ID, n)
	}
	if errors.Is(err, orders.ErrNotInCart) {
		s.serveError(w, r, notFound(p.DisplayName()+" is not in your cart: add it from its page."))
		return
	}
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if n == 0 {
		s.flash(ctx, p.DisplayName()+": removed from your cart.")
	} else {
		s.flash(ctx, fmt.Sprintf("%s: quantity now %d.", p.Name, n))
	}
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
		// Removing a line that is gone already (a second click) is done as well.
		if err := s.carts.Remove(ctx, cart, id); err != nil && !errors.Is(err, orders.ErrNotInCart) {
			s.serveError(w, r, err)
			return
		}
	}
	s.flash(ctx, "Removed from your cart.")
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func outOfStockMessage(e *orders.OutOfStockError) string {
	if e.Available == 0 {
		return fmt.Sprintf("Sorry, %s is out of stock. Remove it from your cart to check out the rest; nothing was ordered.", titlecase.Name(e.Name))
	}
	return fmt.Sprintf("Sorry, only %d of %s are left and your cart asks for %d. Lower the quantity to check out; nothing was ordered.",
		e.Available, titlecase.Name(e.Name), e.Wanted)
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

// overStock is the one message for a quantity above the stock, wherever it is asked for.
func overStock(stock int) string {
	if stock == 0 {
		return "Out of stock."
	}
	return fmt.Sprintf("Only %d in stock.", stock)
}

// stock reads the units in stock of the products of ids that are for sale (an
// orders.StockReader, for merging carts at sign-in).
func (s *Server) stock(ctx context.Context, ids []int64) (map[int64]int, error) {
	products, err := s.catalog.FindProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(products))
	for id, p := range products {
		if p.Merchandise {
			out[id] = p.Stock
		}
	}
	return out, nil
}
