package handlers_test

import (
	"context"
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/internal/testenv"
)

// requestTrips counts the Redis round trips made on behalf of a request (their context
// carries the request's reqstats): one per command, one per pipeline. Background work (the
// view batches, the flusher) is not counted.
type requestTrips struct{ n atomic.Int64 }

func (c *requestTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *requestTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if reqstats.From(ctx) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *requestTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if reqstats.From(ctx) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

var footerTrips = regexp.MustCompile(`Redis round trips: <b>(\d+)</b>`)

// A product page served from the near cache makes no Redis round trip for an anonymous
// visitor (its view is counted in the process and sent with the next batch; rank and views
// come from the local copy) and exactly one for a signed-in shopper with a cart (session,
// its expiry and the cart count in one pipeline; the session is not written back, its idle
// expiry having moved by less than a tenth of the idle timeout). Counted on the real Redis
// client the shop uses.
func TestProductPageRoundTrips(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t), withL1(cache.L1Options{Size: 1000, TTL: time.Hour}))
	var trips requestTrips
	shop.App.Redis.AddHook(&trips)

	visitor := newShopper(t, shop.URL)
	for range 2 { // the first fills the near cache and the local copy of rank and views
		expect(t, "product page", visitor.get("/products/1"), http.StatusOK)
	}
	trips.n.Store(0)
	page := visitor.get("/products/1")
	expect(t, "product page", page, http.StatusOK)
	if n := trips.n.Load(); n != 0 {
		t.Errorf("anonymous product page from L1 made %d Redis round trips, want 0", n)
	}
	if got := footerTrips.FindStringSubmatch(page.body); got == nil || got[1] != "0" {
		t.Errorf("footer says %v Redis round trips, want 0", got)
	}

	alice := newShopper(t, shop.URL)
	alice.register("alice@example.com", "Alice", "correct horse battery")
	expect(t, "add to cart", alice.addToCart(2, 3), http.StatusSeeOther)
	for range 2 { // the first teaches this instance the token's cart
		expect(t, "product page", alice.get("/products/1"), http.StatusOK)
	}
	trips.n.Store(0)
	page = alice.get("/products/1")
	expect(t, "signed-in product page", page, http.StatusOK, `<span class="count">3</span>`, "Alice")
	if n := trips.n.Load(); n != 1 {
		t.Errorf("signed-in product page from L1 made %d Redis round trips, want 1", n)
	}
	if got := footerTrips.FindStringSubmatch(page.body); got == nil || got[1] != "1" {
		t.Errorf("footer says %v Redis round trips, want 1", got)
	}
	if c := page.header.Get("Set-Cookie"); c != "" {
		t.Errorf("an unchanged session sent Set-Cookie %q", c)
	}
}
