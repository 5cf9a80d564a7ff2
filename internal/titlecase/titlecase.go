// Package titlecase turns the shouted, upper-case product names of the real catalogs
// ("WHITE HANGING HEART T-LIGHT HOLDER") into names a shopper reads ("White Hanging Heart
// T-Light Holder"), keeping the source text wherever case carries meaning: acronyms (LED,
// TV), sizes and codes (S/4, 12, 3D, 40x40cm) and words already written in mixed case.
package titlecase

import (
	"html"
	"strings"
	"unicode"
)

// Kept are the upper-case tokens that stay upper case: acronyms found in the real names of
// internal/dataset/data (LED, CD, TV, WC, PC, VIP, …) and a few common ones.
var Kept = map[string]bool{
	"LED": true, "CD": true, "DVD": true, "TV": true, "PC": true, "WC": true, "VIP": true,
	"UK": true, "USA": true, "USB": true, "DIY": true, "UFO": true, "XL": true, "XXL": true,
	"GB": true, "NYC": true, "BBQ": true, "ABC": true, "PVC": true, "DJ": true, "OK": true,
}

// minor are the words written in lower case inside a title (not first).
var minor = map[string]bool{
	"A": true, "AN": true, "AND": true, "AS": true, "AT": true, "BY": true, "FOR": true,
	"IN": true, "OF": true, "ON": true, "OR": true, "THE": true, "TO": true, "W": true,
	"WITH": true, "DE": true, "DU": true, "LA": true, "LE": true, "LES": true, "EN": true,
}

// Name returns name for display: HTML entities decoded ("&amp;" -> "&"), runs of white
// space made one space, trailing dots and commas dropped, and every shouted part of a word
// title-cased. Parts are joined by "-", "/", "+", ".", "," or '"' and cased one by one
// ("T-LIGHT" -> "T-Light", "SET/6" -> "Set/6"). A part is shouted when it holds more
// upper-case than lower-case letters; one that starts with a digit (a size or code: "12",
// "3D", "15CM") is kept, but for a possessive "'S" ("50'S" -> "50's"); parts in Kept stay
// upper case, and so do single letters ("S/4", "I") but for the minor words ("of", "and",
// "with", …), which are lower case unless first or last in the name.
func Name(name string) string {
	words := strings.Fields(strings.TrimRight(html.UnescapeString(name), " .,"))
	for i, w := range words {
		words[i] = word(w, i == 0 || i == len(words)-1)
	}
	return strings.Join(words, " ")
}

// word cases one space-separated word; edge is set for the first and last words of the
// name, which are never written as minor words.
func word(w string, edge bool) string {
	var b strings.Builder
	start := 0
	for i, r := range w {
		if strings.ContainsRune(separators, r) {
			b.WriteString(part(w[start:i], edge))
			b.WriteRune(r)
			start = i + 1
		}
	}
	b.WriteString(part(w[start:], edge))
	return b.String()
}

// separators join the parts of a word that are cased one by one.
const separators = "-/+.,\""

// part cases one part of a word: a part that is not shouted is kept.
func part(p string, edge bool) string {
	if !shouted(p) {
		return p
	}
	r0 := []rune(p)[0]
	switch {
	case unicode.IsDigit(r0):
		return strings.ReplaceAll(p, "'S", "'s")
	case Kept[p]:
		return p
	case minor[p] && !edge:
		return strings.ToLower(p)
	case letters(p) == 1:
		return p
	}
	// Leading punctuation ("*USB", "(RED") is kept; the first letter is upper case and the
	// rest lower case ("MUM'S" -> "Mum's").
	var b strings.Builder
	seen := false
	for _, r := range p {
		if !seen && unicode.IsLetter(r) {
			b.WriteRune(unicode.ToUpper(r))
			seen = true
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	out := b.String()
	// A kept acronym behind punctuation: "(LED" stays "(LED".
	if trimmed := strings.TrimFunc(p, func(r rune) bool { return !unicode.IsLetter(r) }); Kept[trimmed] {
		return p
	}
	return out
}

// shouted reports whether w has more upper-case than lower-case letters.
func shouted(w string) bool {
	up, low := 0, 0
	for _, r := range w {
		switch {
		case unicode.IsUpper(r):
			up++
		case unicode.IsLower(r):
			low++
		}
	}
	return up > low
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}
