package handlers

import "net/http"

// routes lists every URL of the shop.
func (s *Server) routes() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", s.handleHome)
	pages.HandleFunc("GET /products", s.handleProductList)
	pages.HandleFunc("GET /products/{id}", s.handleProductShow)
	pages.HandleFunc("GET /search", s.handleSearch)
	pages.HandleFunc("GET /events/bestsellers", s.handleBestsellerEvents)

	pages.HandleFunc("GET /register", s.handleRegisterForm)
	pages.HandleFunc("POST /register", s.handleRegister)
	pages.HandleFunc("GET /login", s.handleLoginForm)
	pages.HandleFunc("POST /login", s.handleLogin)
	pages.HandleFunc("POST /logout", s.handleLogout)
	pages.Handle("GET /account", s.requireLogin(s.handleAccount))
	pages.Handle("POST /account", s.requireLogin(s.handleAccountUpdate))
	pages.Handle("POST /account/password", s.requireLogin(s.handleAccountPassword))

	pages.HandleFunc("GET /cart", s.handleCart)
	pages.HandleFunc("POST /cart/items", s.handleCartAdd)
	pages.HandleFunc("POST /cart/items/{id}", s.handleCartUpdate)
	pages.HandleFunc("POST /cart/items/{id}/delete", s.handleCartRemove)
	pages.Handle("GET /checkout/address", s.requireLogin(s.handleCheckoutAddress))
	pages.Handle("POST /checkout/address", s.requireLogin(s.handleCheckoutAddressSave))
	pages.Handle("GET /checkout/review", s.requireLogin(s.handleCheckoutReview))
	pages.Handle("POST /checkout", s.requireLogin(s.handleCheckout))
	pages.Handle("GET /orders", s.requireLogin(s.handleOrderList))
	pages.Handle("GET /orders/{id}", s.requireLogin(s.handleOrderShow))
	pages.Handle("GET /admin/products", s.requireAdmin(s.handleAdminProducts))
	pages.Handle("GET /admin/products/{id}", s.requireAdmin(s.handleProductEdit))
	pages.Handle("POST /admin/products/{id}", s.requireAdmin(s.handleProductUpdate))
	pages.HandleFunc("GET /lab", s.handleLab)
	pages.HandleFunc("GET /lab/events", s.handleLabEvents)
	pages.HandleFunc("GET /lab/questions/{question}", s.handleLabQuestion)
	pages.HandleFunc("GET /lab/{strategy}", s.handleLabStrategy)
	pages.HandleFunc("POST /lab/{strategy}/run", s.handleLabRun)
	pages.HandleFunc("GET /lab/events/{strategy}", s.handleLabRunEvents)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.handleCrossOrigin))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /static/{file...}", s.static())
	mux.HandleFunc("GET /pictures/{id}/{file}", s.handlePicture)
	mux.Handle("/", s.countRequest(s.loadSession(s.recordForLab(csrf.Handler(s.loadUser(s.errorPages(pages)))))))

	return s.recoverPanics(s.logRequests(s.securityHeaders(mux)))
}
