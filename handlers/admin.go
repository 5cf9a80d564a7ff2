package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/money"
)

// requireAdmin lets only signed-in administrators through; everyone else gets a 403 page.
func (s *Server) requireAdmin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := currentUser(r.Context()); u == nil || !u.IsAdmin {
			s.serveError(w, r, &clientError{http.StatusForbidden,
				"Only administrators can edit products. Sign in with the admin account (SHOP_ADMIN_EMAIL)."})
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
	price                           int64
	stock                           int
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
