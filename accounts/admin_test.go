package accounts_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/sessions"
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

// TestChangedAdminPasswordEndsAdminSessions: when SHOP_ADMIN_PASSWORD changes, the next start
// ends every session of the admin; the same password at a restart ends none.
func TestChangedAdminPasswordEndsAdminSessions(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testenv.Redis(t)
	cache.NewGuard(cache.GuardOptions{}).Install(rdb)
	store := sessions.New(rdb, prefix+"session:", func(id int64) string { return prefix + "index:" + strconv.FormatInt(id, 10) }, time.Hour)
	users := accounts.NewCached(accounts.NewStore(testenv.DB(t), bcrypt.MinCost), cache.New(rdb, cache.Options{Prefix: prefix}),
		cache.DefaultPolicy(), cache.L1Options{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))

	admin, err := users.EnsureAdmin(ctx, "admin@example.com", "first admin password")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CommitCtx(sessions.ForUser(ctx, admin.ID), "admintok", []byte("signed in"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	signedIn := func() bool { return rdb.Exists(ctx, prefix+"session:admintok").Val() == 1 }

	if _, err := users.EnsureAdmin(ctx, "admin@example.com", "first admin password"); err != nil {
		t.Fatal(err)
	}
	if !signedIn() {
		t.Error("a restart with the same admin password ended the admin's session")
	}
	if _, err := users.EnsureAdmin(ctx, "admin@example.com", "second admin password"); err != nil {
		t.Fatal(err)
	}
	if signedIn() {
		t.Error("a changed admin password left the admin's session open")
	}
}
