package handlers

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// localPath returns next when it is a path on this site, else "/": a login link must not
// send anyone elsewhere (an open redirect, CWE-601).
//
// The test is on what a browser makes of the Location header, not on the bytes: the WHATWG
// URL Standard (§4.4, basic URL parser) strips leading and trailing C0 controls and spaces,
// removes every tab, CR and LF anywhere, and reads "\" as "/" in http(s) URLs, so
// "/\t/evil.example", "/\\evil.example" and " //evil.example" all lead to evil.example
// (Chromium does so). Rather than normalise as a browser would and hope to agree with every
// one, localPath refuses what they would rewrite: any control, format or separator character
// (unicode.IsPrint is false: tabs, newlines, NUL, DEL, C1 controls, no-break and zero-width
// spaces, U+2028), any backslash, and then anything that is not an absolute path — a
// scheme ("javascript:", "https:"), a scheme-relative "//host" or "///host", a host or user
// part. http.Redirect cleans the path afterwards ("/./x" → "/x"); since no backslash is
// left, cleaning cannot make a "//".
func localPath(next string) string {
	if next == "" || !utf8.ValidString(next) || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, r := range next {
		if !unicode.IsPrint(r) {
			return "/"
		}
	}
	if next[0] != '/' || len(next) > 1 && next[1] == '/' {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}
