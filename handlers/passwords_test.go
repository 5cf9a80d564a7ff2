package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/testenv"
)

// TestSignUpPasswordRules: sign-up refuses passwords under 8 characters, over bcrypt's 72
// bytes, on the list of the 10,000 most common, or equal to the e-mail or its local part
// (NIST SP 800-63B §5.1.1.2), with a message next to the field; the form explains the rules.
func TestSignUpPasswordRules(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	s := newShopper(t, shop.URL)
	expect(t, "GET /register", s.get("/register"), http.StatusOK, "72 bytes", "bcrypt")

	tests := []struct {
		email, password, want string
	}{
		{"lena@example.com", "12345678", "among the 10,000 most common"},
		{"lena@example.com", "password", "among the 10,000 most common"},
		{"lena@example.com", "Password", "among the 10,000 most common"},
		{"lena.smith@example.com", "lena.smith@example.com", "can&#39;t be your e-mail address"},
		{"lena.smith@example.com", "LENA.SMITH@EXAMPLE.COM", "can&#39;t be your e-mail address"},
		{"lena.smith@example.com", "Lena.Smith", "can&#39;t be your e-mail address"},
		{"lena@example.com", "short", "at least 8 characters"},
		{"lena@example.com", strings.Repeat("p", 73), "at most 72 bytes"},
	}
	for _, tt := range tests {
		r := s.post("/register", url.Values{"email": {tt.email}, "name": {"Lena"}, "password": {tt.password}})
		expect(t, "register with password "+tt.password, r, http.StatusUnprocessableEntity, tt.want)
	}
	var n int
	if err := shop.pool.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 0 {
		t.Errorf("users = %d (%v) after refused sign-ups, want 0", n, err)
	}
	s.register("lena@example.com", "Lena", "lena likes long walks")
}
