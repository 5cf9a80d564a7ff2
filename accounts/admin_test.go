package accounts_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/testenv"
)

// TestEnsureAdminNeverPromotes: registering the e-mail an operator later puts in
// SHOP_ADMIN_EMAIL must not make that account an admin, nor let configuration change its
// password; a new e-mail becomes the admin, and an existing admin gets the configured password.
func TestEnsureAdminNeverPromotes(t *testing.T) {
	ctx := context.Background()
	store := accounts.NewStore(testenv.DB(t), bcrypt.MinCost)

	squatter, err := store.Register(ctx, "boss@example.com", "Not the boss", "squatter's own password")
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.EnsureAdmin(ctx, " Boss@Example.com", "the operator's password")
	if !errors.Is(err, accounts.ErrNotAdmin) {
		t.Fatalf("EnsureAdmin of a shopper's e-mail = %v, want ErrNotAdmin", err)
	}
	u, err := store.FindUser(ctx, squatter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.IsAdmin || u.Version != squatter.Version {
		t.Errorf("after EnsureAdmin the shopper is admin=%v version=%d, want false and %d (untouched)", u.IsAdmin, u.Version, squatter.Version)
	}
	if _, err := store.Authenticate(ctx, "boss@example.com", "the operator's password"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Errorf("the configured password opens the shopper's account: %v", err)
	}
	if _, err := store.Authenticate(ctx, "boss@example.com", "squatter's own password"); err != nil {
		t.Errorf("the shopper's own password no longer works: %v", err)
	}

	// A new e-mail is created as the admin; at the next start its password is the configured one.
	admin, err := store.EnsureAdmin(ctx, "admin@example.com", "first admin password")
	if err != nil || !admin.IsAdmin {
		t.Fatalf("EnsureAdmin(new) = %+v, %v; want an admin", admin, err)
	}
	again, err := store.EnsureAdmin(ctx, "admin@example.com", "second admin password")
	if err != nil || !again.IsAdmin || again.ID != admin.ID {
		t.Fatalf("EnsureAdmin(existing admin) = %+v, %v; want the same admin", again, err)
	}
	if _, err := store.Authenticate(ctx, "admin@example.com", "second admin password"); err != nil {
		t.Errorf("the admin's new configured password does not work: %v", err)
	}
}
