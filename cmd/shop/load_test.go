package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shopcache/shop/internal/loadgen"
	"github.com/shopcache/shop/internal/testenv"
)

// TestLoad runs shop load for 3 s at a low rate against a real shop and checks what it
// wrote against the shop: every request answered, statuses the shop gives each kind, hit
// ratios that follow from the X-Cache headers counted, orders that are in Postgres, and a
// report that holds the charts.
func TestLoad(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	base := startShop(t, map[string]string{
		"SHOP_DATABASE_URL": dbURL, "SHOP_REDIS_URL": testenv.RedisURL(), "SHOP_SEED": "false",
		"SHOP_LOGIN_LIMIT_IP": "off", "SHOP_LOGIN_LIMIT_ACCOUNT": "off", "SHOP_SIGNUP_LIMIT_IP": "2/h",
	})
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"shop", "load", "-target", base, "-rate", "20", "-duration", "3s",
		"-users", "2", "-seed", "7", "-out", dir}, envFrom(nil), &stdout, &stderr)
	if err != nil {
		t.Fatalf("shop load: %v\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), filepath.Join(dir, "report.html")) {
		t.Errorf("stdout %q does not name the report", stdout.String())
	}
	var s loadgen.Summary
	js, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}

	if s.Requests == 0 || s.Requests != s.Responses || len(s.Errors) != 0 {
		t.Fatalf("%d requests, %d responses, errors %v: want every request answered", s.Requests, s.Responses, s.Errors)
	}
	sum := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	if n := sum(s.Status); n != s.Responses {
		t.Errorf("statuses add up to %d, want %d responses", n, s.Responses)
	}
	// What the shop answers each kind: pages 200, forms 303 (a redirect, not followed), or
	// 503 when Redis or Postgres do not answer in time (on a busy machine they may not).
	want := map[loadgen.Kind]string{
		loadgen.Browse: "200", loadgen.Search: "200", loadgen.Product: "200", loadgen.CartView: "200",
		loadgen.SignIn: "303", loadgen.CartAdd: "303", loadgen.Checkout: "303",
	}
	total := 0
	for kind, st := range s.Kinds {
		total += st.Count
		w, ok := want[kind]
		if !ok || st.Status[w]+st.Status["503"] != st.Count {
			t.Errorf("%s: statuses %v for %d requests, want %s (or 503)", kind, st.Status, st.Count, w)
		}
		if st.Status["503"] > 0 {
			t.Logf("%s: %d of %d answered 503", kind, st.Status["503"], st.Count)
		}
	}
	for _, kind := range []loadgen.Kind{loadgen.Browse, loadgen.Product} {
		if st := s.Kinds[kind]; st == nil || st.Status["200"] == 0 {
			t.Errorf("%s: no page served", kind)
		}
	}
	if total != s.Requests {
		t.Errorf("kinds add up to %d requests, want %d", total, s.Requests)
	}
	// Product pages each carry X-Cache; the hit ratio is the hits among them. The cache
	// started empty, so some were misses.
	p := s.Kinds[loadgen.Product]
	if p == nil || p.Count == 0 {
		t.Fatal("no product pages in the run")
	}
	hits := p.XCache["HIT-L1"] + p.XCache["HIT-REDIS"] + p.XCache["STALE"]
	if n := sum(p.XCache); n < p.Status["200"] || n > p.Count || p.XCache["MISS"] == 0 || p.HitRatio == nil ||
		*p.HitRatio != float64(hits)/float64(hits+p.XCache["MISS"]) {
		t.Errorf("product X-Cache %v, hit ratio %v for %v: want a header on every page served, misses on a cold cache, ratio = hits/(hits+misses)",
			p.XCache, p.HitRatio, p.Status)
	}
	if s.Kinds[loadgen.Browse] != nil && s.Kinds[loadgen.Browse].HitRatio != nil {
		t.Errorf("listing pages have a hit ratio %v, but carry no X-Cache", *s.Kinds[loadgen.Browse].HitRatio)
	}
	// One entry per second of the run, adding up to the whole.
	if len(s.Seconds) != 3 {
		t.Errorf("%d seconds in the series, want 3", len(s.Seconds))
	}
	perSecond := 0
	for i, sec := range s.Seconds {
		perSecond += sec.Count
		if sec.T != i {
			t.Errorf("second %d has t = %d", i, sec.T)
		}
	}
	if perSecond != s.Requests {
		t.Errorf("seconds add up to %d requests, want %d", perSecond, s.Requests)
	}
	// The orders it counted are in Postgres, placed by the load accounts.
	var orders int
	if err := testenv.Pool(t, dbURL).QueryRow(context.Background(),
		`SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email LIKE 'shop-load-%'`).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	if orders != s.Orders || s.Kinds[loadgen.Checkout] != nil && s.Kinds[loadgen.Checkout].Status["303"] != orders {
		t.Errorf("Postgres has %d orders of the load accounts; the summary says %d", orders, s.Orders)
	}
	if s.Zipf.S <= 0 || s.Zipf.Ranks == 0 || s.Zipf.Products < s.Zipf.Ranks {
		t.Errorf("zipf %+v", s.Zipf)
	}

	checkReport(t, filepath.Join(dir, "report.html"))

	// Interrupted (Ctrl-C) once the shop has seen a few listing pages, a long run stops
	// and still writes what it measured.
	interrupted(t, base)

	// A run with one account more needs a third sign-up, over the shop's 2/h.
	err = run(context.Background(), []string{"shop", "load", "-target", base, "-rate", "5", "-duration", "1s",
		"-users", "3", "-out", t.TempDir()}, envFrom(nil), io.Discard, io.Discard)
	if !errors.Is(err, loadgen.ErrRateLimited) || exitCode(err) != 1 || !strings.Contains(err.Error(), "SHOP_SIGNUP_LIMIT_IP") {
		t.Errorf("load over the sign-up limit: %v (exit %d), want ErrRateLimited naming SHOP_SIGNUP_LIMIT_IP, exit 1", err, exitCode(err))
	}
}

