package richtext_test

import (
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/richtext"
)

// TestSanitizeRemovesHostileHTML feeds the attacks a pasted description could carry and
// checks that none survives while the safe formatting does.
func TestSanitizeRemovesHostileHTML(t *testing.T) {
	hostile := `<p>Soft <b>cotton</b> &trade;<br>two sizes</p>` +
		`<script>alert(1)</script>` +
		`<img src=x onerror="alert(2)">` +
		`<a href="javascript:alert(3)">click</a>` +
		`<a href="JaVaScRiPt:alert(4)">click</a>` +
		`<a href="https://example.com/x" onclick="alert(5)">ok</a>` +
		`<p style="background:url(javascript:alert(6))" onmouseover="alert(7)">styled</p>` +
		`<style>body{display:none}</style>` +
		`<iframe src="https://evil.example"></iframe>` +
		`<svg onload="alert(8)"></svg>` +
		`<ul><li>one</li><li>two</li></ul>` +
		`<form action="/logout"><button>x</button></form>`
	got := richtext.Sanitize(hostile)
	lower := strings.ToLower(got)
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "onmouseover", "onload",
		"javascript:", "style=", "<style", "<img", "<iframe", "<svg", "<form", "<button", "display:none"} {
		if strings.Contains(lower, bad) {
			t.Errorf("sanitised description still holds %q:\n%s", bad, got)
		}
	}
	for _, kept := range []string{"<p>Soft <b>cotton</b> ™<br>two sizes</p>", "<ul><li>one</li><li>two</li></ul>",
		`<a href="https://example.com/x" rel="nofollow">ok</a>`, "<p>styled</p>"} {
		if !strings.Contains(got, kept) {
			t.Errorf("sanitised description lost %q:\n%s", kept, got)
		}
	}
}

func TestHTMLOfPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"Soft cotton.\n\nTwo sizes,\nthree colours.": "<p>Soft cotton.</p><p>Two sizes,<br>three colours.</p>",
		"a < b & c":          "<p>a &lt; b &amp; c</p>",
		"<p>already</p>":     "<p>already</p>",
		"":                   "",
		"<script>x</script>": "",
	} {
		if got := string(richtext.HTML(in)); got != want {
			t.Errorf("HTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlainName(t *testing.T) {
	for in, want := range map[string]string{
		"Caf&eacute; Mug &trade;":            "Café Mug ™",
		"Fish &amp; Chips":                   "Fish & Chips",
		"<b>Bold</b> name<script>x</script>": "Bold name",
		"A < B":                              "A < B",
	} {
		if got := richtext.PlainName(in); got != want {
			t.Errorf("PlainName(%q) = %q, want %q", in, got, want)
		}
	}
}
