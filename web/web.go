// Package web holds the shop's HTML templates and static files, embedded in the binary, and
// parses the templates once at start-up. It knows nothing of the data it renders.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"github.com/shopcache/shop/internal/titlecase"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopcache/shop/internal/money"
)

//go:embed templates static
var files embed.FS

// Templates are the parsed pages, one template set per page: the base layout, every
// partial, and the page itself.
type Templates struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	// money formats minor units of a currency, e.g. money 295 "GBP" = "£2.95".
	"money": money.Format,
	// ms formats a duration in milliseconds with two decimals, e.g. "1.25 ms".
	"ms": func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) },
	// num formats a whole number with thousands separators, e.g. num 37660 = "37,660".
	// title is a name as a shopper reads it (internal/titlecase), for names that are not
	// a catalog.Product (order lines, bestseller entries).
	"title": titlecase.Name,
	// category is a category name as a heading shows it: "candles and lights" -> "Candles
	// and Lights" (the stored names are lower case).
	"category": func(name string) string { return titlecase.Name(strings.ToUpper(name)) },
	"num": func(n any) string {
		var s string
		switch n := n.(type) {
		case int:
			s = strconv.Itoa(n)
		case int64:
			s = strconv.FormatInt(n, 10)
		default:
			return fmt.Sprint(n)
		}
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		if neg {
			s = "-" + s
		}
		return s
	},
	// percent formats a ratio as a percentage with one decimal, e.g. percent 0.953 = "95.3 %".
	"percent": func(r float64) string { return fmt.Sprintf("%.1f %%", 100*r) },
	// dur formats a duration as Go writes it, e.g. "5s", "50ms".
	"dur": func(d time.Duration) string { return d.String() },
	// fieldErr pairs a form field's id with its error message ("" for none), for the
	// field-error partial: the message gets the id "<id>-error".
	"fieldErr": func(id string, msg any) fieldError { return fieldError{ID: id, Msg: text(msg)} },
	// invalid returns a form control's ARIA attributes: aria-describedby naming the
	// descriptions in also and, when msg (its error) is set, aria-invalid and the error's
	// "<id>-error", so that a screen reader reads the error with the field.
	"invalid": func(id string, msg any, also ...string) template.HTMLAttr {
		ids := slices.Clone(also)
		attrs := ""
		if text(msg) != "" {
			ids = append(ids, id+"-error")
			attrs = `aria-invalid="true" `
		}
		if len(ids) == 0 {
			return ""
		}
		return template.HTMLAttr(attrs + `aria-describedby="` + template.HTMLEscapeString(strings.Join(ids, " ")) + `"`)
	},
	// secs formats a duration in whole seconds, e.g. "293 s".
	"secs": func(d time.Duration) string { return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds())) },
}

// text is msg as a string: "" for nil (a missing key of a nil map of errors).
func text(msg any) string {
	if msg == nil {
		return ""
	}
	return fmt.Sprint(msg)
}

// fieldError is a form field's id and its error message, for the field-error partial.
type fieldError struct{ ID, Msg string }

// ParseTemplates parses every page under templates/pages with the layout and partials.
// Any parse error is returned: the shop must not start with a broken page.
func ParseTemplates() (*Templates, error) {
	pages, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{pages: make(map[string]*template.Template, len(pages))}
	for _, page := range pages {
		name := strings.TrimSuffix(path.Base(page), ".html")
		tmpl, err := template.New(name).Funcs(funcs).ParseFS(files,
			"templates/base.html", "templates/partials/*.html", page)
		if err != nil {
			return nil, fmt.Errorf("web: parse page %s: %w", name, err)
		}
		t.pages[name] = tmpl
	}
	return t, nil
}

// Names returns the names of the parsed pages.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(t.pages))
	for name := range t.pages {
		names = append(names, name)
	}
	return names
}

// RenderPart executes the template part defined in page (a fragment of the page, such as
// "product-body") with data into w, unbuffered: the caller buffers.
func (t *Templates) RenderPart(w io.Writer, page, part string, data any) error {
	tmpl, ok := t.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	if err := tmpl.ExecuteTemplate(w, part, data); err != nil {
		return fmt.Errorf("web: render %s of %s: %w", part, page, err)
	}
	return nil
}

// Render executes page name with data into w. It renders into a buffer first, so a failing
// template writes nothing to w.
func (t *Templates) Render(w io.Writer, name string, data any) error {
	tmpl, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "base", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// RenderPartial writes the template called name, as parsed with page (a partial the page
// uses), with data: a fragment, for a page's part sent on its own (server-sent events).
func (t *Templates) RenderPartial(w io.Writer, page, name string, data any) error {
	tmpl, ok := t.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render %s of %s: %w", name, page, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// HasStatic reports whether name is a file (not a folder) under static/.
func HasStatic(name string) bool {
	info, err := fs.Stat(files, path.Join("static", name))
	return err == nil && !info.IsDir() && fs.ValidPath(name)
}

// Static serves the files under static/, for mounting at /static/.
func Static() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
