package handlers_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// BenchmarkProductPage is the product page served from the near cache through the whole
// handler stack (middleware, session, fragment, layout), anonymous and signed in, against a
// handler that writes the same bytes pre-rendered; in process, without the network, so that
// the ratio is the shop's own cost (docs/benchmarks.md; make bench):
//
//	go test -run '^$' -bench ProductPage -benchmem ./handlers
func BenchmarkProductPage(b *testing.B) {
	shop := newStartedShop(b, testenv.SeededDBURL(b), withL1(cache.L1Options{Size: 10_000, TTL: time.Hour}))
	h := shop.App.Handler
	page := func(cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/products/1", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /products/1 = %d", rec.Code)
		}
		return rec
	}
	// A signed-in shopper: register through the real form, keep the session cookie.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, shop.URL+"/register", strings.NewReader(url.Values{
		"email": {"bench@example.com"}, "name": {"Bench"}, "password": {"a fine long password"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(shop.URL)
	var cookie string
	for _, c := range jar.Cookies(u) {
		cookie = c.Name + "=" + c.Value
	}
	if cookie == "" {
		b.Fatal("no session cookie after registering")
	}
	page("")
	page(cookie)
	body := page("").Body.Bytes()

	b.Run("anonymous", func(b *testing.B) {
		for b.Loop() {
			page("")
		}
	})
	b.Run("signed-in", func(b *testing.B) {
		for b.Loop() {
			page(cookie)
		}
	})
	b.Run("pre-rendered", func(b *testing.B) {
		static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(body)
		})
		for b.Loop() {
			rec := httptest.NewRecorder()
			static.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/products/1", nil))
		}
	})
}
