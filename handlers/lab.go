package handlers

import (
	"net/http"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/pageviews"
)

type labPage struct {
	Lab
	Caches      []cache.StatsSnapshot
	Lag         *cache.LagStats   // nil without a cache
	Near        int               // entries in the near caches
	WriteBehind *pageviews.Status // nil without a flusher
}

// handleLab shows this instance's cache counters and write-behind state; the page reloads
// itself every 2 s.
func (s *Server) handleLab(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	page := labPage{Lab: s.lab, Caches: s.lab.CacheStats()}
	if s.lab.Lags != nil {
		lag := s.lab.Lags()
		page.Lag = &lag
	}
	if s.lab.NearSize != nil {
		page.Near = s.lab.NearSize()
	}
	if s.lab.WriteBehind != nil {
		st := s.lab.WriteBehind(r.Context())
		page.WriteBehind = &st
	}
	s.render(w, r, http.StatusOK, "lab", "Lab", page)
}
