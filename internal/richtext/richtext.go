// Package richtext keeps the HTML of product descriptions safe: real catalogs write
// descriptions with <p>, <br>, lists and entities such as &trade;, and an admin may paste
// anything. Sanitize keeps an allow-list (bluemonday) of text formatting; everything else —
// scripts, event handlers, styles, javascript: URLs, images, forms — is removed.
package richtext

import (
	"html"
	"html/template"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// policy is the allow-list: paragraphs, line breaks, emphasis, lists, headings h3–h6,
// block quotes and links (http, https and mailto only, given rel="nofollow").
var policy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "b", "strong", "i", "em", "u", "small", "sub", "sup",
		"ul", "ol", "li", "h3", "h4", "h5", "h6", "blockquote")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(false)
	return p
}()

// Sanitize returns description with only the allowed HTML left, trimmed. Text without
// markup comes back escaped where needed ("a < b" -> "a &lt; b"), so the result is always
// HTML. It is applied when a description is imported or edited, and again when rendered.
func Sanitize(description string) string {
	return strings.TrimSpace(policy.Sanitize(description))
}

// HTML returns description sanitised, for a template to insert as it is. A description
// without any tag has its blank-line-separated paragraphs wrapped in <p> and its other
// line breaks kept as <br>.
func HTML(description string) template.HTML {
	s := Sanitize(description)
	if !strings.Contains(s, "<") && s != "" {
		var b strings.Builder
		for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
			if para = strings.TrimSpace(para); para != "" {
				b.WriteString("<p>" + strings.ReplaceAll(para, "\n", "<br>") + "</p>")
			}
		}
		s = b.String()
	}
	return template.HTML(s) //nolint:gosec // sanitised above
}

// PlainName returns a name with its HTML entities decoded and any tags dropped: names are
// text, shown escaped by the templates ("Caf&eacute; &trade;" -> "Café ™").
func PlainName(name string) string {
	return strings.TrimSpace(html.UnescapeString(bluemonday.StrictPolicy().Sanitize(name)))
}
