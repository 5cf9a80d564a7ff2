package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"
)

// fragments caches rendered parts of pages (rendered-fragment caching): a product page's
// body once per product version, the home page's featured grid and bestseller list once per
// content. Each is stored under its name ("product:42") with a fingerprint of everything it
// was rendered from (the product's version; the ids and versions of a list, or its rows),
// and served only for the same name and the same fingerprint: a new version renders it
// again, and a fragment is never served for another product or another list. Versions
// come from Postgres (bumped by a trigger on every change, reviews and stock included, by
// the shop or by psql), so a fingerprint names one content. What differs per request — the
// header, the cart count, the flash, the "how this page was served" bar, the admin's edit
// link, the rank and views — is outside the fragment or fills one of its holes.
//
// It is on when the near cache is (it holds at most as many entries, and lets an entry not
// read for 10 minutes go); with SHOP_CACHE=off or SHOP_L1_SIZE=0 every page is rendered whole.
type fragments struct {
	c *otter.Cache[string, fragment]
}

// fragment is a rendered part, split at its holes: parts[0] hole₀ parts[1] hole₁ … .
type fragment struct {
	fingerprint string
	parts       []string
}

// hole marks the i-th hole in a fragment while it is rendered. Template output never holds
// a NUL byte from data (html/template escapes it to U+FFFD), so a marker cannot be forged by
// a product's name or a review.
func hole(i int) template.HTML { return template.HTML(fmt.Sprintf("\x00hole%d\x00", i)) }

func newFragments(size int) *fragments {
	if size <= 0 {
		return nil
	}
	return &fragments{c: otter.Must(&otter.Options[string, fragment]{
		MaximumSize:      size,
		ExpiryCalculator: otter.ExpiryAccessing[string, fragment](10 * time.Minute),
	})}
}

// get returns the fragment name rendered from fingerprint with its holes filled, rendering
// it with render (given the hole markers) when it is not cached (or f is nil, or it was
// rendered from another fingerprint). It returns render's error.
func (f *fragments) get(name, fingerprint string, render func(holes []template.HTML) ([]byte, error), fill ...template.HTML) (template.HTML, error) {
	var parts []string
	if f != nil {
		if e, ok := f.c.GetIfPresent(name); ok && e.fingerprint == fingerprint {
			parts = e.parts
		}
	}
	if parts == nil {
		holes := make([]template.HTML, len(fill))
		for i := range fill {
			holes[i] = hole(i)
		}
		b, err := render(holes)
		if err != nil {
			return "", err
		}
		parts = split(string(b), len(fill))
		if parts == nil {
			return "", fmt.Errorf("handlers: fragment %s: want each of its %d holes once", name, len(fill))
		}
		if f != nil {
			f.c.Set(name, fragment{fingerprint: fingerprint, parts: parts})
		}
	}
	var b strings.Builder
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	for _, h := range fill {
		n += len(h)
	}
	b.Grow(n)
	for i, p := range parts {
		b.WriteString(p)
		if i < len(fill) {
			b.WriteString(string(fill[i]))
		}
	}
	return template.HTML(b.String()), nil // the shop's own rendered output and holes
}

// split cuts s at the markers of n holes, which must appear once each and in order.
func split(s string, n int) []string {
	parts := make([]string, 0, n+1)
	for i := range n {
		before, after, ok := strings.Cut(s, string(hole(i)))
		if !ok {
			return nil
		}
		parts = append(parts, before)
		s = after
	}
	if strings.Contains(s, "\x00hole") {
		return nil
	}
	return append(parts, s)
}

// renderPart renders part of page with data into a byte slice.
func (s *Server) renderPart(page, part string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.templates.RenderPart(&buf, page, part, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
