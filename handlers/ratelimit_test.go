package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/handlers"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/ratelimit"
)

// withLimits sets the shop's sign-in and sign-up limits; the test shop's defaults are
// the shop's.
func withLimits(l handlers.RateLimits) option {
	return func(c *app.Config) {
		c.LoginLimitAccount, c.LoginLimitIP, c.SignupLimitIP = l.LoginAccount, l.LoginIP, l.SignupIP
	}
}

// withProxies makes the shop trust the load balancers at proxies (SHOP_TRUSTED_PROXIES).
func withProxies(proxies ...string) option {
	return func(c *app.Config) {
		for _, p := range proxies {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(p))
		}
	}
}

// loginFrom posts a sign-in as a browser behind forwardedFor ("" for none) would.
func loginFrom(s *shopper, forwardedFor, email, password string) response {
	s.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, s.base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return s.do(req)
}

// retryAfter returns r's Retry-After in seconds, failing the test when it is not a number.
func retryAfter(t *testing.T, what string, r response) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("%s: Retry-After %q, want whole seconds", what, r.header.Get("Retry-After"))
	}
	return n
}

// TestSignInLimitPerAccount: the 11th wrong password for one account within a minute is
// refused with 429 and Retry-After, on either of two instances sharing Redis; after that the
// right password is refused too until the limit allows the next attempt, and other accounts
// are not affected.
func TestSignInLimitPerAccount(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	limits := handlers.RateLimits{LoginAccount: ratelimit.Limit{Count: 10, Period: time.Minute},
		LoginIP: ratelimit.Limit{Count: 1000, Period: time.Minute}}
	shopA := newShop(t, dbURL, withLimits(limits))
	shopB := newShop(t, dbURL, withLimits(limits), withPrefix(shopA.prefix)) // two instances of one deployment
	a, b, rdb, prefix := shopA.URL, shopB.URL, shopA.rdb, shopA.prefix
	newShopper(t, a).register("vera@example.com", "Vera", "vera's real password")
	newShopper(t, a).register("walt@example.com", "Walt", "walt's real password")

	attacker := []*shopper{newShopper(t, a), newShopper(t, b)}
	for i := range 10 {
		r := loginFrom(attacker[i%2], "", "vera@example.com", "guess number "+strconv.Itoa(i))
		expect(t, "wrong password "+strconv.Itoa(i+1), r, http.StatusUnprocessableEntity, "don&#39;t match an account")
	}
	for i, s := range attacker {
		r := loginFrom(s, "", "VERA@example.com ", "guess number 11")
		expect(t, "11th wrong password on instance "+strconv.Itoa(i+1), r, http.StatusTooManyRequests,
			"Too many tries", "too many sign-in attempts for this account", "try again in")
		// 10 per minute with bursts of 10: the next attempt is due 6 s after the first.
		if ra := retryAfter(t, "11th attempt", r); ra < 1 || ra > 6 {
			t.Errorf("11th attempt: Retry-After %d s, want 1 to 6", ra)
		}
	}
	vera := newShopper(t, b)
	r := loginFrom(vera, "", "vera@example.com", "vera's real password")
	expect(t, "right password after the limit", r, http.StatusTooManyRequests)
	if ra := retryAfter(t, "right password", r); ra < 1 || ra > 6 {
		t.Errorf("right password: Retry-After %d s, want 1 to 6", ra)
	}
	expect(t, "another account from the same client", loginFrom(newShopper(t, a), "", "walt@example.com", "walt's real password"), http.StatusSeeOther)

	sum := sha256.Sum256([]byte("vera@example.com"))
	key := prefix + "ratelimit:login:account:" + hex.EncodeToString(sum[:])
	if ttl, err := rdb.TTL(context.Background(), key).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL %s = %v, %v; want the limit's key with a TTL of at most a minute", key, ttl, err)
	}
}

