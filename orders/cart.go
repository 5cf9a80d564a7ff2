package orders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/piggyback"
	"github.com/shopcache/shop/keys"
)

// MaxQuantity is the most of one product a cart line holds.
const MaxQuantity = 99

// Line is one product in a cart and how many of it.
type Line struct {
	ProductID int64
	Quantity  int // 1 to MaxQuantity
}

// Carts keeps each cart as a Redis hash, cart:{id}, field = product id, value = quantity.
// Every change is one atomic command or script on the hash, so concurrent requests of one
// shopper never overwrite each other's lines (unlike a cart in the session blob, which is
// written back whole). Every write renews the key's TTL.
type Carts struct {
	rdb    redis.UniversalClient
	prefix string        // prepended to every key; empty in the shop, per-test in tests
	ttl    time.Duration // how long an untouched cart lives
}

// NewCarts returns Carts on rdb whose keys start with prefix and live for ttl after their
// last change.
func NewCarts(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Carts {
	return &Carts{rdb: rdb, prefix: prefix, ttl: ttl}
}

// UserCartID is the cart of a signed-in user: the same on every device and session.
func UserCartID(userID int64) string { return "u" + strconv.FormatInt(userID, 10) }

// SessionCartID is the cart of an anonymous session, derived from its token (hashed, so
// the key does not reveal the token).
func SessionCartID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "s" + hex.EncodeToString(sum[:12])
}

func (c *Carts) key(cartID string) string { return c.prefix + keys.Cart(cartID) }

// The cart's rules, the same for Add, Set and Merge: a line holds 1 to MaxQuantity units
// and never more than the product's stock; 0 removes it.

// ErrNotInCart is returned by Set for a product the cart has no line of.
var ErrNotInCart = errors.New("orders: the product is not in the cart")

// OverStockError is returned by Add when the line would hold more than the stock: the cart
// is unchanged.
type OverStockError struct {
	Stock  int // units in stock
	InCart int // units of it already in the cart
}

func (e *OverStockError) Error() string {
	return fmt.Sprintf("orders: only %d in stock, %d in the cart", e.Stock, e.InCart)
}

// addScript adds ARGV[2] of product ARGV[1] to the cart KEYS[1] and renews its TTL (ARGV[3]
// ms). A line over the stock ARGV[4] is refused ({-1, quantity in the cart}) when ARGV[5] is
// "refuse", and cut to the stock when it is "cap"; a line over MaxQuantity is cut to it.
// It returns {the line's new quantity, 0}.
var addScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local n = cur + tonumber(ARGV[2])
local stock = tonumber(ARGV[4])
if n > stock then
  if ARGV[5] == 'refuse' then return {-1, cur} end
  n = stock
