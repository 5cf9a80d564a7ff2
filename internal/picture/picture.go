// Package picture draws a product's picture without the internet: a small SVG made, the
// same every time, from the product's category (a glyph), the colour words of its name (the
// colours), its code (a pattern) and the initials of its name. No data set ships photos
// locally (dummyjson links to a CDN, online-retail has none), so every product gets one.
package picture

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"html"
	"strings"
	"unicode"
)

// generator names the drawing rules; bump it when SVG's output changes, so that every
// picture gets a new URL and no browser keeps an old drawing.
const generator = "2"

// Subject is what a picture is drawn from.
type Subject struct {
	SKU, Name, Category string
}

// Design is what SVG draws for a subject: exported so that tests can tell two pictures
// apart the way a shopper would.
type Design struct {
	Background, Accent string // CSS colours
	Pattern            string // one of patterns
	Glyph              string // the category's glyph, one of glyphs' keys or "dot"
	Initials           string // up to two letters or digits
	Turn               int    // the pattern's angle in degrees, 0–165
}

// colours are the colour words of the real names (upper case) and the colours they draw.
var colours = map[string]string{
	"RED": "#c62828", "PINK": "#e91e63", "BLUE": "#1e63b4", "GREEN": "#2e7d32",
	"WHITE": "#f4f1ea", "BLACK": "#263238", "IVORY": "#efe6cf", "CREAM": "#f3e5c0",
	"SILVER": "#9ea7ad", "GOLD": "#c9a227", "PURPLE": "#6a1b9a", "YELLOW": "#f9c80e",
	"ORANGE": "#ef6c00", "BROWN": "#6d4c41", "TURQUOISE": "#00897b", "LILAC": "#b39ddb",
	"LAVENDER": "#9575cd", "AMBER": "#ffa000", "GREY": "#78909c", "NAVY": "#1a237e",
	"COPPER": "#b87333", "ROSE": "#d81b60", "MINT": "#7bc8a4", "JADE": "#00a86b",
	"RASPBERRY": "#b0124f", "AQUA": "#26c6da", "TEAL": "#00796b", "LIME": "#9ccc65",
	"ZINC": "#8d99a3", "NATURAL": "#d7c4a3", "CHOCOLATE": "#5d4037", "STRAWBERRY": "#e53935",
}

// hues are the colours of subjects whose name has no colour word, picked by their code.
var hues = []string{"#5c6bc0", "#26a69a", "#ef5350", "#ab47bc", "#ffa726", "#66bb6a",
	"#42a5f5", "#ec407a", "#8d6e63", "#7e57c2", "#29b6f6", "#d4e157"}

// patterns are the backgrounds a subject's code picks from.
var patterns = []string{"dots", "stripes", "checks", "waves", "rings", "diamonds"}

// glyphs are the category marks, as SVG path data in a 100×100 box.
var glyphs = map[string]string{
	"christmas":            "M50 5 L61 38 L95 38 L67 58 L78 92 L50 71 L22 92 L33 58 L5 38 L39 38 Z",
	"candles and lights":   "M50 8 C62 26 66 38 50 52 C34 38 38 26 50 8 Z M38 56 H62 V95 H38 Z",
	"bags":                 "M18 35 H82 L88 95 H12 Z M35 35 C35 10 65 10 65 35",
	"kitchen and dining":   "M15 25 H70 V70 C70 88 15 88 15 70 Z M70 35 C92 35 92 60 70 60",
	"home decor":           "M50 90 C10 60 5 35 25 20 C38 10 50 22 50 30 C50 22 62 10 75 20 C95 35 90 60 50 90 Z",
	"stationery and cards": "M20 80 L70 10 L85 22 L35 92 L15 95 Z",
	"toys and games":       "M15 15 H50 V50 H15 Z M50 50 H85 V85 H50 Z M55 15 H85 V45 H55 Z",
	"garden":               "M50 95 V50 M50 50 C20 50 15 20 50 10 C85 20 80 50 50 50 Z",
	"jewellery":            "M30 10 H70 L90 35 L50 92 L10 35 Z",
	"signs":                "M10 20 H90 V70 H10 Z M45 70 V95 H55 V70",
}

// glyphAliases give dummyjson's categories the glyph of the nearest default category.
var glyphAliases = map[string]string{
	"home decoration": "home decor", "furniture": "home decor", "kitchen accessories": "kitchen and dining",
	"groceries": "kitchen and dining", "womens bags": "bags", "womens jewellery": "jewellery",
}

