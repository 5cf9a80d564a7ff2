package orders

import (
	"context"
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

// afterCommitTimeout bounds the side effects that run after an order is committed. They run
// on a context of their own, so a shopper closing the tab does not cut them short.
const afterCommitTimeout = 2 * time.Second

// Checkout is the checkout workflow: it reads the user's cart, places the order in one
// Postgres transaction (Store.PlaceOrder), and only after the commit runs its side effects,
// in this order and in this one place:
//
//  1. the cached pages of the products it took stock from are evicted (delete-on-write);
//  2. the order counts on the bestseller boards (ZINCRBY);
//  3. the ordered lines leave the cart — exactly the quantities ordered, so a line added
//     while the checkout ran stays in the cart.
//
// A failed side effect never undoes the order: it is logged, and caches catch up (TTL, the
// boards' repair loop).
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

// Place places the order of userID's cart and returns it. It returns the errors of
// PlaceOrder (*OutOfStockError, ErrEmptyCart, ErrMixedCurrency), and then nothing was
// ordered and the cart is as it was; or Redis's error when the cart cannot be read.
func (c *Checkout) Place(ctx context.Context, userID int64) (Order, error) {
	cart := UserCartID(userID)
	lines, err := c.carts.Lines(ctx, cart)
	if err != nil {
		return Order{}, err
	}
	order, err := c.store.PlaceOrder(ctx, userID, lines)
	if err != nil {
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
	if err := c.carts.Release(ctx, cart, lines); err != nil {
		// A cart left behind would offer to buy the same lines again: say so in the log.
		c.log.Error("order placed but its lines were not removed from the cart", "order", order.ID, "err", err)
	}
	return order, nil
}