end
n = math.min(n, ` + strconv.Itoa(MaxQuantity) + `)
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], n)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {n, 0}`)

// Add adds quantity (1 to MaxQuantity) of product, which has stock units in stock, to the
// cart, and returns the line's new quantity, cut to MaxQuantity. It returns *OverStockError,
// and changes nothing, when the line would hold more than the stock.
func (c *Carts) Add(ctx context.Context, cartID string, productID int64, quantity, stock int) (int, error) {
	forgetPrefetch(ctx)
	reply, err := addScript.Run(ctx, c.rdb, []string{c.key(cartID)},
		productID, quantity, c.ttl.Milliseconds(), stock, "refuse").Int64Slice()
	if err != nil || len(reply) != 2 {
		return 0, fmt.Errorf("orders: add to cart: %w", err)
	}
	if reply[0] < 0 {
		return 0, &OverStockError{Stock: stock, InCart: int(reply[1])}
	}
	return int(reply[0]), nil
}

// setScript sets the line ARGV[1] of the cart KEYS[1] to ARGV[2] units (0 removes it) if the
// cart has that line, and renews the TTL (ARGV[3] ms). It returns 0 when there is no line.
var setScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if tonumber(ARGV[2]) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// Set sets the quantity (0 to MaxQuantity; 0 removes the line) of a product the cart has a
// line of; the caller checks it against the stock. It returns ErrNotInCart when there is no
// such line, and then adds none.
func (c *Carts) Set(ctx context.Context, cartID string, productID int64, quantity int) error {
	forgetPrefetch(ctx)
	n, err := setScript.Run(ctx, c.rdb, []string{c.key(cartID)}, productID, quantity, c.ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("orders: set cart line: %w", err)
	}
	if n == 0 {
		return ErrNotInCart
	}
	return nil
}

// Remove removes a product from the cart (Set to 0). It returns ErrNotInCart when there is
// no such line.
func (c *Carts) Remove(ctx context.Context, cartID string, productID int64) error {
	forgetPrefetch(ctx)
	return c.Set(ctx, cartID, productID, 0)
}

// Lines returns the cart's lines ordered by product id; none for an unknown cart.
func (c *Carts) Lines(ctx context.Context, cartID string) ([]Line, error) {
	m, err := c.rdb.HGetAll(ctx, c.key(cartID)).Result()
	if err != nil {
		return nil, fmt.Errorf("orders: read cart: %w", err)
	}
	lines := make([]Line, 0, len(m))
	for field, value := range m {
		id, err1 := strconv.ParseInt(field, 10, 64)
		q, err2 := strconv.Atoi(value)
		if err1 != nil || err2 != nil || q < 1 {
			continue // not a line this package wrote
		}
		lines = append(lines, Line{ProductID: id, Quantity: min(q, MaxQuantity)})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].ProductID < lines[j].ProductID })
	return lines, nil
}

type prefetchKey struct{}

// prefetched is a cart count read along with another pipeline of the request.
type prefetched struct {
	cartID string
	mu     sync.Mutex
	cmd    *redis.StringSliceCmd // nil until queued into a pipeline
	stale  bool                  // the request changed a cart since: read again
}

// PrefetchCount returns ctx asking for cartID's count to be read along with the request's
// next pipeline (piggyback: the session read), so that Count needs no round trip of its
// own. cartID is a guess: Count uses the reply only for that same cart, and only if the
// request changed no cart since. With no piggyback slot in ctx it does nothing.
func (c *Carts) PrefetchCount(ctx context.Context, cartID string) context.Context {
	pf := &prefetched{cartID: cartID}
	if !piggyback.Add(ctx, func(ctx context.Context, p redis.Pipeliner) {
		cmd := p.HVals(ctx, c.key(cartID))
		pf.mu.Lock()
		pf.cmd = cmd
		pf.mu.Unlock()
	}) {
		return ctx
	}
	return context.WithValue(ctx, prefetchKey{}, pf)
}

// forgetPrefetch marks the request's prefetched count stale: the request changed a cart.
func forgetPrefetch(ctx context.Context) {
	if pf, ok := ctx.Value(prefetchKey{}).(*prefetched); ok {
		pf.mu.Lock()
		pf.stale = true
		pf.mu.Unlock()
	}
}

// prefetchedCount returns the values of cartID's hash read along with an earlier pipeline
// of the request, if there is a usable reply.
func prefetchedCount(ctx context.Context, cartID string) ([]string, bool) {
	pf, ok := ctx.Value(prefetchKey{}).(*prefetched)
	if !ok || pf.cartID != cartID {
		return nil, false
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.stale || pf.cmd == nil {
		return nil, false
	}
	values, err := pf.cmd.Result()
	if err != nil { // not sent, or failed: read it on its own
		return nil, false
	}
	return values, true
}

// Count returns the number of units in the cart: from the reply read along with the
// session (PrefetchCount) when there is one for this cart, else in one HVALS.
func (c *Carts) Count(ctx context.Context, cartID string) (int, error) {
	values, ok := prefetchedCount(ctx, cartID)
	if !ok {
		var err error
		values, err = c.rdb.HVals(ctx, c.key(cartID)).Result()
		if err != nil {
			return 0, fmt.Errorf("orders: count cart: %w", err)
		}
	}
	n := 0
	for _, v := range values {
		q, _ := strconv.Atoi(v)
		n += max(q, 0)
	}
	return n, nil
}

// StockReader returns the units in stock of each product of ids that is for sale; a product
// missing from the map is not.
type StockReader func(ctx context.Context, ids []int64) (map[int64]int, error)

// Merge moves the lines of cart from into cart to and deletes from. It is used when an
// anonymous shopper signs in, when nothing else writes to from. Quantities add up, cut to
// MaxQuantity and to the stock that stock reads; a product no longer for sale is dropped. It
// runs each line through the same single-key script as Add, so it works where the two keys
// live on different cluster shards.
func (c *Carts) Merge(ctx context.Context, from, to string, stock StockReader) error {
	forgetPrefetch(ctx)
	lines, err := c.Lines(ctx, from)
	if err != nil || len(lines) == 0 {
		return err
	}
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.ProductID
	}
	inStock, err := stock(ctx, ids)
	if err != nil {
		return fmt.Errorf("orders: merge carts: %w", err)
	}
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, l := range lines {
			if n, ok := inStock[l.ProductID]; ok {
				// EVAL, not EVALSHA: in a pipeline a missing script cannot be retried.
				addScript.Eval(ctx, p, []string{c.key(to)}, l.ProductID, l.Quantity, c.ttl.Milliseconds(), n, "cap")
			}
		}
		p.Del(ctx, c.key(from))
		return nil
	})
	if err != nil {
		return fmt.Errorf("orders: merge carts: %w", err)
	}
	return nil
}

// claimField is the cart hash's field that holds a running checkout's claim,
// "<key>:<unix ms>". Lines and Count pass it over: it is not a product id.
const claimField = "checkout"

// claimScript claims the cart KEYS[1] for the checkout ARGV[1] unless a checkout — another,
// or another submission of the same key — holds a claim younger than ARGV[2] ms (a claim
// that old was left by a checkout that died). It returns {1, ARGV[1]} when claimed, or
// {0, the holder's key}.
var claimScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claim = redis.call('HGET', KEYS[1], 'checkout')
if claim then
  local key, at = string.match(claim, '^(.+):(%d+)$')
  if key and now - tonumber(at) < tonumber(ARGV[2]) then return {0, key} end
end
redis.call('HSET', KEYS[1], 'checkout', ARGV[1] .. ':' .. now)
return {1, ARGV[1]}`)

