package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/lab"

	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/web"
)

// recoverPanics turns a panic in a handler into a 500 page and a log line with the value.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				w.Header().Set("Connection", "close")
				s.serveError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status code written through it. Once sealed (an error page
// was sent from under the handler: the session could not be saved), it drops what the
// handler still writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
	sealed bool
}

func (rec *statusRecorder) WriteHeader(code int) {
	if rec.sealed {
		return
	}
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	if rec.sealed {
		return len(b), nil
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (to flush, for example).
func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// logRequests logs one line per request: method, path, status and duration.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "dur", time.Since(start))
	})
}

// securityHeaders sets the headers every response carries. The policy allows only the shop's
// own styles, scripts and images. A request that came over HTTPS also gets HSTS: two years,
// subdomains included (the value hstspreload.org asks for).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if s.overHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// countRequest starts the request's reqstats, which the page footer shows. The Lab's own
// requests (/lab, /lab/…) are served as any other, but their cache reads and Postgres
// statements are not counted (cache.Uncounted): watching the shop does not move its figures.
func (s *Server) countRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _ := reqstats.Start(r.Context())
		if lab.IsLabPath(r.URL.Path) {
			ctx = cache.Uncounted(ctx)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recordForLab tells the Lab's recorder what each request (the Lab's own excepted) cost and
// which layer answered it, once it is served. It sits inside the session middleware, to
// know the session.
func (s *Server) recordForLab(next http.Handler) http.Handler {
	if s.lab.Recorder == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if lab.IsLabPath(r.URL.Path) {
			return
		}
		token := ""
		if hasSession(r.Context()) {
			token = s.sessions.Token(r.Context())
		}
		s.lab.Recorder.Request(reqstats.From(r.Context()).Snapshot(), token)
	})
}

// static serves the embedded static files, with the shop's 404 page for anything else
// (folders included: no listings), and lets browsers keep them for an hour.
func (s *Server) static() http.Handler {
	files := web.Static()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !web.HasStatic(r.PathValue("file")) {
			s.handleNotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// errorPages serves the shop's own 404 and 405 pages where mux has no route for a request,
// instead of ServeMux's plain-text ones; a 405 keeps its Allow header.
func (s *Server) errorPages(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // ServeHTTP, not h, so that r.PathValue works
			return
		}
		probe := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			s.serveError(w, r, &clientError{http.StatusMethodNotAllowed,
				"This address doesn't take that kind of request (" + r.Method + ")."})
			return
		}
		s.handleNotFound(w, r)
	})
}

// headerRecorder keeps the header and status a handler writes, and drops the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }

// Timeouts are the deadlines of requests by route class. A zero duration leaves that class
// without a deadline of its own (the client's going away still ends it).
type Timeouts struct {
	Page  time.Duration // GET and HEAD: pages, searches, listings
	Write time.Duration // every other method: forms, cart, checkout
}

// isLabStream reports whether path is one of the Lab's event streams.
func isLabStream(path string) bool {
	return path == "/lab/events" || strings.HasPrefix(path, "/lab/events/")
}

// streamingPaths are exempt from deadlines: they answer for as long as the browser listens.
var streamingPaths = map[string]bool{"/events/bestsellers": true}

// Deadlines gives every request handled by next a deadline by its class (Timeouts), so that
// no request waits for a slow, hung or gone dependency longer than that: the waits under it
// (cache loads, Redis calls, Postgres statements) take their context from the request and
// end with it, and the page answers 503 ("briefly unavailable"). The live bestseller stream
// is exempt.
func Deadlines(next http.Handler, t Timeouts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := t.Write
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			d = t.Page
		}
		if d <= 0 || streamingPaths[r.URL.Path] || isLabStream(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
