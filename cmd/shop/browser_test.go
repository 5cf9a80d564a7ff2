package main

import (
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shopcache/shop/internal/testenv"
)

// roundRobin is a reverse proxy that sends each request to the next backend in turn, with no
// stickiness: a shopper's consecutive requests land on different instances.
type roundRobin struct {
	backends []*url.URL
	next     atomic.Uint64
	served   []atomic.Int64
}

func newRoundRobin(t *testing.T, bases ...string) (*roundRobin, *httptest.Server) {
	t.Helper()
	rr := &roundRobin{served: make([]atomic.Int64, len(bases))}
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		rr.backends = append(rr.backends, u)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		i := int(rr.next.Add(1)-1) % len(rr.backends)
		rr.served[i].Add(1)
		pr.SetURL(rr.backends[i])
		pr.Out.Host = pr.In.Host // the shop compares Origin with Host, as behind a real balancer
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return rr, srv
}

// chromium returns the path of a Chromium to drive, skipping the test when there is none
// outside CI (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium on PATH; .ci/run should have installed Debian's chromium")
	}
	t.Skip("no Chromium on PATH: apt-get install chromium to run the browser test")
	return ""
}

// TestBrowserJourney drives headless Chromium through sign-up, two products in the cart,
// checkout and the order page, against two shop instances behind a round-robin proxy.
func TestBrowserJourney(t *testing.T) {
	exe := chromium(t)
	dbURL := testenv.SeededDBURL(t)
	_, prefix := testenv.Redis(t)
	env := func() map[string]string {
		return map[string]string{"SHOP_DATABASE_URL": dbURL, "SHOP_REDIS_URL": testenv.RedisURL(),
			"SHOP_SEED": "false", "SHOP_REDIS_KEY_PREFIX": prefix}
	}
	a, b := startShop(t, env()), startShop(t, env())
	rr, lb := newRoundRobin(t, a, b)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(lb.URL+"/register"),
		chromedp.SendKeys(chromedp.CSS("#email"), "erin@example.com"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Erin"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a fine long password"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),

		chromedp.Navigate(lb.URL+"/products/1"),
		chromedp.Click(chromedp.CSS("form.add button")),
		chromedp.WaitVisible(chromedp.CSS("table.cart")),
		chromedp.Navigate(lb.URL+"/products/2"),
		chromedp.SetValue(chromedp.CSS("#quantity"), "3"),
		chromedp.Click(chromedp.CSS("form.add button")),
		chromedp.WaitVisible(chromedp.CSS("table.cart")),

		chromedp.Click(chromedp.CSS(`form[action="/checkout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("article.order")),
	)
	if err != nil {
		t.Fatalf("browser journey: %v", err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	orderText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(heading, "Order #") {
		t.Errorf("last page heading = %q, want Order #…", heading)
	}
	for _, want := range []string{"WHITE HANGING HEART T-LIGHT HOLDER", "Thank you!", "Total"} {
		if !strings.Contains(orderText, want) {
			t.Errorf("order page lacks %q:\n%s", want, orderText)
		}
	}
	for i := range rr.served {
		if rr.served[i].Load() < 3 {
			t.Errorf("instance %d served %d requests; round robin should share them", i, rr.served[i].Load())
		}
	}
	path := filepath.Join(t.ArtifactDir(), "order-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the order page: %s", path)
}
