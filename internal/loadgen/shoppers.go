package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// shopper is one load account: its credentials, its session cookie once signed in, and what
// the generator knows of its cart. Fields after the first three are guarded by gen.mu.
type shopper struct {
	n               int
	email, password string
	cookie          string // the Cookie header of its signed-in session

	busy     bool   // a cart or checkout request of its is in flight
	inCart   int    // adds answered 303 since its last order
	key      string // checkout form fields read from its last cart page; "" until seen
	digest   string
	orders   int
	signedIn bool
}

// shopperEmail is the e-mail of load account n; the same n gives the same account on every
// run, so a second run signs in instead of signing up.
func shopperEmail(n int) string { return fmt.Sprintf("shop-load-%d@load.example", n) }

// shopperPassword is load account n's password: not secret (the accounts are for load tests),
// long, and not among the common ones the shop refuses.
func shopperPassword(n int) string { return fmt.Sprintf("load-shopper-%d-walks-the-aisles", n) }

// ErrRateLimited is returned when the shop refuses the sign-ins or sign-ups that set up the
// load accounts with 429.
var ErrRateLimited = errors.New("the shop rate-limited the load accounts' sign-in or sign-up " +
	"(429): start it with SHOP_LOGIN_LIMIT_IP=off SHOP_SIGNUP_LIMIT_IP=off, or limits above " +
	"the number of load users")

// signInAll signs in (or, the first time, signs up) n load accounts, four at a time, and
// returns them with their session cookies.
func signInAll(ctx context.Context, client *http.Client, base string, n int) ([]*shopper, error) {
	shoppers := make([]*shopper, n)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	var mu sync.Mutex
	for i := range n {
		s := &shopper{n: i + 1, email: shopperEmail(i + 1), password: shopperPassword(i + 1)}
		shoppers[i] = s
		g.Go(func() error {
			cookie, err := signIn(ctx, client, base, s)
			mu.Lock()
			s.cookie = cookie
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return shoppers, nil
}

// signIn signs s in, registering it first when the shop does not know it, and returns the
// Cookie header of its session.
func signIn(ctx context.Context, client *http.Client, base string, s *shopper) (string, error) {
	form := url.Values{"email": {s.email}, "password": {s.password}}
	resp, err := post(ctx, client, base+"/login", form, "")
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusUnprocessableEntity { // unknown account: sign up
		form.Set("name", fmt.Sprintf("Load shopper %d", s.n))
		if resp, err = post(ctx, client, base+"/register", form, ""); err != nil {
			return "", err
		}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", ErrRateLimited
	case resp.StatusCode != http.StatusSeeOther:
		return "", fmt.Errorf("sign in %s: status %d, want 303", s.email, resp.StatusCode)
	}
	var parts []string
	for _, c := range resp.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("sign in %s: no session cookie", s.email)
	}
	return strings.Join(parts, "; "), nil
}

// post sends a url-encoded form, without following the redirect, and returns the response
// with its body read and closed.
func post(ctx context.Context, client *http.Client, u string, form url.Values, cookie string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}
