package main

// The chaos suite's load and what it measures: every request becomes a sample; the samples
// and the shops' Postgres query counters are cut into one-second windows.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// sample is one request the load made.
type sample struct {
	start   time.Time
	lat     time.Duration
	kind    string // home, product, list, search, cart-add (vegeta); buy-add, cart, checkout (buyers)
	code    int    // 0: no answer
	err     string
	xcache  string
	shopper int   // cart-add: index into the cart shoppers
	product int64 // product, cart-add
	viewed  bool  // a product page that counted its view (it shows the views)
	order   int64 // checkout: the order placed
}

func (s sample) end() time.Time { return s.start.Add(s.lat) }
func (s sample) write() bool {
	return s.kind == "cart-add" || s.kind == "buy-add" || s.kind == "checkout"
}
func (s sample) failed() bool { return s.code == 0 || s.code >= 500 }

type recorder struct {
	mu sync.Mutex
	s  []sample
}

func (r *recorder) add(s sample) {
	r.mu.Lock()
	r.s = append(r.s, s)
	r.mu.Unlock()
}

func (r *recorder) all() []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.s)
}

// load is the bounded traffic of one scenario: vegeta at a constant rate over a mix of
// pages and cart adds, plus buyers who each add, look at their cart and check out in turn.
type load struct {
	lb           *balancer
	rate         int
	products     []int64 // pages looked at
	cartProducts []int64 // added to carts by the cart shoppers
	buyProducts  []int64 // bought by the buyers
	shoppers     []shopper
	buyers       []shopper
	buyEvery     time.Duration
	rec          *recorder
	cachedOnly   bool // product pages and cart adds only

	mu  sync.Mutex
	rng *rand.Rand

	attacker *vegeta.Attacker
	stopBuy  chan struct{}
	wg       sync.WaitGroup
}

var searchWords = []string{"heart", "bag", "candle", "mug", "box", "card", "light", "vintage", "set", "red", "glass", "tin"}

func (l *load) targeter() vegeta.Targeter {
	return func(tgt *vegeta.Target) error {
		l.mu.Lock()
		r := l.rng.Float64()
		p := l.products[l.rng.IntN(len(l.products))]
		page := 1 + l.rng.IntN(5)
		word := searchWords[l.rng.IntN(len(searchWords))]
		sh := l.rng.IntN(max(len(l.shoppers), 1))
		cp := int64(0)
		if len(l.cartProducts) > 0 {
			cp = l.cartProducts[l.rng.IntN(len(l.cartProducts))]
		}
		l.mu.Unlock()
		if l.cachedOnly && r >= 0.5 && r < 0.85 {
			r = 0
		}
		base := l.lb.pick()
		tgt.Method, tgt.Body, tgt.Header = "GET", nil, nil
		// The fragment names the request for the sample; it is not sent.
		switch {
		case r < 0.50:
			tgt.URL = fmt.Sprintf("%s/products/%d#product:%d", base, p, p)
		case r < 0.65:
			tgt.URL = base + "/#home"
		case r < 0.80:
			tgt.URL = fmt.Sprintf("%s/products?page=%d#list", base, page)
		case r < 0.85 || len(l.shoppers) == 0 || cp == 0:
			tgt.URL = fmt.Sprintf("%s/search?q=%s#search", base, word)
		default:
			tgt.Method = "POST"
			tgt.URL = fmt.Sprintf("%s/cart/items#cart-add:%d:%d", base, sh, cp)
			tgt.Body = []byte(url.Values{"product_id": {strconv.FormatInt(cp, 10)}, "quantity": {"1"}}.Encode())
			tgt.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": {l.shoppers[sh].cookie}}
		}
		return nil
	}
}

// start begins the load; stop ends it and waits for every request to finish.
func (l *load) start() {
	l.rng = rand.New(rand.NewPCG(1, 2))
	l.stopBuy = make(chan struct{})
	l.attacker = vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow),
		vegeta.Workers(16), vegeta.MaxWorkers(1000), vegeta.KeepAlive(true))
	results := l.attacker.Attack(l.targeter(), vegeta.ConstantPacer{Freq: l.rate, Per: time.Second}, 0, "chaos")
	l.wg.Go(func() {
		for res := range results {
			l.rec.add(fromResult(res))
		}
	})
	for i, b := range l.buyers {
		l.wg.Go(func() { l.buy(i, b) })
	}
}

func (l *load) stop() {
	close(l.stopBuy)
	l.attacker.Stop()
	l.wg.Wait()
}

func fromResult(res *vegeta.Result) sample {
	s := sample{start: res.Timestamp, lat: res.Latency, code: int(res.Code), err: res.Error}
	if res.Code == 0 && s.err == "" {
		s.err = "no answer"
	}
	if res.Headers != nil {
		s.xcache = res.Headers.Get("X-Cache")
	}
	_, frag, _ := strings.Cut(res.URL, "#")
	parts := strings.Split(frag, ":")
	s.kind = parts[0]
	switch s.kind {
	case "product":
		s.product, _ = strconv.ParseInt(parts[1], 10, 64)
		s.viewed = s.code == 200 && strings.Contains(string(res.Body), `class="views"`)
	case "cart-add":
		s.shopper, _ = strconv.Atoi(parts[1])
		s.product, _ = strconv.ParseInt(parts[2], 10, 64)
	}
	return s
}

