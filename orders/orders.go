// Package orders holds what a shopper buys: carts in Redis hashes, and orders in Postgres,
// placed by a checkout that runs in one transaction. It knows nothing of HTTP or sessions.
package orders

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrNotFound is returned for an order that does not exist or is not the user's.
	ErrNotFound = errors.New("orders: not found")
	// ErrEmptyCart is returned by PlaceOrder for a cart without lines.
	ErrEmptyCart = errors.New("orders: the cart is empty")
	// ErrMixedCurrency is returned by PlaceOrder for a cart whose products are priced in
	// different currencies (possible only with both data sets loaded).
	ErrMixedCurrency = errors.New("orders: the cart mixes currencies")
	// ErrQuoteChanged is returned by PlaceOrder when the cart's lines or prices are not the
	// ones the shopper was shown (a price changed, a line was added elsewhere).
	ErrQuoteChanged = errors.New("orders: the cart or its prices changed since they were shown")
	// ErrDuplicateKey is returned by PlaceOrder when the user already has an order under
	// the idempotency key.
	ErrDuplicateKey = errors.New("orders: an order with this idempotency key exists")
)

// OutOfStockError is returned by PlaceOrder when a line asks for more than is in stock, or
// for a product that is not for sale. Nothing was written.
type OutOfStockError struct {
	ProductID int64
	Name      string
	Available int // units in stock when the order was refused
	Wanted    int
}

func (e *OutOfStockError) Error() string {
	return fmt.Sprintf("orders: %q: %d wanted, %d in stock", e.Name, e.Wanted, e.Available)
}

// Item is one line of an order.
type Item struct {
	ProductID int64
	Name      string
	Quantity  int
	UnitPrice int64 // minor units of the order's currency, as charged
	// ProductVersion is the product's version once this order took its stock (PlaceOrder
	// only): caches holding an older version are stale.
	ProductVersion int64
}

// Subtotal is Quantity × UnitPrice in minor units.
func (it Item) Subtotal() int64 { return int64(it.Quantity) * it.UnitPrice }

// Order is an order placed in the shop.
type Order struct {
	ID        int64
	UserID    int64
	Currency  string // ISO 4217
	Total     int64  // minor units: the lines' subtotals plus Delivery
	Delivery  int64  // the delivery charge in minor units (DeliveryCharge), VAT included
	Units     int    // sum of quantities
	CreatedAt time.Time
	// ShippingAddress is the address the shopper confirmed at checkout, free text; "" for
	// imported history and orders placed before addresses were asked for.
	ShippingAddress string
	// Status is where the order stands: "placed", "dispatched", "delivered" or "cancelled".
	Status string
	Items  []Item // filled by FindOrder and PlaceOrder, not by ListOrders
}

// LinesTotal is the order's total without delivery, in minor units.
func (o Order) LinesTotal() int64 { return o.Total - o.Delivery }

// VAT is the VAT included in the order's total (VATIncluded), in minor units.
func (o Order) VAT() int64 { return VATIncluded(o.Total) }

// StatusText describes Status for the shopper.
func (o Order) StatusText() string {
	switch o.Status {
	case "placed":
		return "Placed: being packed for dispatch"
	case "dispatched":
		return "Dispatched: on its way"
	case "delivered":
		return "Delivered"
	case "cancelled":
		return "Cancelled"
	}
	return o.Status
}

