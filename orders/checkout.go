package orders

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"
)

// productsChanged is what checkout needs of the catalog: evicting the cached pages of the
// products whose stock it took, unless the cache already holds the new versions.
type productsChanged interface {
	ProductsChanged(ctx context.Context, versions map[int64]int64)
}

// saleRecorder is what checkout needs of the bestseller boards: counting a placed order.
type saleRecorder interface {
	RecordSale(ctx context.Context, o Order) error
}

const (
	// afterCommitTimeout bounds the side effects that run after an order is committed. They
	// run on a context of their own, so a shopper closing the tab does not cut them short.
	afterCommitTimeout = 2 * time.Second
	// claimStale is the age after which a cart's claim is taken to be left by a checkout that
	// died (a checkout runs under a request deadline of seconds).
	claimStale = 2 * time.Minute
	// waitForOther bounds how long a checkout waits for another checkout of the same cart.
	waitForOther = 10 * time.Second
	// releaseLeft is how long after its order was placed a checkout still holding its claim
	// is taken to have failed to release it (Redis away or failing over after the commit):
	// its after-commit steps run for afterCommitTimeout at most, plus room for clock skew
	// between the shop and Postgres, whose clock stamps the order.
	releaseLeft = afterCommitTimeout + 3*time.Second
)

// ErrCheckoutRunning is returned by Place when another checkout of the cart is still
// running after waitForOther.
var ErrCheckoutRunning = errors.New("orders: another checkout of this cart is running")

// Checkout is the checkout workflow. It places one order per idempotency key and per cart,
// however often and however concurrently it is submitted:
//
//  1. It claims the cart in Redis (Carts.Claim). A second checkout of the same cart — a
//     double click, another tab — waits for the first, and gets the first's order back;
//     unless that order was placed more than releaseLeft ago and its claim is still held
//     (its release failed): then the second ends the claim and takes out the first's lines
//     for it, and goes on with what the cart holds now.
//  2. Holding the claim, a key that already placed an order gets that order back (a
//     resubmitted form, or a submission that arrived as the first one ended).
//  3. It reads the cart's lines and places the order in one Postgres transaction under its
//     key (Store.PlaceOrder); a unique index makes the key place at most one order even if
//     the claim were lost.
//  4. Only after the commit, in this order and in this one place: the cached pages of the
//     products it took stock from are evicted (delete-on-write); the order counts on the
//     bestseller boards (ZINCRBY); the claim ends and the ordered lines leave the cart —
//     exactly the quantities ordered, so a line added while the checkout ran stays.
//
// A failed side effect never undoes the order: it is logged, and caches catch up (TTL, the
// boards' repair loop). A checkout that fails before the commit ends its claim and leaves
// the cart as it was.
type Checkout struct {
	carts    *Carts
	store    *Store
	products productsChanged
	board    saleRecorder
	log      *slog.Logger
}

// NewCheckout returns the checkout workflow over carts and store, evicting through products
// and counting sales on board.
func NewCheckout(carts *Carts, store *Store, products productsChanged, board saleRecorder, logger *slog.Logger) *Checkout {
	return &Checkout{carts: carts, store: store, products: products, board: board, log: logger}
}

