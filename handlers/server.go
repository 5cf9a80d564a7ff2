// Package handlers is the shop's HTTP layer: routes, middleware, page handlers, query and form
// validation, and the one place that turns errors into error pages. It talks to the domain
// packages through the small interfaces it declares here, and never to Postgres or Redis
// directly (sessions reach Redis through the scs manager it is given). It never decides
// whether Redis is up: a call that fails falls back (the page without the figure, the list
// from Postgres) or answers 503.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/maypok86/otter/v2"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/lab"
	"github.com/shopcache/shop/leaderboard"
	"github.com/shopcache/shop/orders"
	"github.com/shopcache/shop/pageviews"
	"github.com/shopcache/shop/web"
)

// catalogStore is what the pages need of the catalog (catalog.Cached).
type catalogStore interface {
	FindProduct(ctx context.Context, id int64) (catalog.Product, error)
	FindProductPage(ctx context.Context, id int64) (catalog.ProductPage, error)
	FindProducts(ctx context.Context, ids []int64) (map[int64]catalog.Product, error)
	ListProducts(ctx context.Context, f catalog.Filter) ([]catalog.Product, int, error)
	SearchProducts(ctx context.Context, query string, page catalog.Page) (catalog.SearchResult, error)
	ListCategories(ctx context.Context) ([]catalog.Category, error)
	ListFeatured(ctx context.Context, n int) ([]catalog.Product, error)
	ListBestsellers(ctx context.Context, n int) ([]catalog.Bestseller, error)
	UpdateProduct(ctx context.Context, id int64, u catalog.ProductUpdate) (catalog.Product, error)
	AdminList(ctx context.Context, q catalog.AdminQuery) ([]catalog.Product, int, error)
}

// accountStore is what the account pages need.
type accountStore interface {
	Register(ctx context.Context, email, name, password string) (accounts.User, error)
	Authenticate(ctx context.Context, email, password string) (accounts.User, error)
	FindUser(ctx context.Context, id int64) (accounts.User, error)
	UpdateProfile(ctx context.Context, id int64, name, address string) (accounts.User, error)
	VerifyPassword(ctx context.Context, id int64, password string) error
	ChangePassword(ctx context.Context, id int64, current, newPassword, keepSession string) (accounts.User, error)
}

// cartStore is what the cart pages need.
type cartStore interface {
	Add(ctx context.Context, cartID string, productID int64, quantity, stock int) (int, error)
	Set(ctx context.Context, cartID string, productID int64, quantity int) error
	Remove(ctx context.Context, cartID string, productID int64) error
	Lines(ctx context.Context, cartID string) ([]orders.Line, error)
	Count(ctx context.Context, cartID string) (int, error)
	PrefetchCount(ctx context.Context, cartID string) context.Context
	Merge(ctx context.Context, from, to string, stock orders.StockReader) error
}

// checkout places the order of a signed-in user's cart (orders.Checkout).
type checkout interface {
	Place(ctx context.Context, userID int64, key, quoted, address string) (orders.Order, error)
}

// orderStore is what the order pages need.
type orderStore interface {
	ListOrders(ctx context.Context, userID int64) ([]orders.Order, error)
	FindOrder(ctx context.Context, userID, id int64) (orders.Order, error)
}

// bestsellerBoard is what the bestseller panel needs of the leaderboard.
type bestsellerBoard interface {
	Top(ctx context.Context, s leaderboard.Scope, n int) ([]leaderboard.Entry, error)
}

// liveBestsellers hands the panel's new lists to streaming responses.
type liveBestsellers interface {
	Subscribe() (<-chan []leaderboard.Entry, func())
	Current(ctx context.Context) ([]leaderboard.Entry, error)
}

// productStats counts a product page view and reads the page's rank and views.
type productStats interface {
	View(ctx context.Context, id int64) (pageviews.Stats, error)
}

// Check is one dependency that /readyz asks: Ping returns nil when it is reachable. A
// Degradable dependency that fails makes the shop "degraded", not unready: the shop still
// serves without it (Redis: pages come from Postgres).
type Check struct {
	Name       string // e.g. "postgres"
	Ping       func(context.Context) error
	Degradable bool
}

// Lab is what the /lab page shows besides the cache counters.
type Lab struct {
	Instance   string        // which instance served the page (host and pid)
	DBLatency  time.Duration // SHOP_DB_LATENCY, 0 when off
	CacheOff   bool          // SHOP_CACHE=off
	CacheStats func() []cache.StatsSnapshot
	Lags       func() cache.LagStats // invalidation lag; nil without a cache
	NearSize   func() int            // entries in the near caches; nil without a cache
	L1         cache.L1Options
	// WriteBehind reports the views flusher's state (pending counts, last flush); nil for none.
	WriteBehind func(context.Context) pageviews.Status

	Recorder  *lab.Recorder  // counts each request (the Lab's own excepted); nil: none
	Collector *lab.Collector // the whole deployment's figures; nil: no dashboard
	Runner    *lab.Runner    // the experiments; nil: none
}

// Server serves the shop's pages.
type Server struct {
	log       *slog.Logger
	templates *web.Templates
	sessions  *scs.SessionManager
	catalog   catalogStore
	accounts  accountStore
	carts     cartStore
	orders    orderStore
	checkout  checkout
	board     bestsellerBoard
	live      liveBestsellers
	stats     productStats
	checks    []Check
	lab       Lab
	limits    RateLimits
	proxies   []netip.Prefix // SHOP_TRUSTED_PROXIES
	// cartGuesses: session token → the cart of its signed-in user, for guessCart.
	cartGuesses *otter.Cache[string, string]
	fragments   *fragments // nil when the near cache is off
}

// NewServer returns the shop's HTTP handler with every route and middleware in place. The
// session manager's Store must be in Redis for instances to share sessions; when it has a
// Ping method, a POST is refused with 503 before it starts if the store does not answer.
// limits are the sign-in and sign-up limits; the zero value limits nothing. proxies are the
// load balancers whose X-Forwarded-For names the client and whose X-Forwarded-Proto says
// whether it came over HTTPS; a request from any other peer is taken as it came.
func NewServer(logger *slog.Logger, templates *web.Templates, sessions *scs.SessionManager,
	catalog catalogStore, accounts accountStore, carts cartStore, orders orderStore, checkout checkout,
	board bestsellerBoard, live liveBestsellers, stats productStats,
	checks []Check, lab Lab, limits RateLimits, proxies []netip.Prefix) http.Handler {
	s := &Server{
		log: logger, templates: templates, sessions: sessions, catalog: catalog, accounts: accounts,
		carts: carts, orders: orders, checkout: checkout, board: board, live: live, stats: stats,
		checks: checks, lab: lab, limits: limits, proxies: proxies,
		cartGuesses: otter.Must(&otter.Options[string, string]{
			MaximumSize: 100_000, ExpiryCalculator: otter.ExpiryAccessing[string, string](time.Hour),
		}),
	}
	if !lab.CacheOff {
		s.fragments = newFragments(lab.L1.Size)
	}
	if s.lab.CacheStats == nil {
		s.lab.CacheStats = func() []cache.StatsSnapshot { return nil }
	}
	s.sessions.ErrorFunc = s.sessionSaveFailed
	return s.routes()
}
