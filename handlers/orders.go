package handlers

import (
	"net/http"
)

func (s *Server) handleOrderList(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r.Context())
	list, err := s.orders.ListOrders(r.Context(), u.ID)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "orders", "Your orders", list)
}

func (s *Server) handleOrderShow(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r.PathValue("id")) // order ids follow the same rule as product ids
	if err != nil {
		s.serveError(w, r, badRequest("An order number is a positive whole number, like /orders/1."))
		return
	}
	u := currentUser(r.Context())
	o, err := s.orders.FindOrder(r.Context(), u.ID, id)
	if err != nil {
		s.serveError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "order", "Order #"+r.PathValue("id"), o)
}
