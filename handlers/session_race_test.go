package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/handlers"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/ratelimit"
)

// heldRead is a GET that the test holds open after its session was loaded: it waits on a
// lock of the products table (it reads a product no cache holds) until the test releases it.
type heldRead struct {
	done chan *http.Response
}

// holdProductRead sends s's GET /products/{id} — id must be in no cache — and returns once
// the request waits on the table lock, that is, after the session middleware has loaded
// its session. release lets it finish.
func holdProductRead(t *testing.T, shop *testShop, s *shopper, id int64) (h heldRead, release func() *http.Response) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, shop.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE products IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	h = heldRead{done: make(chan *http.Response, 1)}
	go func() {
		resp, err := s.client.Get(s.base + "/products/" + strconv.FormatInt(id, 10))
		if err != nil {
			t.Error(err)
			h.done <- nil
			return
		}
		resp.Body.Close()
		h.done <- resp
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting int
		err := shop.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%products%'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the product read never waited on the lock")
		}
	}
	return h, func() *http.Response {
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		return <-h.done
	}
}

// sessionCookieIn returns the session cookie a response sets, and whether it sets one.
func sessionCookieIn(resp *http.Response) (string, bool) {
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			return c.Value, true
		}
	}
	return "", false
}

// TestSignOutSticks: a request that loaded the session before a sign-out and ends after it
// neither puts the session back in Redis nor sends its old cookie.
func TestSignOutSticks(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	alice := newShopper(t, shop.URL)
	alice.register("alice@example.com", "Alice", "a fine long password")
	token := alice.sessionCookie()
	key := shop.prefix + "session:" + token

	_, release := holdProductRead(t, shop, alice, 77)
	expect(t, "sign out", alice.post("/logout", nil), http.StatusSeeOther)
	if shop.rdb.Exists(context.Background(), key).Val() != 0 {
		t.Fatal("the session is still in Redis after signing out")
	}
	resp := release()
	if resp == nil {
		t.FailNow()
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the held read = %d, want 200", resp.StatusCode)
	}
	if v, ok := sessionCookieIn(resp); ok {
		t.Errorf("the held read, ending after the sign-out, set the session cookie to %q", v)
	}
	if shop.rdb.Exists(context.Background(), key).Val() != 0 {
		t.Error("the held read put the signed-out session back in Redis")
	}
	if r := alice.get("/account"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("GET /account after signing out = %d to %q, want a redirect to sign in", r.status, r.location)
	}
}

// TestSignInSticks: a request that carried the anonymous cookie from before a sign-in and
// ends after it leaves the browser signed in, and the anonymous session gone.
func TestSignInSticks(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	bob := newShopper(t, shop.URL)
	bob.register("bob@example.com", "Bob", "a fine long password")
	expect(t, "sign out", bob.post("/logout", nil), http.StatusSeeOther)
	expect(t, "add to cart, anonymous", bob.addToCart(3, 1), http.StatusSeeOther) // an anonymous session
	anonymous := bob.sessionCookie()
	if anonymous == "" {
		t.Fatal("no anonymous session")
	}

	_, release := holdProductRead(t, shop, bob, 78)
	expect(t, "sign in", bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"a fine long password"}}), http.StatusSeeOther)
	signedIn := bob.sessionCookie()
	if signedIn == anonymous || signedIn == "" {
		t.Fatalf("sign-in kept the token %q", signedIn)
	}
	resp := release()
	if resp == nil {
		t.FailNow()
	}
	if v, ok := sessionCookieIn(resp); ok {
		t.Errorf("the held read, ending after the sign-in, set the session cookie to %q", v)
	}
	if got := bob.sessionCookie(); got != signedIn {
		t.Errorf("cookie after the held read = %q, want the signed-in %q", got, signedIn)
	}
	if shop.rdb.Exists(context.Background(), shop.prefix+"session:"+anonymous).Val() != 0 {
		t.Error("the anonymous session is back in Redis")
	}
	expect(t, "GET /account after the sign-in", bob.get("/account"), http.StatusOK, "bob@example.com")
}