// Place places the order of userID's cart under key (from the checkout form; "" or a key
// that is not 16 to 64 letters, digits, '-' or '_' gets a random one) and returns it — or
// the order an earlier or concurrent checkout of the same key or cart placed. quoted is the
// QuoteDigest of the cart as the shopper saw it ("": no check); address is where the order
// goes (stored with it, as given). It returns the errors of
// PlaceOrder (*OutOfStockError, ErrEmptyCart, ErrMixedCurrency, ErrQuoteChanged), and then
// nothing was ordered and the cart is as it was; ErrCheckoutRunning; or Redis's or
// Postgres's error.
func (c *Checkout) Place(ctx context.Context, userID int64, key, quoted, address string) (Order, error) {
	if !ValidKey(key) {
		key = NewKey()
	}
	cart := UserCartID(userID)
	for {
		ok, holder, err := c.carts.Claim(ctx, cart, key, claimStale)
		if err != nil {
			return Order{}, err
		}
		if ok {
			break
		}
		o, placed, err := c.waitFor(ctx, userID, cart, holder)
		if err != nil || placed {
			return o, err
		}
		// The other checkout failed and let go of the cart: try for ourselves.
	}
	unclaim := func() {
		if err := c.carts.Unclaim(context.WithoutCancel(ctx), cart, key); err != nil {
			c.log.Warn("checkout ended without an order and its claim on the cart was not ended; it lapses", "err", err)
		}
	}

	// Holding the claim, a key that placed its order already (a resubmitted form, or a
	// submission that came as the first ended) gets that order: a checkout commits before
	// it lets go of the cart.
	order, err := c.store.FindOrderByKey(ctx, userID, key)
	if !errors.Is(err, ErrNotFound) {
		unclaim()
		return order, err
	}
	lines, err := c.carts.Lines(ctx, cart)
	if err == nil {
		order, err = c.store.PlaceOrder(ctx, userID, key, lines, quoted, address)
	}
	if errors.Is(err, ErrDuplicateKey) {
		// Placed by a checkout whose claim had lapsed: its own steps run after its commit.
		unclaim()
		return c.store.FindOrderByKey(ctx, userID, key)
	}
	if err != nil {
		unclaim()
		return Order{}, err
	}

	// Committed. From here on nothing can fail the order.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterCommitTimeout)
	defer cancel()
	versions := make(map[int64]int64, len(order.Items))
	for _, it := range order.Items {
		versions[it.ProductID] = it.ProductVersion
	}
	c.products.ProductsChanged(ctx, versions)
	if err := c.board.RecordSale(ctx, order); err != nil {
		c.log.Warn("order placed but the leaderboard was not updated; it will be rebuilt", "order", order.ID, "err", err)
	}
	if err := c.carts.Release(ctx, cart, key, lines); err != nil {
		// A cart left behind would offer to buy the same lines again: say so in the log.
		c.log.Error("order placed but its lines were not removed from the cart", "order", order.ID, "err", err)
	}
	return order, nil
}

// waitFor waits for the checkout holder, which claims cart, to end. placed is true when it
// placed an order (returned); false when it let go of the cart without one.
func (c *Checkout) waitFor(ctx context.Context, userID int64, cart, holder string) (o Order, placed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, waitForOther)
	defer cancel()
	pause := 10 * time.Millisecond
	for {
		o, err := c.store.FindOrderByKey(ctx, userID, holder)
		if err == nil && time.Since(o.CreatedAt) > releaseLeft {
			// The holder placed its order long ago but could not end its claim: finish
			// its last step for it (its lines leave the cart, once), then check out what
			// the cart holds now, instead of calling that old order this one's.
			if err := c.carts.Release(ctx, cart, holder, orderLines(o)); err != nil {
				return Order{}, false, err
			}
			return Order{}, false, nil
		}
		if err == nil {
			return o, true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Order{}, false, err
		}
		now, err := c.carts.Holder(ctx, cart)
		if err != nil {
			return Order{}, false, err
		}
		if now != holder {
			return Order{}, false, nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return Order{}, false, ErrCheckoutRunning
			}
			return Order{}, false, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// orderLines are the cart lines o was placed with.
func orderLines(o Order) []Line {
	lines := make([]Line, len(o.Items))
	for i, it := range o.Items {
		lines[i] = Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return lines
}

// NewKey returns a random idempotency key: 22 characters of URL-safe base64 (128 bits).
func NewKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidKey reports whether key is an idempotency key a form may carry: 16 to 64 letters,
// digits, '-' or '_'.
func ValidKey(key string) bool {
	if len(key) < 16 || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