// interrupted runs a 60 s load through a proxy in front of the shop that cancels the
// run's context when the fifth listing page goes through.
func interrupted(t *testing.T, base string) {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var listings atomic.Int32
	shop := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/products" && listings.Add(1) == 5 {
			cancel()
		}
		shop.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	err = run(ctx, []string{"shop", "load", "-target", proxy.URL, "-rate", "20", "-duration", "60s", "-users", "0",
		"-out", dir}, envFrom(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("interrupted load: %v", err)
	}
	var s loadgen.Summary
	js, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatal(err)
	}
	if !s.Interrupted || s.Kinds[loadgen.Browse] == nil || s.Kinds[loadgen.Browse].Count < 5 || s.Requests >= 20*60 || s.Requests != s.Responses {
		t.Errorf("interrupted run: interrupted %v, %d requests, %d responses: want interrupted, at least 5 listings, every request answered, fewer than 1,200",
			s.Interrupted, s.Requests, s.Responses)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("interrupted run wrote no report: %v", err)
	}
}

// checkReport checks that the report is one page holding five charts, each well-formed SVG
// with an accessible name, and that it loads nothing from elsewhere.
func checkReport(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.HasPrefix(page, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Errorf("report is not one whole HTML page")
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*"?(https?:)?//`).MatchString(page) || strings.Contains(page, "<script") {
		t.Errorf("report loads something or runs a script")
	}
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1)
	var titles []string
	for _, svg := range svgs {
		var doc struct {
			Role  string `xml:"role,attr"`
			Title string `xml:"title"`
			Paths []struct {
				D string `xml:"d,attr"`
			} `xml:"g>path"`
		}
		if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
			t.Errorf("a chart is not well-formed SVG: %v", err)
			continue
		}
		if doc.Role != "img" || len(doc.Paths) == 0 {
			t.Errorf("chart %q: role %q, %d lines drawn; want role img and data", doc.Title, doc.Role, len(doc.Paths))
		}
		titles = append(titles, doc.Title)
	}
	for _, want := range []string{"Latency percentiles", "Requests per second", "Cache hit ratio", "Responses per second, by status", "Latency distribution"} {
		found := false
		for _, title := range titles {
			found = found || strings.HasPrefix(title, want)
		}
		if !found {
			t.Errorf("report charts %q: none titled %q", titles, want)
		}
	}
}

func TestLoadRefusesBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"-rate", "-5"},
		{"-rate", "fast"},
		{"-duration", "0s"},
		{"-workers", "0"},
		{"-target", "127.0.0.1:8080"},
		{"-target", "http://127.0.0.1:8080/products"},
		{"-browse", "-1"},
		{"-browse", "0", "-search", "0", "-product", "0", "-signin", "0", "-cart", "0", "-checkout", "0"},
		{"-users", "-1"},
		{"-nonsense"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"shop", "load"}, args...), envFrom(nil), io.Discard, &stderr)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "load") {
			t.Errorf("shop load %q: %v (exit %d), want a usage error, exit 2", args, err, exitCode(err))
		}
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"shop", "load", "--help"}, envFrom(nil), &stdout, io.Discard); err != nil {
		t.Fatalf("shop load --help: %v", err)
	}
	for _, want := range []string{"-rate", "-checkout", "SHOP_LOGIN_LIMIT_IP", "SHOP_SIGNUP_LIMIT_IP", "Zipf"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("shop load --help does not mention %s", want)
		}
	}
	// A shop without the online-retail catalog is refused before any load is sent.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<h1>Essence Mascara Lash Princess</h1>")
	}))
	defer other.Close()
	err := run(context.Background(), []string{"shop", "load", "-target", other.URL, "-duration", "1s", "-out", t.TempDir()},
		envFrom(nil), io.Discard, io.Discard)
	if !errors.Is(err, loadgen.ErrCatalog) || exitCode(err) != 1 {
		t.Errorf("load against another catalog: %v, want ErrCatalog, exit 1", err)
	}
}