// TestReadsDoNotRewriteTheSession: a page that changes nothing in the session writes
// nothing — not even its idle expiry while that would move by less than a tenth of the idle
// timeout — and once it would move by more, moves it (PEXPIREAT) and writes nothing else; a
// read whose session change cannot be saved still shows its page.
func TestReadsDoNotRewriteTheSession(t *testing.T) {
	srv := testenv.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "shop", "on", ">pw", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	shop := newShop(t, testenv.SeededDBURL(t), withRedis("redis://shop:pw@"+srv.Addr()+"/0"))
	carol := newShopper(t, shop.URL)
	carol.register("carol@example.com", "Carol", "a fine long password")
	carol.get("/products/1") // the product is cached from here on

	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, "product page", carol.get("/products/1"), http.StatusOK)
	stats := admin.Info(ctx, "commandstats").Val()
	if strings.Contains(stats, "cmdstat_set:") || strings.Contains(stats, "cmdstat_pexpireat:") {
		t.Errorf("a read-only page right after the sign-up wrote to Redis:\n%s", stats)
	}

	// As if four minutes had passed since the last extension (more than a tenth of the
	// default 30-minute idle timeout): the next page moves the expiry, and only that.
	idle := 30 * time.Minute
	key := shop.prefix + "session:" + carol.sessionCookie()
	if err := admin.PExpire(ctx, key, idle-4*time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, "product page", carol.get("/products/1"), http.StatusOK)
	stats = admin.Info(ctx, "commandstats").Val()
	if strings.Contains(stats, "cmdstat_set:") {
		t.Errorf("a read-only page wrote with SET:\n%s", stats)
	}
	if !strings.Contains(stats, "cmdstat_pexpireat:") {
		t.Errorf("a read-only page did not move the session's idle expiry once 4 of 30 minutes had passed:\n%s", stats)
	}
	if d := admin.PTTL(ctx, key).Val(); d < idle-time.Minute {
		t.Errorf("session TTL after the page = %v, want the idle timeout (%v) again", d, idle)
	}

	// A flash waits for the next page; that page's session change (the flash popped) cannot
	// be saved, as Redis now refuses SET: the page stands.
	expect(t, "add to cart", carol.addToCart(3, 1), http.StatusSeeOther)
	if err := admin.Do(ctx, "ACL", "SETUSER", "shop", "-set").Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, "cart page whose session cannot be saved", carol.get("/cart"), http.StatusOK, "Added 1")
}

// TestPasswordChangeEndsOtherSessions: changing the password signs the account out in every
// other browser (the per-user index of sessions in Redis), renews this browser's token, and
// a refused change changes nothing.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	here, there := newShopper(t, shop.URL), newShopper(t, shop.URL)
	here.register("hal@example.com", "Hal", "a fine long password")
	expect(t, "sign in elsewhere", there.post("/login", url.Values{"email": {"hal@example.com"}, "password": {"a fine long password"}}), http.StatusSeeOther)
	before := here.sessionCookie()

	change := func(current, next string) response {
		return here.post("/account/password", url.Values{"current_password": {current}, "new_password": {next}})
	}
	expect(t, "wrong current password", change("not my password", "another fine password"), http.StatusUnprocessableEntity, "not your password")
	expect(t, "a common new password", change("a fine long password", "password1"), http.StatusUnprocessableEntity, "most common")
	expect(t, "still signed in elsewhere after refused changes", there.get("/account"), http.StatusOK, "hal@example.com")

	expect(t, "change the password", change("a fine long password", "another fine password"), http.StatusSeeOther)
	if after := here.sessionCookie(); after == before || after == "" {
		t.Errorf("token after the change = %q, want a new one", after)
	}
	expect(t, "this browser", here.get("/account"), http.StatusOK, "every other session of your account is signed out")
	if r := there.get("/account"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("the other browser after the change = %d to %q, want sent to sign in", r.status, r.location)
	}
	expect(t, "old password", newShopper(t, shop.URL).post("/login", url.Values{"email": {"hal@example.com"}, "password": {"a fine long password"}}),
		http.StatusUnprocessableEntity)
	expect(t, "new password", newShopper(t, shop.URL).post("/login", url.Values{"email": {"hal@example.com"}, "password": {"another fine password"}}),
		http.StatusSeeOther)
}

// TestPasswordChangeGuessesAreLimited: guesses of the current password on the change form
// count against the account's sign-in limit, and a wrong guess leaves the session as it was.
func TestPasswordChangeGuessesAreLimited(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t), withLimits(handlers.RateLimits{LoginAccount: ratelimit.Limit{Count: 3, Period: time.Hour}}))
	ivy := newShopper(t, shop.URL)
	ivy.register("ivy@example.com", "Ivy", "a fine long password")
	token := ivy.sessionCookie()
	for i := range 3 {
		r := ivy.post("/account/password", url.Values{"current_password": {"guess " + strconv.Itoa(i)}, "new_password": {"another fine password"}})
		expect(t, "wrong guess "+strconv.Itoa(i+1), r, http.StatusUnprocessableEntity, "not your password")
	}
	if got := ivy.sessionCookie(); got != token {
		t.Errorf("a wrong guess changed the session token from %q to %q", token, got)
	}
	r := ivy.post("/account/password", url.Values{"current_password": {"a fine long password"}, "new_password": {"another fine password"}})
	expect(t, "4th attempt, right password", r, http.StatusTooManyRequests, "too many sign-in attempts")
	expect(t, "a sign-in to the account, which shares the limit", newShopper(t, shop.URL).post("/login",
		url.Values{"email": {"ivy@example.com"}, "password": {"a fine long password"}}), http.StatusTooManyRequests)
}
