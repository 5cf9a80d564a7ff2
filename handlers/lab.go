package handlers

import (
	"net/http"

	"github.com/shopcache/shop/cache"
)

type labPage struct {
	Lab
	Caches []cache.StatsSnapshot
}

// handleLab shows this instance's cache counters; the page reloads itself every 2 s.
func (s *Server) handleLab(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "lab", "Lab", labPage{Lab: s.lab, Caches: s.lab.CacheStats()})
}
