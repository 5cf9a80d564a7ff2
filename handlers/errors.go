package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/orders"
)

// clientError is a request the shop refuses, with the status and the message a person sees.
type clientError struct {
	status  int
	message string
}

func (e *clientError) Error() string { return e.message }

func badRequest(message string) error { return &clientError{http.StatusBadRequest, message} }
func notFound(message string) error   { return &clientError{http.StatusNotFound, message} }

// errorPage is what the error template shows.
type errorPage struct {
	Heading string
	Message string
}

// serveError is the one exit for every failed request: it maps err to a status and a
// message a person can act on, logs it (500 at error level, 503 — a dependency away, which
// the guard and the pool already report — at warning level, 4xx at debug), and renders the
// error page. A 503 says when to try again (Retry-After: the minute its page speaks of). The error's own text never reaches the page except for clientErrors, whose
// text is written for people.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away: there is nobody to answer, and nothing went wrong here.
		s.log.Debug("request abandoned by the client", "method", r.Method, "path", r.URL.Path)
		return
	}
	status, page := classify(err)
	var limited interface{ RetryAfter() time.Duration }
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(limited.RetryAfter())))
	}
	switch {
	case status == http.StatusServiceUnavailable:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "60")
		}
		s.log.Warn("request failed: a dependency is away", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	case status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	default:
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	s.render(w, r, status, "error", page.Heading, page)
}

func classify(err error) (int, errorPage) {
	var ce *clientError
	switch {
	case errors.As(err, &ce):
		heading := map[int]string{
			http.StatusBadRequest:            "That request doesn't look right",
			http.StatusForbidden:             "Not allowed",
			http.StatusNotFound:              "Not found",
			http.StatusMethodNotAllowed:      "Not allowed here",
			http.StatusRequestEntityTooLarge: "Too large",
			http.StatusUnprocessableEntity:   "That can't be done",
			http.StatusTooManyRequests:       "Too many tries",
			http.StatusServiceUnavailable:    "Briefly unavailable",
		}[ce.status]
		if heading == "" {
			heading = http.StatusText(ce.status)
		}
		return ce.status, errorPage{heading, ce.message}
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, orders.ErrNotFound):
		return http.StatusNotFound, errorPage{"Not found", "We couldn't find that in the shop. It may have been removed, or the link may be mistyped."}
	case unavailable(err):
		return http.StatusServiceUnavailable, errorPage{"The shop is briefly unavailable",
			"A service the shop depends on is not answering. Please try again in a minute."}
	default:
		return http.StatusInternalServerError, errorPage{"Something went wrong on our side",
			"The error has been logged. Please try again, or go back to the shop."}
	}
}

// unavailable reports whether err means a dependency could not serve the request, as opposed
// to a bug: a network error, a refused, reset or cut connection (a server that crashed
// mid-request ends the stream: EOF; the next statement on that connection finds it closed,
// an error that says it is safe to retry because it never reached the server), a deadline,
// Redis skipped by the guard or answering that it is failing over (READONLY and the like),
// or a database that refuses
// connections for now (SQLSTATE classes 08 connection exception and 53 insufficient
// resources, and 57P01–57P03 shutting down or starting up; PostgreSQL appendix A).
func unavailable(err error) bool {
	var netErr net.Error
	var sqlErr interface{ SQLState() string }
	var notSent interface{ SafeToRetry() bool } // pgconn: the statement never left
	if errors.As(err, &notSent) && notSent.SafeToRetry() {
		return true
	}
	if errors.As(err, &sqlErr) {
		code := sqlErr.SQLState()
		if strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") ||
			code == "57P01" || code == "57P02" || code == "57P03" || code == "3D000" {
			return true
		}
	}
	return errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, cache.ErrBypass) || cache.IsFailoverReply(err) ||
		errors.Is(err, context.DeadlineExceeded)
}

// redisFailed logs a Redis read that a page does without (a count, a figure): at warning
// level, or at debug level while the guard skips Redis, which it has already logged.
func (s *Server) redisFailed(msg string, err error, args ...any) {
	level := slog.LevelWarn
	if errors.Is(err, cache.ErrBypass) {
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, msg, append(args, "err", err)...)
}

// fallbackPage is sent when even the error template fails; it needs nothing to render.
const fallbackPage = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Error · Hanging Heart Gifts</title>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">
<h1>Something went wrong on our side</h1><p>The error has been logged. Please try again, or go back to <a href="/">the shop</a>.</p></body></html>`
