package handlers

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/reqstats"
)

// view is what every page template receives: the layout's fields and the page's own in Main.
type view struct {
	Title     string
	Query     string         // shown in the header's search box
	User      *accounts.User // nil for a visitor
	CartCount int            // units in the cart, for the header
	Flash     string         // a one-time message
	Served    reqstats.Snapshot
	Main      any
}

// render writes page with status. The page is rendered into a buffer first, so a template
// error sends the fallback page rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, title string, main any) {
	s.renderView(w, r, status, page, view{Title: title, Main: main})
}

func (s *Server) renderView(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	ctx := r.Context()
	v.User = currentUser(ctx)
	if hasSession(ctx) {
		if status < http.StatusBadRequest { // an error page leaves the message for the next page
			v.Flash = s.sessions.PopString(ctx, sessionFlash)
		}
		if id := s.cartID(ctx); id != "" {
			n, err := s.carts.Count(ctx, id)
			if err != nil {
				s.redisFailed("cart count unavailable", err)
			}
			v.CartCount = n
		}
	}
	v.Served = reqstats.From(ctx).Snapshot()
	var buf bytes.Buffer
	if err := s.templates.RenderPart(&buf, page, "base", v); err != nil { // buf is the one buffer
		s.log.Error("render failed", "page", page, "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(fallbackPage)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
