package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/testenv"
)

// TestAdminEmailOfAShopper starts the shop with SHOP_ADMIN_EMAIL naming an account that a
// shopper registered: the shop starts, the account stays a shopper's, and the log says why
// and how to promote it by hand.
func TestAdminEmailOfAShopper(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.SeededDBURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	hash, _ := bcrypt.GenerateFromPassword([]byte("squatter's own password"), bcrypt.MinCost)
	if _, err := conn.Exec(ctx, `INSERT INTO users (email, name, password_hash) VALUES ('boss@example.com', 'Squatter', $1)`, hash); err != nil {
		t.Fatal(err)
	}

	_, prefix := testenv.Redis(t)
	env := map[string]string{
		"SHOP_ADDR": "127.0.0.1:0", "SHOP_DATABASE_URL": dbURL, "SHOP_REDIS_URL": testenv.RedisURL(),
		"SHOP_REDIS_KEY_PREFIX": prefix, "SHOP_SEED": "false",
		"SHOP_ADMIN_EMAIL": "boss@example.com", "SHOP_ADMIN_PASSWORD": "the operator's password",
	}
	runCtx, cancel := context.WithCancel(ctx)
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(runCtx, []string{"shop", "serve"}, envFrom(env), io.Discard, logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v after shutdown, want nil", err)
		}
	}()
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == "" && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("run returned at start: %v; logs:\n%s", err, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if m := listeningLine.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("the shop never listened; logs:\n%s", logs)
	}
	// The port opens while the shop warms up: wait until it is built (the admin step done).
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shop never became ready; logs:\n%s", logs)
		}
	}

	var isAdmin bool
	if err := conn.QueryRow(ctx, `SELECT is_admin FROM users WHERE email = 'boss@example.com'`).Scan(&isAdmin); err != nil || isAdmin {
		t.Errorf("boss@example.com is_admin = %v (%v), want false: configuration promoted a shopper's account", isAdmin, err)
	}
	store := accounts.NewStore(testenv.Pool(t, dbURL), bcrypt.MinCost)
	if _, err := store.Authenticate(ctx, "boss@example.com", "squatter's own password"); err != nil {
		t.Errorf("the shopper's password was changed: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "boss@example.com", "is not an admin", "UPDATE users SET is_admin = true WHERE email = 'boss@example.com'", "another SHOP_ADMIN_EMAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up log lacks %q; logs:\n%s", want, out)
		}
	}
}
