package handlers

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/pageviews"
)

const (
	featuredCount   = 8
	bestsellerCount = 10
)

// homePage is the home page's main part: its two lists, rendered ("home-featured",
// "home-bestsellers") and cached as fragments.
type homePage struct {
	Featured    template.HTML
	Bestsellers template.HTML
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	featured, err := s.catalog.ListFeatured(ctx, featuredCount)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	best, err := s.bestsellers(ctx)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	var fp strings.Builder
	for _, p := range featured {
		fmt.Fprintf(&fp, "%d@%d,", p.ID, p.Version)
	}
	var home homePage
	home.Featured, err = s.fragments.get("home:featured", fp.String(), func([]template.HTML) ([]byte, error) {
		return s.renderPart("home", "home-featured", featured)
	})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	fp.Reset()
	for _, b := range best { // the rows as shown: their content is the fingerprint
		fmt.Fprintf(&fp, "%d|%d|%q|%q|%d\n", b.Rank, b.ID, b.Name, b.Price, b.Units)
	}
	home.Bestsellers, err = s.fragments.get("home:bestsellers", fp.String(), func([]template.HTML) ([]byte, error) {
		return s.renderPart("home", "home-bestsellers", best)
	})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "home", "", home)
}

type productsPage struct {
	Category   string
	Categories []string
	Products   []catalog.Product
	Total      int
	Pager      pager
}

func (s *Server) handleProductList(w http.ResponseWriter, r *http.Request) {
	category, page, err := listingQuery(r, "category", maxCategoryRunes)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	ctx := r.Context()
	items, total, err := s.catalog.ListProducts(ctx, catalog.Filter{Category: category, Page: catalog.Page{Number: page, Size: pageSize}})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	base := url.Values{}
	if category != "" {
		base.Set("category", category)
	}
	bar, err := newPager("/products", base, page, total)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	categories, err := s.catalog.ListCategories(ctx)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	title := "All products"
	if category != "" {
		title = category
	}
	if page > 1 {
		title += fmt.Sprintf(" · page %d", page)
	}
	s.render(w, r, http.StatusOK, "products", title, productsPage{
		Category: category, Categories: categories, Products: items, Total: total, Pager: bar,
	})
}

// productPage is the product page's main part: its body, rendered from productBody.
type productPage struct {
	Body template.HTML
}

// productBody is what the product page's body ("product-body") is rendered from. Admin
// and Stats are the parts that differ per request: the admin's edit link, and the rank and
// views.
type productBody struct {
	Product catalog.Product
	Reviews []catalog.Review
	Add     *addForm
	Admin   template.HTML
	Stats   template.HTML
}

// addForm is the product page's "add to cart" form.
type addForm struct {
	Quantity string // as typed
	Error    string
}

func (s *Server) handleProductShow(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r.PathValue("id"))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	page, err := s.catalog.FindProductPage(r.Context(), id)
	setXCache(w, r, keys.Product(id))
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	// Counting the view and reading rank and views is one Redis round trip; without Redis
	// the page is served without them.
	var stats *pageviews.Stats
	if st, err := s.stats.View(r.Context(), id); err != nil {
		s.redisFailed("product stats unavailable", err, "product", id)
	} else {
		stats = &st
	}
	s.renderProduct(w, r, http.StatusOK, page, &addForm{Quantity: "1"}, stats)
}

// renderProduct renders a product page with the add-to-cart form and, when known, its rank
// and views. The body is the cached fragment of this product version (fragments) with the
// admin's link and the stats filled in; a form with an error is rendered whole.
func (s *Server) renderProduct(w http.ResponseWriter, r *http.Request, status int, page catalog.ProductPage, add *addForm, stats *pageviews.Stats) {
	var admin, figures template.HTML
	if u := currentUser(r.Context()); u != nil && u.IsAdmin {
		b, err := s.renderPart("product", "product-admin", page.Product)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		admin = template.HTML(b) // rendered by html/template
	}
	if stats != nil {
		b, err := s.renderPart("product", "product-stats", stats)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		figures = template.HTML(b) // rendered by html/template
	}
	cache := s.fragments
	if add.Error != "" || add.Quantity != "1" {
		cache = nil // the form as typed: this request's own
	}
	body, err := cache.get("product:"+strconv.FormatInt(page.Product.ID, 10), strconv.FormatInt(page.Product.Version, 10),
		func(holes []template.HTML) ([]byte, error) {
			return s.renderPart("product", "product-body", productBody{
				Product: page.Product, Reviews: page.Reviews, Add: add, Admin: holes[0], Stats: holes[1],
			})
		}, admin, figures)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, status, "product", page.Product.Name, productPage{Body: body})
}

// setXCache sets the X-Cache header to where data was answered from in this request:
// HIT-L1, HIT-REDIS, MISS, STALE, or BYPASS (also when no cache took part).
func setXCache(w http.ResponseWriter, r *http.Request, data string) {
	result := reqstats.From(r.Context()).Result(data)
	if result == "" {
		result = string(cache.Bypass)
	}
	w.Header().Set("X-Cache", result)
}

type searchPage struct {
	Products []catalog.Product
	Total    int
	Pager    pager
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q, page, err := listingQuery(r, "q", maxQueryRunes)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	v := view{Title: "Search", Query: q}
	if q != "" {
		v.Title = "Search: " + q
	}
	if page > 1 {
		v.Title += fmt.Sprintf(" · page %d", page)
	}
	if q == "" {
		v.Main = searchPage{}
		s.renderView(w, r, http.StatusOK, "search", v)
		return
	}
	items, total, err := s.catalog.SearchProducts(r.Context(), q, catalog.Page{Number: page, Size: pageSize})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	bar, err := newPager("/search", url.Values{"q": {q}}, page, total)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	v.Main = searchPage{Products: items, Total: total, Pager: bar}
	s.renderView(w, r, http.StatusOK, "search", v)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.serveError(w, r, notFound("There is no page at this address. Try the search box, or browse all products."))
}
