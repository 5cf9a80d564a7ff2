package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/money"
)

// requireAdmin lets only signed-in administrators through; everyone else gets a 403 page,
// unless the session store is away (then who is signed in is not known: 503).
func (s *Server) requireAdmin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionsDown(r.Context()) {
			s.serveError(w, r, errSessionsDown)
			return
		}
		if u := currentUser(r.Context()); u == nil || !u.IsAdmin {
			s.serveError(w, r, &clientError{http.StatusForbidden,
				"Only administrators can see and edit the product list. Sign in with the admin account (SHOP_ADMIN_EMAIL)."})
			return
		}
		h(w, r)
	})
}

// Limits of the product editor.
const (
	maxProductName        = 200
	maxProductDescription = 5000
	maxPriceMinor         = 100_000_000 // 1,000,000.00 in any currency
	maxStock              = 1_000_000
)

// productForm is the admin's product editor, with the values as typed.
type productForm struct {
	ID                              int64
	Name, Description, Price, Stock string
	Version                         int64 // the version the editor started from
	Currency                        string
	Errors                          fieldErrors
	Problem                         string
	// Confirm is the question the editor asks before it saves a price of 0 or one that
	// changes by more than half (priceQuestion); "" when there is none. The form then
	// carries confirm=yes to save anyway.
	Confirm string
	price   int64
	stock   int
}

// priceQuestion returns the confirmation the editor asks for before it changes a price from
// old to new (minor units of currency): a price of 0 gives the product away, and a change
// of more than 50 % either way is more often a typo (a missing or extra digit) than a
// decision. A price that was 0 may be set to anything without a question. "" means save.
func priceQuestion(old, new int64, currency string) string {
	from, to := money.Format(old, currency), money.Format(new, currency)
	switch {
	case new == old:
		return ""
	case new == 0:
		return fmt.Sprintf("The price goes from %s to %s: shoppers would get it for nothing. Save it at %s?", from, to, to)
	case old > 0 && max(new-old, old-new)*2 > old:
		change := "a rise"
		if new < old {
			change = "a cut"
		}
		return fmt.Sprintf("The price goes from %s to %s, %s of %d %%. Is %s right?", from, to, change, max(new-old, old-new)*100/old, to)
	}
	return ""
}

func newProductForm(p catalog.Product) *productForm {
	return &productForm{
		ID: p.ID, Name: p.Name, Description: p.Description, Currency: p.Currency, Version: p.Version,
		Price: fmt.Sprintf("%d.%02d", p.Price/100, p.Price%100), Stock: strconv.Itoa(p.Stock),
	}
}

var pricePattern = regexp.MustCompile(`^([0-9]{1,7})(?:\.([0-9]{1,2}))?$`)

func (f *productForm) validate() bool {
	f.Errors = fieldErrors{}
	f.Errors.checkLength("name", "Name", f.Name, true, maxProductName)
	f.Errors.checkLength("description", "Description", f.Description, false, maxProductDescription)
	if m := pricePattern.FindStringSubmatch(strings.TrimSpace(f.Price)); m == nil {
		f.Errors.add("price", "Enter a price like 2.95 (at most two decimals), up to 1000000.00.")
	} else {
		whole, _ := strconv.ParseInt(m[1], 10, 64)
		cents, _ := strconv.ParseInt((m[2] + "00")[:2], 10, 64)
		f.price = whole*100 + cents
		if f.price > maxPriceMinor {
			f.Errors.add("price", "The price can be at most "+money.Format(maxPriceMinor, f.Currency)+".")
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(f.Stock))
	if err != nil || n < 0 || n > maxStock {
		f.Errors.add("stock", fmt.Sprintf("Enter a whole number from 0 to %d.", maxStock))
	}
	f.stock = n
	return len(f.Errors) == 0
}

func (s *Server) handleProductEdit(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r.PathValue("id"))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	p, err := s.catalog.FindProduct(r.Context(), id)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_product", "Edit "+p.Name, newProductForm(p))
}

