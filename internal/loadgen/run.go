package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/schollz/progressbar/v3"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/shopcache/shop/internal/titlecase"
)

// Config is one load run.
type Config struct {
	Target   string        // the shop's base URL, e.g. http://127.0.0.1:8080
	Rate     int           // requests per second; 0: as fast as Workers allow
	Duration time.Duration // how long requests are sent (> 0)
	Workers  int           // most requests in flight at once (> 0)
	Users    int           // load accounts signed in before the run; 0 turns sign-in, cart and checkout steps into product views
	Mix      Mix
	Seed     uint64        // seeds every random choice; the same seed draws the same steps
	Timeout  time.Duration // per request; 0: 30 s
	Progress io.Writer     // where to draw a progress bar (a terminal); nil: none
}

// Validate returns an error saying what is wrong with c, if anything.
func (c Config) Validate() error {
	u, err := url.Parse(c.Target)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("target %q: want a base URL such as http://127.0.0.1:8080", c.Target)
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("target %q: want the shop's base URL, without a path or query", c.Target)
	case c.Rate < 0:
		return fmt.Errorf("rate %d: want requests per second ≥ 0 (0: as fast as the workers go)", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("duration %v: want a duration > 0 such as 30s", c.Duration)
	case c.Workers <= 0:
		return fmt.Errorf("workers %d: want at least 1", c.Workers)
	case c.Users < 0 || c.Users > 10_000:
		return fmt.Errorf("users %d: want 0 to 10000", c.Users)
	case c.Timeout < 0:
		return fmt.Errorf("timeout %v: want a duration ≥ 0", c.Timeout)
	}
	return c.Mix.Validate()
}

// maxBrowsePage is the last listing page shoppers browse; page p is asked for with
// probability 2^-p, so past page 10 is rare in any case.
const maxBrowsePage = 10

// gen draws each request (the vegeta Targeter) and follows the shoppers' state from the
// results. Everything after the first three fields is guarded by mu.
type gen struct {
	base     string
	mix      Mix
	pop      *Popularity
	mu       sync.Mutex
	rnd      *rand.Rand
	words    [][]string // search words of each rank's product name
	shoppers []*shopper
	next     int // the next shopper to sign in again
}

func newGen(base string, mix Mix, pop *Popularity, seed uint64, shoppers []*shopper) *gen {
	g := &gen{base: strings.TrimSuffix(base, "/"), mix: mix, pop: pop, rnd: rand.New(rand.NewPCG(seed, 0x5eed)), shoppers: shoppers}
	for _, name := range pop.Names {
		g.words = append(g.words, searchWords(name))
	}
	return g
}

// searchWords returns the words of a product name a shopper might search for: words of four
// letters or more, lower case; the whole name when it has none.
func searchWords(name string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) >= 4 {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		out = []string{strings.ToLower(name)}
	}
	return out
}

// shopperTag marks a request made for shopper n in its URL's fragment, which the client
// never sends: the result carries the URL back, and with it the shopper.
func shopperTag(n int) string { return "#shopper=" + strconv.Itoa(n) }

