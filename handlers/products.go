package handlers

import (
	"fmt"
	"net/http"
	"net/url"

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

type homePage struct {
	Featured    []catalog.Product
	Bestsellers []bestsellerRow
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
	s.render(w, r, http.StatusOK, "home", "", homePage{Featured: featured, Bestsellers: best})
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

type productPage struct {
	Product catalog.Product
	Reviews []catalog.Review
	Add     *addForm
	Stats   *pageviews.Stats // rank and views; nil when Redis did not answer
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
// and views.
func (s *Server) renderProduct(w http.ResponseWriter, r *http.Request, status int, page catalog.ProductPage, add *addForm, stats *pageviews.Stats) {
	s.render(w, r, status, "product", page.Product.Name, productPage{Product: page.Product, Reviews: page.Reviews, Add: add, Stats: stats})
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