func (s *Server) handleProductUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r.PathValue("id"))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	values, err := parseForm(w, r)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	current, err := s.catalog.FindProduct(ctx, id)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	version, err := strconv.ParseInt(values.Get("version"), 10, 64)
	if err != nil || version < 1 {
		s.serveError(w, r, badRequest("The form lacks the product's version; reload the editor and try again."))
		return
	}
	f := &productForm{
		ID: id, Name: values.Get("name"), Description: values.Get("description"),
		Price: values.Get("price"), Stock: values.Get("stock"), Version: version, Currency: current.Currency,
	}
	if !f.validate() {
		s.render(w, r, http.StatusUnprocessableEntity, "admin_product", "Edit "+current.Name, f)
		return
	}
	// The question compares with the product's price as it is now (what shoppers pay).
	if q := priceQuestion(current.Price, f.price, current.Currency); q != "" && values.Get("confirm") != "yes" {
		f.Confirm = q
		s.render(w, r, http.StatusUnprocessableEntity, "admin_product", "Edit "+current.Name, f)
		return
	}
	p, err := s.catalog.UpdateProduct(ctx, id, catalog.ProductUpdate{
		Name: strings.TrimSpace(f.Name), Description: strings.TrimSpace(f.Description),
		Price: f.price, Stock: f.stock, Version: f.Version,
	})
	if errors.Is(err, catalog.ErrConflict) {
		f.Problem = fmt.Sprintf("Someone changed this product while you edited it (it is now at version %d). "+
			"Your changes are below; save again to overwrite theirs.", current.Version)
		f.Version = current.Version
		s.render(w, r, http.StatusConflict, "admin_product", "Edit "+current.Name, f)
		return
	}
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.flash(ctx, fmt.Sprintf("Saved %s: version %d, written through to the cache.", p.Name, p.Version))
	http.Redirect(w, r, fmt.Sprintf("/products/%d", id), http.StatusSeeOther)
}

// adminListSize is how many products a page of the admin's list shows.
const adminListSize = pageSize

// adminSortNames label the sort options of the admin's list, in the order offered.
var adminSortNames = []struct{ Key, Label string }{
	{"id", "Id"}, {"name", "Name A–Z"}, {"-name", "Name Z–A"}, {"price", "Price, low first"},
	{"-price", "Price, high first"}, {"stock", "Stock, low first"}, {"-stock", "Stock, high first"},
	{"-updated", "Recently changed"},
}

// adminListPage is the admin's product list.
type adminListPage struct {
	Search, Sort string
	Sorts        []struct{ Key, Label string }
	Products     []catalog.Product
	Total        int
	Pager        pager
}

// handleAdminProducts lists every product for the admin: ?q= searches names and SKUs (or
// an id), ?sort= one of adminSortNames, ?page= the page.
func (s *Server) handleAdminProducts(w http.ResponseWriter, r *http.Request) {
	search, page, err := listingQuery(r, "q", maxQueryRunes)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	sort := r.URL.Query().Get("sort")
	known := sort == ""
	for _, o := range adminSortNames {
		known = known || o.Key == sort
	}
	if !known {
		s.serveError(w, r, badRequest("Sort by one of the options the list offers."))
		return
	}
	items, total, err := s.catalog.AdminList(r.Context(), catalog.AdminQuery{
		Search: search, Sort: sort, Page: catalog.Page{Number: page, Size: adminListSize}})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	base := url.Values{}
	if search != "" {
		base.Set("q", search)
	}
	if sort != "" {
		base.Set("sort", sort)
	}
	bar, err := newPager("/admin/products", base, page, total)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	title := "Products · admin"
	if page > 1 {
		title += fmt.Sprintf(" · page %d", page)
	}
	s.render(w, r, http.StatusOK, "admin_products", title, adminListPage{
		Search: search, Sort: sort, Sorts: adminSortNames, Products: items, Total: total, Pager: bar,
	})
}
