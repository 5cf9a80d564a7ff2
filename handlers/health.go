package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// checkTimeout bounds each dependency check of /readyz.
const checkTimeout = time.Second

// handleHealthz answers 200 while the process can serve HTTP at all.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz asks every dependency at once. It answers 503 when one the shop cannot serve
// without is down ("down"), else 200 — also when a degradable one is away ("degraded"), so
// that a load balancer keeps the instance: {"postgres":"ok","redis":"degraded"}.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
	defer cancel()
	results := make(map[string]string, len(s.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	status := http.StatusOK
	for _, c := range s.checks {
		wg.Go(func() {
			state := "ok"
			if err := c.Ping(ctx); err != nil {
				state = "down"
				if c.Degradable {
					state = "degraded"
				}
				s.log.Warn("readiness check failed", "dependency", c.Name, "state", state, "err", err)
			}
			mu.Lock()
			defer mu.Unlock()
			results[c.Name] = state
			if state == "down" {
				status = http.StatusServiceUnavailable
			}
		})
	}
	wg.Wait()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(results)
}
