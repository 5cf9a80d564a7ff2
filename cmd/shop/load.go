package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/shopcache/shop/internal/loadgen"
)

const loadUsage = `usage: shop load [flags]

Sends shoppers to a running shop at a fixed rate for a fixed time, then writes
OUT/summary.json (every figure) and OUT/report.html (one page, SVG charts: latency
percentiles, requests, cache hit ratio and statuses over time).

The shopper mix (relative weights, set with the flags below):
  browse    GET /products?page=N    the listing; page 1 half the time, page 2 a quarter, …
  search    GET /search?q=WORD      a word of a product's name
  product   GET /products/ID        a product page
  signin    POST /login             a load account signs in (a new session)
  cart      POST /cart/items        a signed-in load account adds one of a product
  checkout  GET /cart, then         a load account with a full cart looks at it, and on
            POST /checkout          its next checkout step places the order (real orders:
                                    they take stock and move the bestseller boards)
Product ids (product, cart, and search words) are drawn from a Zipf law fitted to the real
order history of the online-retail data set, most sold first; the target must have been
seeded with it first (shop serve does that on an empty database). shop load checks this
before it starts.

Before the run, shop load signs in USERS load accounts (shop-load-N@load.example), signing
them up the first time. The shop limits sign-ups and sign-ins per client address and
sign-ins per account (SHOP_SIGNUP_LIMIT_IP 20/h, SHOP_LOGIN_LIMIT_IP 50/min,
SHOP_LOGIN_LIMIT_ACCOUNT 10/min by default), and all of a load run comes from one address:
start the target with
    SHOP_SIGNUP_LIMIT_IP=off SHOP_LOGIN_LIMIT_IP=off SHOP_LOGIN_LIMIT_ACCOUNT=off
(or limits above what the run sends), or expect 429s in the signin figures.

Two runs at once against one shop share the load accounts and spoil each other's checkouts
(409, 422): run one at a time.

A progress bar is drawn when standard output is a terminal. Interrupting (Ctrl-C) stops
the run and still writes what it measured.

Flags:
`

// loadCommand is `shop load`: it parses the flags and hands the run to internal/loadgen.
func loadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("load", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprintln(flags.Output(), "usage: shop load [flags]; shop load --help lists them") }
	mix := loadgen.DefaultMix
	cfg := loadgen.Config{}
	flags.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "the shop's base `URL`")
	flags.IntVar(&cfg.Rate, "rate", 20, "requests per second; 0 sends as fast as -workers allow")
	flags.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to send requests")
	flags.IntVar(&cfg.Workers, "workers", 64, "most requests in flight at once")
	flags.IntVar(&cfg.Users, "users", 20, "load accounts signed in before the run (0: no signin, cart or checkout)")
	flags.Float64Var(&mix.Browse, "browse", mix.Browse, "weight of listing pages")
	flags.Float64Var(&mix.Search, "search", mix.Search, "weight of searches")
	flags.Float64Var(&mix.Product, "product", mix.Product, "weight of product pages")
	flags.Float64Var(&mix.SignIn, "signin", mix.SignIn, "weight of sign-ins")
	flags.Float64Var(&mix.CartAdd, "cart", mix.CartAdd, "weight of adds to cart")
	flags.Float64Var(&mix.Checkout, "checkout", mix.Checkout, "weight of checkout steps (cart page, then order)")
	flags.Uint64Var(&cfg.Seed, "seed", 1, "seed of every random choice")
	flags.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per request")
	out := flags.String("out", "load-report", "`directory` to write summary.json and report.html to")
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, loadUsage)
			flags.SetOutput(stdout)
			flags.PrintDefaults()
			return nil
		}
	}
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("%w: load: %v", errUsage, err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("%w: load takes no positional arguments, got %q", errUsage, flags.Args())
	}
	cfg.Mix = mix
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: load: %v", errUsage, err)
	}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = stdout
	}
	s, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := loadgen.Write(*out, s); err != nil {
		return fmt.Errorf("load: write results: %w", err)
	}
	fmt.Fprintf(stdout, "%d requests, %d responses in %.1fs (%.1f/s); p50 %.1f ms, p99 %.1f ms",
		s.Requests, s.Responses, s.Elapsed, s.Throughput, s.Latency.P50, s.Latency.P99)
	if s.HitRatio != nil {
		fmt.Fprintf(stdout, "; hit ratio %.1f %%", 100**s.HitRatio)
	}
	fmt.Fprintf(stdout, "; %d orders\n%s\n%s\n", s.Orders,
		filepath.Join(*out, loadgen.SummaryFile), filepath.Join(*out, loadgen.ReportFile))
	return nil
}
