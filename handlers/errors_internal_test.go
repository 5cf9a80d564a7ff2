package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"

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
