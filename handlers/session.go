package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/piggyback"
	"github.com/shopcache/shop/orders"
	"github.com/shopcache/shop/sessions"
)

// Session keys. The session holds small values only; the cart lives in its own Redis hash.
const (
	sessionUserID = "user_id" // int64, set while signed in
	sessionFlash  = "flash"   // string, a one-time message shown on the next page
)

// errSessionsDown is served when a request needs its session and Redis cannot be reached.
var errSessionsDown = &clientError{http.StatusServiceUnavailable,
	"Signing in, the cart and checkout need the session store, which is not answering right now. " +
		"Browsing still works; please try again in a minute."}

type ctxKey int

const (
	userKey ctxKey = iota
	sessionStateKey
	cookieTokenKey // the session token the request's cookie named
)

// sessionState says whether a request has its session in its context.
type sessionState int

const (
	sessionNone   sessionState = iota // outside the session middleware (static files, health)
	sessionLoaded                     // loaded from Redis, saved after the handler
	sessionDown                       // Redis is away: an empty session that is never saved
)

// loadSession loads the request's session from Redis and saves it once the handler has
// decided its answer (before the first byte of it is written), like scs's LoadAndSave, but:
//   - a session the request did not change is not written back: its idle expiry moves
//     (sessions.Store.TouchCtx), and no cookie is sent;
//   - a changed session is written only if it still exists (sessions.Store.CommitCtx): a
//     request that began before a sign-out or a sign-in and ends after it neither brings
//     the old session back nor sends its old cookie;
//   - when Redis is away, reads (GET, HEAD) go on with an empty session that is never
//     saved, so browsing keeps working; other requests get a 503 page;
//   - a failed save fails a change (503) but not a read: a rendered page stands;
//   - a cookie that names no session (forged, or expired) gets a fresh server-made token.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		var token string
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		// One round trip for the session, its expiry and the cart count (guessed from the
		// token: see cartGuess).
		ctx := sessions.Track(piggyback.With(context.WithValue(r.Context(), sessionStateKey, sessionLoaded)))
		if token != "" {
			ctx = s.carts.PrefetchCount(context.WithValue(ctx, cookieTokenKey, token), s.guessCart(token))
		}
		ctx, err := s.sessions.Load(ctx, token)
		if err == nil && s.sessions.Token(ctx) != "" {
			ctx = sessions.Loaded(ctx, token)
		}
		if err != nil {
			// Every handler of a POST may count on its session from here on.
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				s.serveError(w, r, errors.Join(errSessionsDown, err))
				return
			}
			s.redisFailed("session store unavailable; serving without a session", err)
			ctx, _ = s.sessions.Load(context.WithValue(r.Context(), sessionStateKey, sessionDown), "")
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		// A change that needs the session (sign-in, the cart, checkout) must not start when
		// the session cannot be saved: it would be half done.
		if p, ok := s.sessions.Store.(interface{ Ping(context.Context) error }); ok && r.Method == http.MethodPost {
			if err := p.Ping(ctx); err != nil {
				s.serveError(w, r, errors.Join(errSessionsDown, err))
				return
			}
		}
		if token != "" && s.sessions.Token(ctx) == "" {
			if err := s.sessions.RenewToken(ctx); err != nil {
				s.serveError(w, r, err)
				return
			}
		}
		r = r.WithContext(ctx)
		sw := &sessionWriter{ResponseWriter: w, save: func() { s.saveSession(w, r) }}
		next.ServeHTTP(sw, r)
		sw.saveOnce()
	})
}

// saveSession saves the request's session as loadSession says, and writes its cookie.
func (s *Server) saveSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch s.sessions.Status(ctx) {
	case scs.Unmodified:
		token := s.sessions.Token(ctx)
		if token == "" {
			return
		}
		if t, ok := s.sessions.Store.(interface {
			TouchCtx(context.Context, string, time.Time) error
		}); ok {
			if err := t.TouchCtx(ctx, token, s.sessions.Deadline(ctx)); err != nil {
				s.redisFailed("session expiry not moved", err)
			}
		}
	case scs.Modified:
		if id := s.sessions.GetInt64(ctx, sessionUserID); id != 0 {
			ctx = sessions.ForUser(ctx, id) // a new token joins the user's index
		}
		token, _, err := s.sessions.Commit(ctx)
		switch {
		case errors.Is(err, sessions.ErrEnded):
			s.log.Debug("session ended while the request ran; not written back", "path", r.URL.Path)
		case err != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			s.log.Warn("session not saved after a read; the page stands", "path", r.URL.Path, "err", err)
		case err != nil:
			s.sessionSaveFailed(w, r, err)
		default:
			s.writeSessionCookie(w, r, token)
		}
	case scs.Destroyed:
		s.writeSessionCookie(w, r, "")
	}
}

// writeSessionCookie sends the session cookie: token, or, when token is empty, an expired
// cookie that makes the browser forget it. It is Secure when the request came over HTTPS
// (directly or through a trusted proxy), or always with SHOP_SESSION_SECURE.
func (s *Server) writeSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	c := s.sessions.Cookie
	cookie := &http.Cookie{Name: c.Name, Value: token, Path: c.Path, Domain: c.Domain, HttpOnly: c.HttpOnly,
		SameSite: c.SameSite, Secure: c.Secure || s.overHTTPS(r)}
	if token == "" {
		cookie.Expires, cookie.MaxAge = time.Unix(1, 0), -1
	}
	w.Header().Add("Set-Cookie", cookie.String())
	w.Header().Add("Cache-Control", `no-cache="Set-Cookie"`)
}