// TestSignInLimitPerClient: sign-ins from one client address are limited across accounts;
// the address is X-Forwarded-For's only when the peer is a trusted proxy.
func TestSignInLimitPerClient(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	perIP := ratelimit.Limit{Count: 3, Period: time.Minute}
	behindProxy := newShop(t, dbURL, withLimits(handlers.RateLimits{LoginIP: perIP}), withProxies("127.0.0.1/32")).URL
	for i := range 3 {
		r := loginFrom(newShopper(t, behindProxy), "203.0.113.7", "nobody"+strconv.Itoa(i)+"@example.com", "some password")
		expect(t, "sign-in via the proxy "+strconv.Itoa(i+1), r, http.StatusUnprocessableEntity)
	}
	r := loginFrom(newShopper(t, behindProxy), "203.0.113.7", "nobody9@example.com", "some password")
	expect(t, "4th sign-in of 203.0.113.7", r, http.StatusTooManyRequests, "from your network")
	if ra := retryAfter(t, "per client", r); ra < 1 || ra > 20 {
		t.Errorf("per client: Retry-After %d s, want 1 to 20", ra)
	}
	// Another client behind the same proxy has its own count; a spoofed left-hand entry is
	// not believed.
	expect(t, "another client via the proxy", loginFrom(newShopper(t, behindProxy), "203.0.113.8", "nobody@example.com", "some password"),
		http.StatusUnprocessableEntity)
	expect(t, "spoofed entry left of the proxy's", loginFrom(newShopper(t, behindProxy), "198.51.100.1, 203.0.113.7", "nobody@example.com", "some password"),
		http.StatusTooManyRequests)

	// Without trusted proxies the header is the client's word and is ignored: a new
	// X-Forwarded-For each time does not escape the limit of the peer's address.
	direct := newShop(t, dbURL, withLimits(handlers.RateLimits{LoginIP: perIP})).URL
	for i := range 3 {
		expect(t, "direct sign-in "+strconv.Itoa(i+1), loginFrom(newShopper(t, direct), "198.51.100."+strconv.Itoa(i), "nobody@example.com", "some password"),
			http.StatusUnprocessableEntity)
	}
	expect(t, "4th direct sign-in with a fresh X-Forwarded-For", loginFrom(newShopper(t, direct), "198.51.100.99", "nobody@example.com", "some password"),
		http.StatusTooManyRequests)
}

// TestSignUpLimitPerClient: sign-ups from one client address are limited.
func TestSignUpLimitPerClient(t *testing.T) {
	shop := newShop(t, testenv.EmptyDB(t), withLimits(handlers.RateLimits{SignupIP: ratelimit.Limit{Count: 2, Period: time.Hour}}))
	srv, pool := shop.URL, shop.pool
	newShopper(t, srv).register("one@example.com", "One", "a fine long password")
	newShopper(t, srv).register("two@example.com", "Two", "a fine long password")
	r := newShopper(t, srv).post("/register", url.Values{"email": {"three@example.com"}, "name": {"Three"}, "password": {"a fine long password"}})
	expect(t, "3rd sign-up in an hour", r, http.StatusTooManyRequests, "Too many accounts have been created from your network")
	// Two an hour: the next is due half an hour after the first.
	if ra := retryAfter(t, "sign-up", r); ra < 1 || ra > 1800 {
		t.Errorf("sign-up: Retry-After %d s, want 1 to 1800", ra)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 2 {
		t.Errorf("users = %d (%v), want 2", n, err)
	}
}

// TestRateLimitFailsOpen: when the limiter's calls fail, signing in still works. The shop's
// Redis user here may touch every key but the limits' (a real server refusing with NOPERM),
// so sessions work and only the limiter fails.
func TestRateLimitFailsOpen(t *testing.T) {
	srv := testenv.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	_, prefix := testenv.Redis(t)
	allowed := []any{"ACL", "SETUSER", "nolimits", "on", ">pw", "&*", "+@all"}
	for _, family := range []string{"session", "sessions", "cart", "user", "product", "lease", "list", "home", "lb", "views"} {
		allowed = append(allowed, "~"+prefix+family+":*")
	}
	if err := admin.Do(context.Background(), allowed...).Err(); err != nil {
		t.Fatal(err)
	}
	one := ratelimit.Limit{Count: 1, Period: time.Hour}
	shop := newShop(t, testenv.SeededDBURL(t), withPrefix(prefix), withRedis("redis://nolimits:pw@"+srv.Addr()+"/0"),
		withLimits(handlers.RateLimits{LoginAccount: one, LoginIP: one, SignupIP: one}))
	newShopper(t, shop.URL).register("opal@example.com", "Opal", "a fine long password")
	for i := range 3 {
		r := loginFrom(newShopper(t, shop.URL), "", "opal@example.com", "a fine long password")
		expect(t, "sign-in with the limiter refused by Redis "+strconv.Itoa(i+1), r, http.StatusSeeOther)
	}
	if n := admin.DBSize(context.Background()).Val(); n == 0 {
		t.Error("nothing in Redis: the sessions did not work either")
	}
	for _, k := range admin.Keys(context.Background(), "*ratelimit*").Val() {
		t.Errorf("a limit key was written: %s", k)
	}
}
