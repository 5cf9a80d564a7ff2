package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/testenv"
)

// TestLoginRedirectStaysOnSite signs in with next set to what browsers read as another site
// once they have normalised the Location header as the WHATWG URL Standard says (tabs and
// newlines removed, leading C0 controls and spaces stripped, "\" read as "/"), and checks
// that the shop sends the shopper to "/" instead; paths on the site are kept.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	newShopper(t, shop.URL).register("nora@example.com", "Nora", "a fine long password")

	tests := []struct {
		name, next, want string
	}{
		{"site path", "/cart", "/cart"},
		{"site path with query", "/search?q=heart&page=2", "/search?q=heart&page=2"},
		{"encoded slashes stay a path", "/%2F%2Fevil.example", "/%2F%2Fevil.example"},
		{"empty", "", "/"},
		{"scheme-relative", "//evil.example", "/"},
		{"three slashes", "///evil.example", "/"},
		{"tab after slash", "/\t/evil.example", "/"},
		{"form of /%09/", "/%09/evil.example", "/%09/evil.example"}, // a literal %09 stays encoded: a path
		{"newline after slash", "/\n/evil.example", "/"},
		{"CR LF after slash", "/\r\n/evil.example", "/"},
		{"backslash", "\\evil.example", "/"},
		{"slash backslash", "/\\evil.example", "/"},
		{"two backslashes", "\\\\evil.example", "/"},
		{"backslash later", "/a\\b", "/"},
		{"decoded %2F%2F", "//evil.example/", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"javascript after slash", "/javascript:alert(1)", "/javascript:alert(1)"},
		{"https", "https://evil.example/", "/"},
		{"https without slashes", "https:evil.example", "/"},
		{"scheme-relative with user", "//shop@evil.example", "/"},
		{"leading space", " //evil.example", "/"},
		{"leading spaces then path", "  /cart", "/"},
		{"no leading slash", "evil.example", "/"},
		{"NEL control", "/\u0085/evil.example", "/"},
		{"no-break space", "\u00a0//evil.example", "/"},
		{"line separator", "/\u2028/evil.example", "/"},
		{"zero-width space", "/\u200b/evil.example", "/"},
		{"fullwidth solidus", "/\uff0fevil.example", "/%ef%bc%8fevil.example"}, // http.Redirect escapes non-ASCII
		{"dot segment", "/./\\evil.example", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newShopper(t, shop.URL)
			r := s.post("/login", url.Values{"email": {"nora@example.com"}, "password": {"a fine long password"}, "next": {tt.next}})
			if r.status != http.StatusSeeOther || r.location != tt.want {
				t.Errorf("POST /login next=%q = %d to %q, want 303 to %q", tt.next, r.status, r.location, tt.want)
			}
		})
	}

	// The link a browser follows: the form carries only a site path.
	for raw, want := range map[string]string{
		"/%09/evil.example":  `name="next" value="/"`,
		"%2F%2Fevil.example": `name="next" value="/"`,
		"%2Fcart":            `name="next" value="/cart"`,
	} {
		r := newShopper(t, shop.URL).get("/login?next=" + raw)
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Errorf("GET /login?next=%s = %d, want 200 with %s", raw, r.status, want)
		}
	}
}
