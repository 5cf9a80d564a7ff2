package orders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

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

// addScript adds ARGV[2] of product ARGV[1], capping the line at ARGV[4], and renews the TTL
// (ARGV[3] ms). It returns the line's new quantity.
var addScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if n > tonumber(ARGV[4]) then
  n = tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], ARGV[1], n)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return n`)

// Add adds quantity (1 to MaxQuantity) of product to the cart and returns the line's new
// quantity, which is capped at MaxQuantity.
func (c *Carts) Add(ctx context.Context, cartID string, productID int64, quantity int) (int, error) {
	n, err := addScript.Run(ctx, c.rdb, []string{c.key(cartID)},
		productID, quantity, c.ttl.Milliseconds(), MaxQuantity).Int()
	if err != nil {
		return 0, fmt.Errorf("orders: add to cart: %w", err)
	}
	return n, nil
}

// Set sets the quantity (1 to MaxQuantity) of a product in the cart.
func (c *Carts) Set(ctx context.Context, cartID string, productID int64, quantity int) error {
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, c.key(cartID), productID, quantity)
		p.PExpire(ctx, c.key(cartID), c.ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("orders: set cart line: %w", err)
	}
	return nil
}

// Remove removes a product from the cart.
func (c *Carts) Remove(ctx context.Context, cartID string, productID int64) error {
	if err := c.rdb.HDel(ctx, c.key(cartID), strconv.FormatInt(productID, 10)).Err(); err != nil {
		return fmt.Errorf("orders: remove cart line: %w", err)
	}
	return nil
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

// Count returns the number of units in the cart.
func (c *Carts) Count(ctx context.Context, cartID string) (int, error) {
	values, err := c.rdb.HVals(ctx, c.key(cartID)).Result()
	if err != nil {
		return 0, fmt.Errorf("orders: count cart: %w", err)
	}
	n := 0
	for _, v := range values {
		q, _ := strconv.Atoi(v)
		n += max(q, 0)
	}
	return n, nil
}

// Merge moves the lines of cart from into cart to (quantities add up, capped at
// MaxQuantity) and deletes from. It is used when an anonymous shopper signs in, when nothing
// else writes to from. It runs each line through the same single-key script as Add, so it
// works where the two keys live on different cluster shards.
func (c *Carts) Merge(ctx context.Context, from, to string) error {
	lines, err := c.Lines(ctx, from)
	if err != nil || len(lines) == 0 {
		return err
	}
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, l := range lines {
			addScript.Eval(ctx, p, []string{c.key(to)}, l.ProductID, l.Quantity, c.ttl.Milliseconds(), MaxQuantity)
		}
		p.Del(ctx, c.key(from))
		return nil
	})
	if err != nil {
		return fmt.Errorf("orders: merge carts: %w", err)
	}
	return nil
}

// releaseScript takes ARGV's (product id, quantity) pairs out of the cart KEYS[1]: each line
// loses the quantity given, and a line left at zero or below is removed. It is one script,
// so an Add that lands while it runs is kept whole.
var releaseScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  local n = redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i+1]))
  if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return redis.status_reply('OK')`)

// Release removes lines — the lines an order was placed with — from the cart, exactly their
// quantities: what was added to the cart since they were read stays in it.
func (c *Carts) Release(ctx context.Context, cartID string, lines []Line) error {
	if len(lines) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(lines))
	for _, l := range lines {
		args = append(args, l.ProductID, l.Quantity)
	}
	if err := releaseScript.Run(ctx, c.rdb, []string{c.key(cartID)}, args...).Err(); err != nil {
		return fmt.Errorf("orders: release cart lines: %w", err)
	}
	return nil
}
