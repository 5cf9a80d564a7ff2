package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/internal/testenv"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		email, password string
		want            error
	}{
		{"ann@example.com", "a fine long password", nil},
		{"ann@example.com", "correct horse battery", nil},
		{"ann@example.com", "1234567", accounts.ErrPasswordTooShort},
		{"ann@example.com", "héllo", accounts.ErrPasswordTooShort},
		{"ann@example.com", "12345678", accounts.ErrPasswordCommon},
		{"ann@example.com", "password", accounts.ErrPasswordCommon},
		{"ann@example.com", "PASSWORD", accounts.ErrPasswordCommon},
		{"ann@example.com", "baseball", accounts.ErrPasswordCommon},
		{"ann@example.com", "iloveyou", accounts.ErrPasswordCommon},
		{"ann@example.com", "qwertyuiop", accounts.ErrPasswordCommon},
		{"annabelle@example.com", "annabelle@example.com", accounts.ErrPasswordIsEmail},
		{"annabelle@example.com", "AnnaBelle@Example.COM", accounts.ErrPasswordIsEmail},
		{" annabelle@example.com ", "annabelle@example.com", accounts.ErrPasswordIsEmail},
		{"annabelle@example.com", "ANNABELLE", accounts.ErrPasswordIsEmail},
		{"annabelle@example.com", "annabelle plus", nil},
		{"ann@example.com", strings.Repeat("x", 72), nil},
		{"ann@example.com", strings.Repeat("x", 73), accounts.ErrPasswordTooLong},
		{"ann@example.com", strings.Repeat("é", 37), accounts.ErrPasswordTooLong}, // 37 characters, 74 bytes
	}
	for _, tt := range tests {
		if err := accounts.CheckPassword(tt.email, tt.password); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.email, tt.password, err, tt.want)
		}
	}
}

// TestRegisterRefusesWeakPasswords: the store enforces the rules too, whoever calls it.
func TestRegisterRefusesWeakPasswords(t *testing.T) {
	ctx := context.Background()
	pool := testenv.DB(t)
	store := accounts.NewStore(pool, bcrypt.MinCost)
	for _, pw := range []string{"12345678", "password", "zoe@example.com", "short"} {
		if _, err := store.Register(ctx, "zoe@example.com", "Zoe", pw); err == nil {
			t.Errorf("Register with password %q succeeded, want an error", pw)
		}
	}
	if _, err := store.EnsureAdmin(ctx, "root@example.com", "12345678"); !errors.Is(err, accounts.ErrPasswordCommon) {
		t.Errorf("EnsureAdmin with password 12345678 = %v, want ErrPasswordCommon", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 0 {
		t.Errorf("users = %d (%v), want 0", n, err)
	}
}
