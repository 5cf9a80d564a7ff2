// Package handlers is the shop's HTTP layer: routes, middleware, page handlers, query and form
// validation, and the one place that turns errors into error pages. It talks to the domain
// packages through the small interfaces it declares here, and never to Postgres or Redis
// directly.
package handlers

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/web"
)

// catalogReader is what the pages need of the catalog.
type catalogReader interface {
	FindProduct(ctx context.Context, id int64) (catalog.Product, error)
	ListProducts(ctx context.Context, f catalog.Filter) ([]catalog.Product, int, error)
	SearchProducts(ctx context.Context, query string, page catalog.Page) ([]catalog.Product, int, error)
	ListCategories(ctx context.Context) ([]string, error)
	ListFeatured(ctx context.Context, n int) ([]catalog.Product, error)
	ListBestsellers(ctx context.Context, n int) ([]catalog.Bestseller, error)
	ListReviews(ctx context.Context, id int64, n int) ([]catalog.Review, error)
}

// Check is one dependency that /readyz asks: Ping returns nil when it is reachable.
type Check struct {
	Name string // e.g. "postgres"
	Ping func(context.Context) error
}

// Options are what the server is built from. Every field is required.
type Options struct {
	Logger    *slog.Logger
	Templates *web.Templates
	Catalog   catalogReader
	Checks    []Check
}

// Server serves the shop's pages.
type Server struct {
	log       *slog.Logger
	templates *web.Templates
	catalog   catalogReader
	checks    []Check
}

// NewServer returns the shop's HTTP handler with every route and middleware in place.
func NewServer(o Options) http.Handler {
	s := &Server{log: o.Logger, templates: o.Templates, catalog: o.Catalog, checks: o.Checks}
	return s.routes()
}