func sum(s Subject) [32]byte {
	return sha256.Sum256([]byte(generator + "\x00" + s.SKU + "\x00" + s.Name + "\x00" + s.Category))
}

// Version is a short hash of everything the picture is drawn from (and of the drawing
// rules): part of the picture's URL and its ETag, so the URL can be cached forever.
func Version(s Subject) string {
	h := sum(s)
	return hex.EncodeToString(h[:6])
}

// DesignOf returns the design of subject s.
func DesignOf(s Subject) Design {
	h := sum(s)
	n := binary.BigEndian.Uint64(h[8:16])
	var found []string
	words := strings.FieldsFunc(strings.ToUpper(s.Name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if c, ok := colours[w]; ok && (len(found) == 0 || found[len(found)-1] != c) {
			found = append(found, c)
		}
	}
	d := Design{
		Background: hues[n%uint64(len(hues))],
		Accent:     hues[(n/16)%uint64(len(hues))],
		Pattern:    patterns[(n/256)%uint64(len(patterns))],
		Turn:       int((n/4096)%12) * 15,
		Glyph:      "dot",
	}
	if len(found) > 0 {
		d.Background = found[0]
	}
	if len(found) > 1 {
		d.Accent = found[1]
	}
	if d.Accent == d.Background {
		d.Accent = hues[(n/16+1)%uint64(len(hues))]
	}
	c := strings.ToLower(s.Category)
	if alias, ok := glyphAliases[c]; ok {
		c = alias
	}
	if _, ok := glyphs[c]; ok {
		d.Glyph = c
	}
	for _, w := range words {
		if len(d.Initials) == 2 {
			break
		}
		r := []rune(w)[0]
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			d.Initials += string(r)
		}
	}
	return d
}

// SVG returns the picture of s: 320×240, a patterned background, the category's glyph and
// the initials of the name, with the name as its accessible title.
func SVG(s Subject) []byte {
	d := DesignOf(s)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 240" width="320" height="240" role="img"><title>%s</title>`, html.EscapeString(s.Name))
	fmt.Fprintf(&b, `<defs><pattern id="p" width="40" height="40" patternUnits="userSpaceOnUse" patternTransform="rotate(%d)">`, d.Turn)
	switch d.Pattern {
	case "dots":
		fmt.Fprintf(&b, `<circle cx="10" cy="10" r="5" fill="%s"/><circle cx="30" cy="30" r="5" fill="%[1]s"/>`, d.Accent)
	case "stripes":
		fmt.Fprintf(&b, `<rect width="40" height="14" fill="%s"/>`, d.Accent)
	case "checks":
		fmt.Fprintf(&b, `<rect width="20" height="20" fill="%s"/><rect x="20" y="20" width="20" height="20" fill="%[1]s"/>`, d.Accent)
	case "waves":
		fmt.Fprintf(&b, `<path d="M0 20 Q10 5 20 20 T40 20" fill="none" stroke="%s" stroke-width="5"/>`, d.Accent)
	case "rings":
		fmt.Fprintf(&b, `<circle cx="20" cy="20" r="12" fill="none" stroke="%s" stroke-width="4"/>`, d.Accent)
	case "diamonds":
		fmt.Fprintf(&b, `<path d="M20 4 L36 20 L20 36 L4 20 Z" fill="%s"/>`, d.Accent)
	}
	b.WriteString(`</pattern></defs>`)
	fmt.Fprintf(&b, `<rect width="320" height="240" fill="%s"/><rect width="320" height="240" fill="url(#p)" opacity="0.45"/>`, d.Background)
	b.WriteString(`<circle cx="140" cy="132" r="78" fill="#fff" opacity="0.88"/>`)
	if path, ok := glyphs[d.Glyph]; ok {
		fmt.Fprintf(&b, `<circle cx="262" cy="58" r="40" fill="#fff" opacity="0.88"/><path transform="translate(236 32) scale(0.52)" d="%s" fill="%s" stroke="#222" stroke-width="4"/>`, path, d.Background)
	}
	fmt.Fprintf(&b, `<text x="140" y="154" text-anchor="middle" font-family="Georgia, serif" font-size="64" font-weight="bold" fill="#222">%s</text></svg>`, html.EscapeString(d.Initials))
	return []byte(b.String())
}
