package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
)

// TestClassifyClosedConnection: after Postgres crashed mid-transaction, the transaction's
// next statement finds its connection closed (pgconn's "conn closed", never sent): a 503, as
// the crash itself is, not a 500 (found by the chaos suite: a checkout during a crash).
func TestClassifyClosedConnection(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT 1")
	if err == nil {
		t.Fatal("a statement on a closed connection succeeded")
	}
	if status, _ := classify(fmt.Errorf("orders: place order: %w", err)); status != http.StatusServiceUnavailable {
		t.Errorf("classify(%v) = %d, want 503", err, status)
	}
	if status, _ := classify(errors.New("orders: a bug")); status != http.StatusInternalServerError {
		t.Errorf("classify(a plain error) = %d, want 500", status)
	}
}

// TestClassifyReadOnlyReplica: a write that reached a primary demoted by a failover (READONLY,
// here from a real replica; a script says it inside its own error) is a 503, not a 500
// (found by the chaos suite: a checkout's claim on the cart during a failover).
func TestClassifyReadOnlyReplica(t *testing.T) {
	g := testenv.StartReplicated(t)
	script := redis.NewScript(`return redis.call('SET', KEYS[1], 'x')`)
	err := script.Run(context.Background(), g.R, []string{"k"}).Err()
	if err == nil {
		t.Fatal("a write on the replica succeeded")
	}
	if status, _ := classify(fmt.Errorf("orders: claim cart: %w", err)); status != http.StatusServiceUnavailable {
		t.Errorf("classify(%v) = %d, want 503", err, status)
	}
}
