package handlers

import (
	"net/http"

	"github.com/shopcache/shop/web"
)

// routes lists every URL of the shop.
func (s *Server) routes() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", s.handleHome)
	pages.HandleFunc("GET /products", s.handleProductList)
	pages.HandleFunc("GET /products/{id}", s.handleProductShow)
	pages.HandleFunc("GET /search", s.handleSearch)
	pages.HandleFunc("/", s.handleNotFound)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /static/", cacheStatic(web.Static()))
	mux.Handle("/", s.countRequest(pages))

	return s.recoverPanics(s.logRequests(securityHeaders(mux)))
}
