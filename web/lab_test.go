package web

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/shopcache/shop/pageviews"
)

// The lab-writebehind partial is not used by a page of its own yet (/lab includes it); this
// renders it with a pageviews.Status.
func TestLabWriteBehindPartial(t *testing.T) {
	tmpl, err := template.New("lab").Funcs(funcs).ParseFS(files, "templates/partials/lab_writebehind.html")
	if err != nil {
		t.Fatal(err)
	}
	st := pageviews.Status{
		Pending:  pageviews.Pending{Views: 12, Products: 3, Batches: 1, BatchViews: 4},
		Interval: 5 * time.Second, LastFlush: time.Date(2026, 11, 29, 10, 4, 5, 0, time.UTC),
		LastBatchViews: 40, LastBatchProducts: 7, Flushes: 9, Errors: 1,
		LastError: "views: apply batch: refused", LastErrorAt: time.Date(2026, 11, 29, 10, 3, 0, 0, time.UTC),
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "lab-writebehind", st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"12 views of 3 products", "1 (4 views)", "10:04:05: 40 views of 7 products", "every 5 s", "refused at 10:03:00"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("lab-writebehind lacks %q:\n%s", want, buf.String())
		}
	}
}
