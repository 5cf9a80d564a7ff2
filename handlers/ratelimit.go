package handlers

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/ratelimit"
)

// attemptLimiter counts attempts in a store all instances share (ratelimit.Limiter).
type attemptLimiter interface {
	Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error)
}

// RateLimits are the limits on sign-in and sign-up attempts (SHOP_LOGIN_LIMIT_ACCOUNT,
// SHOP_LOGIN_LIMIT_IP, SHOP_SIGNUP_LIMIT_IP), counted per client address as the trusted
// proxies say it (SHOP_TRUSTED_PROXIES). Every attempt counts,
// whether it succeeds or not: counting only failures would need a second round trip after
// the password check, and concurrent guesses would all pass the first. When the limiter
// cannot answer (Redis away), attempts are let through and a warning is logged: the limits
// slow guessing down, and are not worth locking everyone out for.
type RateLimits struct {
	Limiter      attemptLimiter  // nil: no limits
	LoginAccount ratelimit.Limit // sign-in attempts per account (e-mail), whatever the client
	LoginIP      ratelimit.Limit // sign-in attempts per client address, whatever the account
	SignupIP     ratelimit.Limit // sign-ups per client address
	LabRunIP     ratelimit.Limit // starts of the Lab's open (read-only) experiments per client address
}

// rateLimited is a 429: too many attempts, with when to try again (the Retry-After header).
type rateLimited struct {
	clientError
	retryAfter time.Duration
}

func (e *rateLimited) Unwrap() error { return &e.clientError }

// RetryAfter is how long until the next attempt is allowed.
func (e *rateLimited) RetryAfter() time.Duration { return e.retryAfter }

// retryAfterSeconds is d as a Retry-After value: whole seconds, rounded up, at least 1
// (RFC 9110 §10.2.3).
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// inAbout says d the way a person would read it: "in 7 seconds", "in about 3 minutes".
func inAbout(d time.Duration) string {
	s := retryAfterSeconds(d)
	switch {
	case s == 1:
		return "in a second"
	case s < 60:
		return fmt.Sprintf("in %d seconds", s)
	case s < 90:
		return "in about a minute"
	case s < 3600:
		return fmt.Sprintf("in about %d minutes", (s+59)/60)
	}
	return fmt.Sprintf("in about %d hours", (s+3599)/3600)
}

// limitCheck is one limit an attempt counts against, and what to tell a person it stops.
type limitCheck struct {
	key     string
	limit   ratelimit.Limit
	message string // "…; please try again " + when
}

// allowAttempt counts the attempt r against each check in turn and returns nil, or the
// 429 error of the first limit it is over (later checks are then not counted). When the
// limiter fails, the attempt goes through unchecked by the rest as well: one wait is enough.
func (s *Server) allowAttempt(r *http.Request, checks ...limitCheck) error {
	if s.limits.Limiter == nil {
		return nil
	}
	for _, c := range checks {
		res, err := s.limits.Limiter.Allow(r.Context(), c.key, c.limit)
		if err != nil {
			s.log.Warn("rate limit not checked: the limiter is not answering; the attempt is let through",
				"path", r.URL.Path, "key", c.key, "err", err)
			return nil
		}
		if !res.Allowed {
			return &rateLimited{clientError{http.StatusTooManyRequests, c.message + "; please try again " + inAbout(res.RetryAfter) + "."}, res.RetryAfter}
		}
	}
	return nil
}

// allowLogin counts a sign-in attempt for email from r's client.
func (s *Server) allowLogin(r *http.Request, email string) error {
	client := clientKey(clientIP(r, s.proxies))
	return s.allowAttempt(r,
		limitCheck{keys.LoginClientLimit(client), s.limits.LoginIP,
			"There have been too many sign-in attempts from your network, so signing in from it is paused for a while"},
		limitCheck{keys.LoginAccountLimit(accounts.NormalizeEmail(email)), s.limits.LoginAccount,
			"There have been too many sign-in attempts for this account, so signing in to it is paused to protect it"},
	)
}

// allowSignup counts a sign-up from r's client.
func (s *Server) allowSignup(r *http.Request) error {
	client := clientKey(clientIP(r, s.proxies))
	return s.allowAttempt(r, limitCheck{keys.SignupClientLimit(client), s.limits.SignupIP,
		"Too many accounts have been created from your network just now"})
}

// allowLabRun counts the start of an open Lab experiment from r's client.
func (s *Server) allowLabRun(r *http.Request) error {
	client := clientKey(clientIP(r, s.proxies))
	return s.allowAttempt(r, limitCheck{keys.LabRunLimit(client), s.limits.LabRunIP,
		"Your network has started many experiments just now"})
}