// buy is one buyer's loop: add a product, read the cart (its checkout key and digest),
// check out with a delivery address; one round per buyEvery.
func (l *load) buy(i int, b shopper) {
	tick := time.NewTicker(l.buyEvery)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	step := func(kind string, f func(base string) (int, string, string, error)) (int, string, string) {
		start := time.Now()
		code, loc, body, err := f(l.lb.pick())
		s := sample{start: start, lat: time.Since(start), kind: kind, code: code}
		if err != nil {
			s.err, s.code = err.Error(), 0
		}
		if kind == "checkout" && code == http.StatusSeeOther {
			if m := orderLocation.FindStringSubmatch(loc); m != nil {
				s.order, _ = strconv.ParseInt(m[1], 10, 64)
			}
		}
		l.rec.add(s)
		return s.code, loc, body
	}
	for {
		select {
		case <-l.stopBuy:
			return
		case <-tick.C:
		}
		p := l.buyProducts[rng.IntN(len(l.buyProducts))]
		if code, _, _ := step("buy-add", func(base string) (int, string, string, error) {
			return b.post(base, "/cart/items", url.Values{"product_id": {strconv.FormatInt(p, 10)}, "quantity": {"1"}})
		}); code != http.StatusSeeOther {
			continue
		}
		code, _, body := step("cart", func(base string) (int, string, string, error) { return b.get(base, "/cart") })
		key, digest := checkoutKeyField.FindStringSubmatch(body), cartDigestField.FindStringSubmatch(body)
		if code != 200 || key == nil || digest == nil {
			continue
		}
		step("checkout", func(base string) (int, string, string, error) {
			return b.post(base, "/checkout", url.Values{"checkout_key": {key[1]}, "cart_digest": {digest[1]},
				"address": {"Chaos Shopper\n1 Loopback Lane\nLocalhost LH1 1AA"}})
		})
	}
}

// dbSampler reads every shop's shop_db_queries_total once a second.
type dbSampler struct {
	mu     sync.Mutex
	points []dbPoint
	stop   chan struct{}
	wg     sync.WaitGroup
}

type dbPoint struct {
	at     time.Time
	values map[string]float64 // by shop name; a shop that did not answer is missing
}

func startDBSampler(shops func() []*shopProc) *dbSampler {
	d := &dbSampler{stop: make(chan struct{})}
	d.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			p := dbPoint{at: time.Now(), values: map[string]float64{}}
			for _, s := range shops() {
				if v, ok := s.metric("shop_db_queries_total"); ok {
					p.values[s.name] = v
				}
			}
			d.mu.Lock()
			d.points = append(d.points, p)
			d.mu.Unlock()
			select {
			case <-d.stop:
				return
			case <-t.C:
			}
		}
	})
	return d
}

func (d *dbSampler) close() {
	close(d.stop)
	d.wg.Wait()
}

// rates are the Postgres statements per second of all shops together between consecutive
// readings, each at the reading's time (a shop counts where it answered both readings).
func (d *dbSampler) rates() (at []time.Time, perSec []float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := 1; i < len(d.points); i++ {
		a, b := d.points[i-1], d.points[i]
		var n float64
		for name, v := range b.values {
			if u, ok := a.values[name]; ok && v >= u {
				n += v - u
			}
		}
		at = append(at, b.at)
		perSec = append(perSec, n/b.at.Sub(a.at).Seconds())
	}
	return at, perSec
}

// second is what one second of the load looked like (requests by their end).
type second struct {
	ok, failed, n    int
	productPages     int
	productHits      int // X-Cache HIT-L1 or HIT-REDIS (or STALE)
	writes, writesOK int
}

func perSecond(samples []sample, t0 time.Time, n int) []second {
	secs := make([]second, n)
	for _, s := range samples {
		i := int(s.end().Sub(t0) / time.Second)
		if i < 0 || i >= n {
			continue
		}
		c := &secs[i]
		c.n++
		if s.failed() {
			c.failed++
		} else {
			c.ok++
		}
		if s.kind == "product" && s.code == 200 {
			c.productPages++
			if strings.HasPrefix(s.xcache, "HIT") || s.xcache == "STALE" {
				c.productHits++
			}
		}
		if s.write() {
			c.writes++
			if !s.failed() {
				c.writesOK++
			}
		}
	}
	return secs
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	ys := slices.Clone(xs)
	sort.Float64s(ys)
	return ys[len(ys)/2]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ys := slices.Clone(ds)
	slices.Sort(ys)
	i := int(float64(len(ys))*p+0.5) - 1
	return ys[max(0, min(i, len(ys)-1))]
}

// statusCounts says how requests failed or were refused, by status and by kind of request:
// "503×12 (cart-add 10, checkout 2); no answer×3 (product 3)" (codes ≥ 400 but the 409 and
// 422 of a refused form, and requests without an answer), or "none".
func statusCounts(samples []sample) string {
	counts := map[string]map[string]int{}
	for _, s := range samples {
		k := ""
		switch {
		case s.code == 0:
			k = "no answer"
		case s.code >= 400 && !(s.code == 409 || s.code == 422):
			k = strconv.Itoa(s.code)
		default:
			continue
		}
		if counts[k] == nil {
			counts[k] = map[string]int{}
		}
		counts[k][s.kind]++
	}
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range chaosKeys(counts) {
		n := 0
		var kinds []string
		for _, kind := range chaosKeys(counts[k]) {
			n += counts[k][kind]
			kinds = append(kinds, fmt.Sprintf("%s %d", kind, counts[k][kind]))
		}
		parts = append(parts, fmt.Sprintf("%s×%d (%s)", k, n, strings.Join(kinds, ", ")))
	}
	return strings.Join(parts, "; ")
}

func chaosKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