// target is the vegeta Targeter: it draws the next step and fills t. It never fails.
func (g *gen) target(t *vegeta.Target) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t.Header = http.Header{"User-Agent": {"shop-load"}}
	t.Body = nil
	kind := g.mix.draw(g.rnd)
	if len(g.shoppers) == 0 && (kind == SignIn || kind == CartAdd || kind == Checkout) {
		kind = Product
	}
	var s *shopper
	if kind == Checkout {
		if s = g.pickShopper(func(s *shopper) bool { return s.inCart > 0 }); s == nil {
			kind = CartAdd
		}
	}
	if kind == CartAdd {
		if s = g.pickShopper(func(s *shopper) bool { return s.key == "" }); s == nil {
			kind = Product // every shopper is busy: read instead
		}
	}
	switch kind {
	case Browse:
		page := 1
		for page < maxBrowsePage && g.rnd.Float64() < 0.5 {
			page++
		}
		t.Method, t.URL = http.MethodGet, g.base+"/products?page="+strconv.Itoa(page)
	case Search:
		words := g.words[g.pop.Draw(g.rnd)-1]
		t.Method, t.URL = http.MethodGet, g.base+"/search?q="+url.QueryEscape(words[g.rnd.IntN(len(words))])
	case Product:
		t.Method, t.URL = http.MethodGet, g.base+"/products/"+strconv.FormatInt(g.pop.IDs[g.pop.Draw(g.rnd)-1], 10)
	case SignIn:
		s := g.shoppers[g.next%len(g.shoppers)]
		g.next++
		form := url.Values{"email": {s.email}, "password": {s.password}}
		g.form(t, "/login", form, "")
	case CartAdd:
		id := g.pop.IDs[g.pop.Draw(g.rnd)-1]
		form := url.Values{"product_id": {strconv.FormatInt(id, 10)}, "quantity": {"1"}}
		g.form(t, "/cart/items"+shopperTag(s.n), form, s.cookie)
		s.busy = true
	case Checkout:
		if s.key == "" {
			t.Method, t.URL = http.MethodGet, g.base+"/cart"+shopperTag(s.n)
			t.Header.Set("Cookie", s.cookie)
		} else {
			form := url.Values{"checkout_key": {s.key}, "cart_digest": {s.digest}}
			g.form(t, "/checkout"+shopperTag(s.n), form, s.cookie)
		}
		s.busy = true
	}
	return nil
}

func (g *gen) form(t *vegeta.Target, path string, form url.Values, cookie string) {
	t.Method, t.URL, t.Body = http.MethodPost, g.base+path, []byte(form.Encode())
	t.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		t.Header.Set("Cookie", cookie)
	}
}

// pickShopper returns a shopper that is not busy and satisfies ok, starting the search at
// a random place in the pool, or nil.
func (g *gen) pickShopper(ok func(*shopper) bool) *shopper {
	n := len(g.shoppers)
	start := g.rnd.IntN(n)
	for i := range n {
		s := g.shoppers[(start+i)%n]
		if !s.busy && ok(s) {
			return s
		}
	}
	return nil
}

var (
	checkoutKeyField = regexp.MustCompile(`name="checkout_key" value="([^"]*)"`)
	cartDigestField  = regexp.MustCompile(`name="cart_digest" value="([^"]*)"`)
)

// kindOf names the kind of request a result answered, from its method and URL.
func kindOf(method string, u *url.URL) Kind {
	switch p := u.Path; {
	case method == http.MethodGet && p == "/products":
		return Browse
	case method == http.MethodGet && p == "/search":
		return Search
	case method == http.MethodGet && strings.HasPrefix(p, "/products/"):
		return Product
	case method == http.MethodPost && p == "/login":
		return SignIn
	case method == http.MethodPost && p == "/cart/items":
		return CartAdd
	case method == http.MethodGet && p == "/cart":
		return CartView
	case method == http.MethodPost && p == "/checkout":
		return Checkout
	}
	return ""
}