// Claim claims the cart for the checkout with idempotency key: from then on no other
// checkout of it — nor another submission of the same key — starts until Release or
// Unclaim, or until stale has passed (the claim of a checkout that died). It reports whether the claim is key's, and else the key of the
// checkout that holds it.
func (c *Carts) Claim(ctx context.Context, cartID, key string, stale time.Duration) (ok bool, holder string, err error) {
	forgetPrefetch(ctx)
	reply, err := claimScript.Run(ctx, c.rdb, []string{c.key(cartID)}, key, stale.Milliseconds()).Slice()
	if err != nil || len(reply) != 2 {
		return false, "", fmt.Errorf("orders: claim cart: %w", err)
	}
	n, _ := reply[0].(int64)
	holder, _ = reply[1].(string)
	return n == 1, holder, nil
}

// Holder returns the key of the checkout that claims the cart, or "" when none does.
func (c *Carts) Holder(ctx context.Context, cartID string) (string, error) {
	claim, err := c.rdb.HGet(ctx, c.key(cartID), claimField).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("orders: read cart claim: %w", err)
	}
	key, _, _ := strings.Cut(claim, ":")
	return key, nil
}

// releaseScript ends the claim ARGV[1] of the cart KEYS[1] (if it still holds it) and takes
// the following (product id, quantity) pairs out of the cart: each line loses the quantity
// given, and a line left at zero or below is removed. It is one script, so an Add that
// lands while it runs is kept whole.
var releaseScript = redis.NewScript(`
local claim = redis.call('HGET', KEYS[1], 'checkout')
if not claim or string.sub(claim, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end
redis.call('HDEL', KEYS[1], 'checkout')
for i = 2, #ARGV, 2 do
  local n = redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i+1]))
  if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1`)

// Release ends the claim of the checkout key and removes lines — the lines its order was
// placed with — from the cart, exactly their quantities: what was added to the cart since
// they were read stays in it. It does both only while key holds the claim, so the lines of
// one order leave the cart once, whoever releases them (the checkout itself, or a later one
// finishing what it could not: Checkout.waitFor); a claim that lapsed or was released
// already changes nothing. Unclaim is Release with no lines: a checkout that failed.
func (c *Carts) Release(ctx context.Context, cartID, key string, lines []Line) error {
	forgetPrefetch(ctx)
	args := make([]any, 0, 1+2*len(lines))
	args = append(args, key)
	for _, l := range lines {
		args = append(args, l.ProductID, l.Quantity)
	}
	if err := releaseScript.Run(ctx, c.rdb, []string{c.key(cartID)}, args...).Err(); err != nil {
		return fmt.Errorf("orders: release cart: %w", err)
	}
	return nil
}

// Unclaim ends the claim of the checkout key and leaves the cart's lines as they are.
func (c *Carts) Unclaim(ctx context.Context, cartID, key string) error {
	return c.Release(ctx, cartID, key, nil)
}
