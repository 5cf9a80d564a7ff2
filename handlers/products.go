package handlers

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/picture"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/internal/titlecase"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/leaderboard"
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
	Categories []catalog.Category
	Products   []catalog.Product
	Total      int
	Pager      pager
	Sort       catalog.Sort
	Sorts      []sortOption
	Min, Max   string // the price range as typed, for the form
	Base       url.Values
	// Top is the category's bestseller board (its top categoryTopCount); empty for all
	// products or while Redis does not answer.
	Top []bestsellerRow
}

// categoryTopCount is how many bestsellers a category page shows from its board.
const categoryTopCount = 5

// sortOption is one entry of the sort menu.
type sortOption struct {
	Value, Label string
	Selected     bool
}

// handleProductList serves /products: ?category= (exact name), ?sort= (one of
// catalog.Sorts), ?min= and ?max= (a price range, inclusive) and ?page=. A bad value of
// any of them is a 400 that says what is wanted; an unknown category a 404.
func (s *Server) handleProductList(w http.ResponseWriter, r *http.Request) {
	category, page, err := listingQuery(r, "category", maxCategoryRunes)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	values, _ := query(r.URL.RawQuery) // checked by listingQuery
	sortBy, err := listingSort(values)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	minPrice, err := priceParam(values, "min")
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	maxPrice, err := priceParam(values, "max")
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	if maxPrice != 0 && minPrice > maxPrice {
		s.serveError(w, r, badRequest("The lowest price is above the highest; swap them or clear one."))
		return
	}
	ctx := r.Context()
	items, total, err := s.catalog.ListProducts(ctx, catalog.Filter{
		Category: category, Sort: sortBy, MinPrice: minPrice, MaxPrice: maxPrice,
		Page: catalog.Page{Number: page, Size: pageSize},
	})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	base := url.Values{}
	if category != "" {
		base.Set("category", category)
	}
	if sortBy != catalog.SortDefault {
		base.Set("sort", string(sortBy))
	}
	if minPrice != 0 {
		base.Set("min", minorString(minPrice))
	}
	if maxPrice != 0 {
		base.Set("max", minorString(maxPrice))
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
		title = titlecase.Name(strings.ToUpper(category))
	}
	if page > 1 {
		title += fmt.Sprintf(" · page %d", page)
	}
	sorts := make([]sortOption, len(catalog.Sorts))
	for i, v := range catalog.Sorts {
		sorts[i] = sortOption{Value: string(v), Label: sortNames[v], Selected: v == sortBy}
	}
	out := productsPage{
		Category: category, Categories: categories, Products: items, Total: total, Pager: bar,
		Sort: sortBy, Sorts: sorts, Base: base,
	}
	if minPrice != 0 {
		out.Min = minorString(minPrice)
	}
	if maxPrice != 0 {
		out.Max = minorString(maxPrice)
	}
	if category != "" && page == 1 {
		if entries, err := s.board.Top(ctx, leaderboard.Scope{Category: category}, categoryTopCount); err != nil {
			s.redisFailed("category board unavailable", err, "category", category)
		} else {
			reqstats.From(ctx).AddSource(reqstats.Source{Data: "bestsellers in " + category, Layer: reqstats.LayerRedis})
			out.Top = rowsFromBoard(entries)
		}
	}
	s.render(w, r, http.StatusOK, "products", title, out)
}

// minorString writes minor units as the price filter reads them: "5" or "5.50".
func minorString(minor int64) string {
	if minor%100 == 0 {
		return strconv.FormatInt(minor/100, 10)
	}
	return fmt.Sprintf("%d.%02d", minor/100, minor%100)
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
	if err == nil && !page.Product.Merchandise {
		// Postage, fees and bookkeeping codes are kept for the order history but are not
		// products: their pages do not exist for a shopper.
		err = notFound("There is no product at this address. Try the search box, or browse all products.")
	}
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
	s.render(w, r, status, "product", page.Product.DisplayName(), productPage{Body: body})
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
	catalog.SearchResult
	Pager pager
}

// handleSearch serves /search?q=: every word must match (the last also as a prefix); when
// nothing does, the nearest catalog words are searched instead and the page says so; a
// query of only common words gets a hint instead of an empty page.
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
	res, err := s.catalog.SearchProducts(r.Context(), q, catalog.Page{Number: page, Size: pageSize})
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	bar, err := newPager("/search", url.Values{"q": {q}}, page, res.Total)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	v.Main = searchPage{SearchResult: res, Pager: bar}
	s.renderView(w, r, http.StatusOK, "search", v)
}

// pictureMaxAge is how long a browser or CDN keeps a picture: a year. Its address changes
// with what it is drawn from, so an old copy is never shown for a changed product.
const pictureMaxAge = 365 * 24 * time.Hour

// handlePicture serves /pictures/{id}/{version}.svg, the product's drawn picture
// (internal/picture), with an ETag and, at its current version, as immutable for a year.
// An old version redirects to the current one (not cached long); a non-product is a 404.
func (s *Server) handlePicture(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r.PathValue("id"))
	version, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	if err != nil || !ok {
		http.NotFound(w, r)
		return
	}
	p, err := s.catalog.FindProduct(r.Context(), id)
	if errors.Is(err, catalog.ErrNotFound) || err == nil && !p.Merchandise {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.log.Error("picture: product unavailable", "product", id, "err", err)
		http.Error(w, "The picture is not available right now.", http.StatusServiceUnavailable)
		return
	}
	current := picture.Version(p.PictureSubject())
	if version != current {
		w.Header().Set("Cache-Control", "no-cache")
		http.Redirect(w, r, p.PictureURL(), http.StatusFound)
		return
	}
	etag := `"` + current + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d, immutable", int(pictureMaxAge.Seconds())))
	if match := r.Header.Get("If-None-Match"); match == etag || match == "*" {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	// A picture is an image, never a document: no script may run in it even if opened alone.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	_, _ = w.Write(picture.SVG(p.PictureSubject()))
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.serveError(w, r, notFound("There is no page at this address. Try the search box, or browse all products."))
}