// done records what a result says about its shopper and returns its kind.
func (g *gen) done(res *vegeta.Result) Kind {
	u, err := url.Parse(res.URL)
	if err != nil {
		return ""
	}
	kind := kindOf(res.Method, u)
	n, err := strconv.Atoi(strings.TrimPrefix(u.Fragment, "shopper="))
	if err != nil || n < 1 || n > len(g.shoppers) {
		return kind
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.shoppers[n-1]
	s.busy = false
	switch kind {
	case CartAdd:
		if res.Code == http.StatusSeeOther {
			s.inCart++
		}
	case CartView:
		k, d := checkoutKeyField.FindSubmatch(res.Body), cartDigestField.FindSubmatch(res.Body)
		if res.Code == http.StatusOK && k != nil && d != nil {
			s.key, s.digest = html.UnescapeString(string(k[1])), html.UnescapeString(string(d[1]))
		} else if res.Code == http.StatusOK {
			s.inCart = 0 // no order form: the cart is empty
		}
	case Checkout:
		s.key, s.digest = "", ""
		if res.Code == http.StatusSeeOther {
			s.inCart = 0
			s.orders++
		}
	}
	return kind
}

// Run checks the target, signs in the load accounts, sends the load and returns what it
// measured. When ctx ends early the attack stops and the summary covers what was sent.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	base := strings.TrimSuffix(cfg.Target, "/")
	pop, err := RetailPopularity()
	if err != nil {
		return nil, err
	}
	client := &http.Client{
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if err := checkCatalog(ctx, client, base, pop); err != nil {
		return nil, err
	}
	if cfg.Progress != nil && cfg.Users > 0 {
		fmt.Fprintf(cfg.Progress, "signing in %d load accounts…\n", cfg.Users)
	}
	shoppers, err := signInAll(ctx, client, base, cfg.Users)
	if err != nil {
		return nil, fmt.Errorf("sign in the load accounts: %w", err)
	}
	g := newGen(base, cfg.Mix, pop, cfg.Seed, shoppers)

	attacker := vegeta.NewAttacker(
		vegeta.Workers(uint64(min(cfg.Workers, 10))),
		vegeta.MaxWorkers(uint64(cfg.Workers)),
		vegeta.Connections(cfg.Workers),
		vegeta.Redirects(vegeta.NoFollow), // a form's 303 is its answer, as a browser sees it first
		vegeta.KeepAlive(true),
		vegeta.Timeout(cfg.Timeout),
		vegeta.TLSConfig(&tls.Config{}), // verify certificates (vegeta's default does not)
	)
	stop := context.AfterFunc(ctx, func() { attacker.Stop() })
	defer stop()

	var bar *progressbar.ProgressBar
	if cfg.Progress != nil {
		total := int64(-1)
		if cfg.Rate > 0 {
			total = int64(float64(cfg.Rate) * cfg.Duration.Seconds())
		}
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(cfg.Progress),
			progressbar.OptionSetDescription("load"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("req"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(cfg.Progress) }),
		)
	}
	rate := vegeta.Rate{Freq: cfg.Rate, Per: time.Second}
	col := newCollector(time.Now(), cfg.Duration)
	for res := range attacker.Attack(g.target, rate, cfg.Duration, "shop-load") {
		kind := g.done(res)
		col.add(kind, res)
		if bar != nil {
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	s := col.summary()
	s.Target, s.Rate, s.Duration, s.Seed, s.Users = base, cfg.Rate, cfg.Duration.Seconds(), cfg.Seed, cfg.Users
	s.Workers = cfg.Workers
	s.Mix = cfg.Mix.Map()
	s.Zipf = ZipfSummary{Fit: pop.Fit, Products: len(pop.IDs), Source: "online-retail order history: sale lines per product (dataset.RetailSales)"}
	s.Interrupted = ctx.Err() != nil
	for _, sh := range shoppers {
		s.Orders += sh.orders
	}
	return s, nil
}

// ErrCatalog is returned when the target's product ids are not those of the online-retail
// data set.
var ErrCatalog = errors.New("the target's catalog is not the online-retail data set seeded first " +
	"(shop load draws product ids from its order history)")

// checkCatalog checks that the most popular product's page names it (in title case, as the
// shop shows names).
func checkCatalog(ctx context.Context, client *http.Client, base string, pop *Popularity) error {
	u := base + "/products/" + strconv.FormatInt(pop.IDs[0], 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reach the shop: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reach the shop: %w", err)
	}
	name := titlecase.Name(pop.Names[0]) // as pages show it
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), html.EscapeString(name)) {
		return fmt.Errorf("%w: GET %s answered %d without %q", ErrCatalog, u, resp.StatusCode, name)
	}
	return nil
}
