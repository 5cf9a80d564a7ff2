package main

import (
	"context"
	"net/http"
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
	backends  []*url.URL
	next      atomic.Uint64
	served    []atomic.Int64
	checkouts atomic.Int64 // POST /checkout requests passed on
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
		if pr.In.Method == http.MethodPost && pr.In.URL.Path == "/checkout" {
			rr.checkouts.Add(1)
			// Like a balancer that lets a request run on when its client goes away (nginx's
			// proxy_ignore_client_abort): a browser's second click does not cancel the first.
			*pr.Out = *pr.Out.WithContext(context.WithoutCancel(pr.Out.Context()))
		}
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

// twoShops starts two shop instances on one seeded database and one Redis key space, behind
// a round-robin balancer; it returns the database's URL, the balancer and its server.
func twoShops(t *testing.T) (string, *roundRobin, *httptest.Server) {
	t.Helper()
	dbURL := testenv.SeededDBURL(t)
	_, prefix := testenv.Redis(t)
	env := func() map[string]string {
		return map[string]string{"SHOP_DATABASE_URL": dbURL, "SHOP_REDIS_URL": testenv.RedisURL(),
			"SHOP_SEED": "false", "SHOP_REDIS_KEY_PREFIX": prefix}
	}
	rr, lb := newRoundRobin(t, startShop(t, env()), startShop(t, env()))
	return dbURL, rr, lb
}

// signUp creates the account email in the browser, at the shop at base, and waits for the
// welcome message: the browser is signed in after it.
func signUp(base, email, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/register"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), "a fine long password"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
}

// toReview goes from the cart page through the checkout's address step, typing address, to
// the review, whose "Place order" button it waits for.
func toReview(address string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(chromedp.CSS(`form[action="/checkout/address"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SetValue(chromedp.CSS("#address"), address),
		chromedp.Submit(chromedp.CSS("#address")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/checkout"] button`)),
	)
}

// newChromium starts a headless Chromium for the test, with a deadline for the whole test.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestBrowserJourney drives headless Chromium through sign-up, two products in the cart,
// checkout and the order page, against two shop instances behind a round-robin proxy.
func TestBrowserJourney(t *testing.T) {
	chromium(t)
	_, rr, lb := twoShops(t)
	ctx := newChromium(t)

	err := chromedp.Do(ctx, signUp(lb.URL, "erin@example.com", "Erin"),

		chromedp.Navigate(lb.URL+"/products/1"),
		chromedp.Click(chromedp.CSS("form.add button")),
		chromedp.WaitVisible(chromedp.CSS("table.cart")),
		chromedp.Navigate(lb.URL+"/products/2"),
		chromedp.SetValue(chromedp.CSS("#quantity"), "3"),
		chromedp.Click(chromedp.CSS("form.add button")),
		chromedp.WaitVisible(chromedp.CSS("table.cart")),

		toReview("Erin Example\n1 Test Street\nLeeds LS1 1AA"),
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
	for _, want := range []string{"White Hanging Heart T-Light Holder", "Thank you!", "Total", "VAT included", "1 Test Street", "Placed"} {
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

// TestBrowserDoubleClickAndRedirect: in a real browser, two quick clicks on "Place order"
// send two checkouts and make one order; and a sign-in link whose next is a path that
// browsers read as another host (a tab in it) lands on the shop.
func TestBrowserDoubleClickAndRedirect(t *testing.T) {
	chromium(t)
	dbURL, rr, lb := twoShops(t)
	ctx := newChromium(t)

	err := chromedp.Do(ctx, signUp(lb.URL, "gus@example.com", "Gus"),
		chromedp.Navigate(lb.URL+"/products/1"),
		chromedp.Click(chromedp.CSS("form.add button")),
		toReview("Gus\n2 Test Street\nYork"),
	)
	if err != nil {
		t.Fatalf("to the review: %v", err)
	}
	// The second click comes while the first checkout is still running: the first waits on a
	// lock of the orders table (reads pass) until both clicks were sent.
	pool := testenv.Pool(t, dbURL)
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), `LOCK TABLE orders IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	// Both clicks are mouse clicks at the button's place on the screen, as a hand makes them
	// (the page is still there while its first submission waits for an answer).
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(`form[action="/checkout"] button`))); err != nil {
		t.Fatal(err)
	}
	box, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS(`form[action="/checkout"] button`)))
	if err != nil {
		t.Fatal(err)
	}
	x, y := (box.Content[0]+box.Content[4])/2, (box.Content[1]+box.Content[5])/2
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the first checkout waits on the lock", func() bool {
		var n int
		pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO orders%'`).Scan(&n)
		return n > 0
	})
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatalf("second click: %v", err)
	}
	waitUntil(t, 30*time.Second, "the second checkout reaches the shop", func() bool { return rr.checkouts.Load() == 2 })
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("article.order"))); err != nil {
		t.Fatalf("after the double click: %v", err)
	}
	var orders int
	if err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'gus@example.com'`).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	if orders != 1 {
		t.Errorf("a double click on Place order made %d orders, want 1", orders)
	}

	// Sign out, and in again through a link whose next Chromium would read as //evil.example.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
		chromedp.Navigate(lb.URL+"/login?next=/%09/evil.example"),
		chromedp.SendKeys(chromedp.CSS("#email"), "gus@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a fine long password"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if err != nil {
		t.Fatalf("sign in with a crafted next: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != lb.URL+"/" {
		t.Errorf("after signing in with next=/%%09/evil.example the browser is at %q, want %s/", loc, lb.URL)
	}
}