// Store places and reads orders in Postgres.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// PlaceOrder places an order of lines for userID, to be shipped to address, in one
// transaction: the order under its idempotency key with its delivery charge
// (DeliveryCharge), its lines at the products' current prices, and each product's stock
// decremented — guarded so stock never goes below zero. With quoted set (the QuoteDigest of
// the cart the shopper saw), it places the order only if its lines and prices are exactly
// those. It returns *OutOfStockError (for the first line that cannot be served),
// ErrEmptyCart, ErrMixedCurrency or ErrQuoteChanged, and then nothing is written;
// ErrDuplicateKey when userID already has an order under key.
func (s *Store) PlaceOrder(ctx context.Context, userID int64, key string, lines []Line, quoted, address string) (Order, error) {
	if len(lines) == 0 {
		return Order{}, ErrEmptyCart
	}
	order := Order{UserID: userID, ShippingAddress: address, Status: "placed"}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO orders (user_id, kind, idempotency_key, shipping_address) VALUES ($1, 'sale', $2, $3)
			RETURNING id, created_at`, userID, key, address).Scan(&order.ID, &order.CreatedAt)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "orders_idempotency_idx" {
			return ErrDuplicateKey
		}
		if err != nil {
			return err
		}
		// Lines come sorted by product id, so concurrent checkouts lock rows in one order
		// and cannot deadlock.
		for i, l := range lines {
			item := Item{ProductID: l.ProductID, Quantity: l.Quantity}
			var currency string
			err := tx.QueryRow(ctx, `UPDATE products SET stock = stock - $2, version = version + 1, updated_at = now()
				WHERE id = $1 AND merchandise AND stock >= $2
				RETURNING name, price, currency, version`, l.ProductID, l.Quantity).Scan(&item.Name, &item.UnitPrice, &currency, &item.ProductVersion)
			if errors.Is(err, pgx.ErrNoRows) {
				return outOfStock(ctx, tx, l)
			}
			if err != nil {
				return err
			}
			if order.Currency == "" {
				order.Currency = currency
			} else if currency != order.Currency {
				return ErrMixedCurrency
			}
			_, err = tx.Exec(ctx, `INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
				VALUES ($1, $2, $3, $4, $5)`, order.ID, i+1, l.ProductID, l.Quantity, item.UnitPrice)
			if err != nil {
				return err
			}
			order.Items = append(order.Items, item)
			order.Total += item.Subtotal()
			order.Units += item.Quantity
		}
		if quoted != "" && quoted != QuoteDigest(quotesOf(order.Items, order.Currency)) {
			return ErrQuoteChanged
		}
		order.Delivery = DeliveryCharge(order.Total)
		order.Total += order.Delivery
		_, err = tx.Exec(ctx, `UPDATE orders SET currency = $2, delivery = $3 WHERE id = $1`, order.ID, order.Currency, order.Delivery)
		return err
	})
	if err != nil {
		var oos *OutOfStockError
		if errors.As(err, &oos) || errors.Is(err, ErrMixedCurrency) || errors.Is(err, ErrDuplicateKey) || errors.Is(err, ErrQuoteChanged) {
			return Order{}, err
		}
		return Order{}, fmt.Errorf("orders: place order for user %d: %w", userID, err)
	}
	return order, nil
}

// outOfStock builds the error for a line the guarded update refused.
func outOfStock(ctx context.Context, tx pgx.Tx, l Line) error {
	e := &OutOfStockError{ProductID: l.ProductID, Wanted: l.Quantity}
	var merchandise bool
	err := tx.QueryRow(ctx, `SELECT name, stock, merchandise FROM products WHERE id = $1`, l.ProductID).
		Scan(&e.Name, &e.Available, &merchandise)
	if errors.Is(err, pgx.ErrNoRows) {
		e.Name = fmt.Sprintf("product %d (no longer sold)", l.ProductID)
		return e
	}
	if err != nil {
		return err
	}
	if !merchandise {
		e.Available = 0
	}
	return e
}

// ListOrders returns the orders userID placed, newest first, with totals but not items.
func (s *Store) ListOrders(ctx context.Context, userID int64) ([]Order, error) {
	rows, _ := s.pool.Query(ctx, `SELECT o.id, o.user_id, o.currency, o.created_at, o.status, o.delivery,
			coalesce(sum(i.quantity * i.unit_price), 0) + o.delivery, coalesce(sum(i.quantity), 0)
		FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
		WHERE o.user_id = $1
		GROUP BY o.id ORDER BY o.created_at DESC, o.id DESC`, userID)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Order, error) {
		var o Order
		err := row.Scan(&o.ID, &o.UserID, &o.Currency, &o.CreatedAt, &o.Status, &o.Delivery, &o.Total, &o.Units)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("orders: list orders of user %d: %w", userID, err)
	}
	return list, nil
}

// FindOrderByKey returns the order userID placed under idempotency key, with its items, or
// ErrNotFound.
func (s *Store) FindOrderByKey(ctx context.Context, userID int64, key string) (Order, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2`, userID, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, fmt.Errorf("orders: order with key: %w", ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("orders: order with key: %w", err)
	}
	return s.FindOrder(ctx, userID, id)
}

// FindOrder returns order id with its items if userID placed it, else ErrNotFound.
func (s *Store) FindOrder(ctx context.Context, userID, id int64) (Order, error) {
	o := Order{ID: id, UserID: userID}
	err := s.pool.QueryRow(ctx, `SELECT currency, created_at, shipping_address, delivery, status
		FROM orders WHERE id = $1 AND user_id = $2`,
		id, userID).Scan(&o.Currency, &o.CreatedAt, &o.ShippingAddress, &o.Delivery, &o.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, fmt.Errorf("orders: find order %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("orders: find order %d: %w", id, err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT i.product_id, p.name, i.quantity, i.unit_price, 0
		FROM order_items i JOIN products p ON p.id = i.product_id
		WHERE i.order_id = $1 ORDER BY i.line_no`, id)
	o.Items, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Item])
	if err != nil {
		return Order{}, fmt.Errorf("orders: items of order %d: %w", id, err)
	}
	o.Total = o.Delivery
	for _, it := range o.Items {
		o.Total += it.Subtotal()
		o.Units += it.Quantity
	}
	return o, nil
}

// Quote is one cart line as a shopper was shown it.
type Quote struct {
	ProductID int64
	Quantity  int
	UnitPrice int64  // minor units of Currency
	Currency  string // ISO 4217
}

// QuoteDigest is a short fingerprint of what a shopper was shown of a cart: its lines with
// their quantities and prices, in any order. The cart page's checkout form carries it, and
// PlaceOrder places nothing when the cart it would order has another: 16 hex characters of
// a SHA-256.
func QuoteDigest(quotes []Quote) string {
	sorted := slices.Clone(quotes)
	slices.SortFunc(sorted, func(a, b Quote) int { return cmp.Compare(a.ProductID, b.ProductID) })
	h := sha256.New()
	for _, q := range sorted {
		fmt.Fprintf(h, "%d:%d:%d:%s;", q.ProductID, q.Quantity, q.UnitPrice, q.Currency)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func quotesOf(items []Item, currency string) []Quote {
	quotes := make([]Quote, len(items))
	for i, it := range items {
		quotes[i] = Quote{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice, Currency: currency}
	}
	return quotes
}
