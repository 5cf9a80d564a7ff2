package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shopcache/shop/lab"
)

// TestBrowserLab opens the Lab in headless Chromium, behind the round-robin balancer of two
// instances: the dashboard fills in over server-sent events with both instances; two
// experiments run from their pages and their charts receive data as the runs stream in; and
// a screenshot of /lab and of every strategy page is saved as a test artifact.
func TestBrowserLab(t *testing.T) {
	chromium(t)
	_, _, lb := twoShops(t)
	ctx := newChromium(t)

	// The dashboard: swapped in by the page's script, and listing both instances.
	err := chromedp.Do(ctx,
		chromedp.Navigate(lb.URL+"/lab"),
		chromedp.Poll[chromedp.Void](`(() => { const d = document.querySelector("#lab-live-data");
			return d && d.hasAttribute("data-updated") && d.querySelectorAll("tbody tr").length >= 2 && d.querySelector("svg path") !== null; })()`,
			chromedp.WithPollingTimeout(30*time.Second)),
	)
	if err != nil {
		t.Fatalf("/lab never showed both instances over its event stream: %v", err)
	}
	shots := map[string][]byte{}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	shots["lab"] = shot

	// Two experiments, started with their buttons; their parts of the page are redrawn from
	// their streams until the run is over, with charts that hold data.
	for _, exp := range []struct{ slug, wants string }{{"cache-aside", "bypassed"}, {"stampede", "unprotected"}} {
		if err := chromedp.Do(ctx, chromedp.Navigate(lb.URL+"/lab/"+exp.slug)); err != nil {
			t.Fatal(err)
		}
		// The button's form answers 303 to the same page: wait for that navigation.
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/lab/`+exp.slug+`/run"] button`)))
		if err != nil {
			t.Fatalf("%s: start: %v", exp.slug, err)
		}
		if resp.Status != 200 || !strings.Contains(resp.URL, "/lab/"+exp.slug) {
			t.Fatalf("%s: the start landed on %s with %d", exp.slug, resp.URL, resp.Status)
		}
		err = chromedp.Do(ctx,
			chromedp.Poll[chromedp.Void](`(() => { const d = document.querySelector("#lab-run-data");
				return d && d.hasAttribute("data-updated") && d.innerText.includes("Last run") && d.querySelectorAll("figure.chart tbody tr").length > 0; })()`,
				chromedp.WithPollingTimeout(30*time.Second)),
		)
		if err != nil {
			t.Fatalf("%s: the experiment's result never arrived on its page: %v", exp.slug, err)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#lab-run-data")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, exp.wants) || strings.Contains(text, "Failed") {
			t.Errorf("%s: result lacks %q or failed:\n%s", exp.slug, exp.wants, text)
		}
	}

	for _, s := range lab.Strategies() {
		if err := chromedp.Do(ctx, chromedp.Navigate(lb.URL+"/lab/"+s.Slug)); err != nil {
			t.Fatalf("%s: %v", s.Slug, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("%s: %v", s.Slug, err)
		}
		shots["lab-"+s.Slug] = shot
	}
	dir := t.ArtifactDir()
	for name, b := range shots {
		if err := os.WriteFile(filepath.Join(dir, name+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots of the Lab's pages: %s", dir)
}