// sessionWriter saves the session just before the response's header is written, so that
// its cookie (or, when a change could not be saved, the error page) can still go out.
type sessionWriter struct {
	http.ResponseWriter
	save  func()
	saved bool
}

func (sw *sessionWriter) saveOnce() {
	if !sw.saved {
		sw.saved = true
		sw.save()
	}
}

func (sw *sessionWriter) WriteHeader(code int) {
	sw.saveOnce()
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *sessionWriter) Write(b []byte) (int, error) {
	sw.saveOnce()
	return sw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (to flush, for example).
func (sw *sessionWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// sessionSaveFailed is scs's ErrorFunc: the session could not be loaded or saved. When it
// fails while saving, the handler has already decided its answer (often a redirect after a
// change); the error page replaces it, and the handler's own writes are dropped.
func (s *Server) sessionSaveFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.serveError(w, r, errors.Join(errSessionsDown, err))
	if rec, ok := w.(*statusRecorder); ok {
		rec.sealed = true
	}
}

// sessionsDown reports whether the request is served without its session.
func sessionsDown(ctx context.Context) bool {
	state, _ := ctx.Value(sessionStateKey).(sessionState)
	return state == sessionDown
}

// hasSession reports whether the request has a working session.
func hasSession(ctx context.Context) bool {
	state, _ := ctx.Value(sessionStateKey).(sessionState)
	return state == sessionLoaded
}

// loadUser puts the signed-in user, if any, in the request's context.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := s.sessions.GetInt64(ctx, sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := s.accounts.FindUser(ctx, id)
		if errors.Is(err, accounts.ErrNotFound) {
			s.sessions.Remove(ctx, sessionUserID) // the account is gone
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey, &u)))
	})
}

// currentUser returns the signed-in user, or nil.
func currentUser(ctx context.Context) *accounts.User {
	u, _ := ctx.Value(userKey).(*accounts.User)
	return u
}

// requireLogin sends anonymous visitors to the login page, which brings them back after.
func (s *Server) requireLogin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionsDown(r.Context()) {
			s.serveError(w, r, errSessionsDown)
			return
		}
		if currentUser(r.Context()) == nil {
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = "/cart" // a POST cannot be replayed after login; the cart page can
			}
			s.sessions.Put(r.Context(), sessionFlash, "Please sign in first.")
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		h(w, r)
	})
}

// cartID returns the cart of the request: the user's when signed in, else the session's.
// It is empty for a visitor without a session (who has no cart yet).
func (s *Server) cartID(ctx context.Context) string {
	if u := currentUser(ctx); u != nil {
		id := orders.UserCartID(u.ID)
		if token, _ := ctx.Value(cookieTokenKey).(string); token != "" && token == s.sessions.Token(ctx) {
			s.cartGuesses.Set(token, id)
		}
		return id
	}
	if token := s.sessions.Token(ctx); token != "" {
		return orders.SessionCartID(token)
	}
	return ""
}

// guessCart is the cart whose count is read along with the session of token: the user's
// cart this token was last seen signed in with on this instance, else the session's own.
// A wrong guess costs a second round trip, never a wrong count: Count uses the reply only
// for the cart the loaded session turns out to have. A token's user does not change (the
// token is renewed at sign-in and sign-out), so a guess is wrong only on the first signed-in
// request of a token on an instance.
func (s *Server) guessCart(token string) string {
	if id, ok := s.cartGuesses.GetIfPresent(token); ok {
		return id
	}
	return orders.SessionCartID(token)
}

// ensureCartID is cartID, giving a visitor without a session one first, so that concurrent
// requests of the same browser agree on one cart from then on.
func (s *Server) ensureCartID(ctx context.Context) (string, error) {
	if id := s.cartID(ctx); id != "" {
		return id, nil
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		return "", err
	}
	return s.cartID(ctx), nil
}

// flash sets the one-time message shown on the next page.
func (s *Server) flash(ctx context.Context, msg string) { s.sessions.Put(ctx, sessionFlash, msg) }

// handleCrossOrigin refuses a state-changing request from another site.
func (s *Server) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.serveError(w, r, &clientError{http.StatusForbidden,
		"This request came from another site, so the shop refused it. If you clicked a button here, reload the page and try again."})
}

// SessionCookieName is the name of the session cookie.
const SessionCookieName = "session"

// NewSessions returns the session manager of the shop over store: a session lives at most
// lifetime (the store ends it sooner when idle: sessions.New); the cookie is a browser-session
// cookie, HttpOnly, SameSite=Lax, Path=/, and Secure when secure is set (behind HTTPS). scs's
// own IdleTimeout stays 0: with it, scs would rewrite every session on every request.
func NewSessions(store scs.Store, lifetime time.Duration, secure bool) *scs.SessionManager {
	m := scs.New()
	m.Store = store
	m.Lifetime = lifetime
	m.Cookie.Persist = false
	m.Cookie.Name = SessionCookieName
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Path = "/"
	m.Cookie.Secure = secure
	return m
}
