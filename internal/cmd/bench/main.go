// Command bench is `make bench`: it measures the figures of issue 15's table in one run —
// Go benchmarks, the near-cache load test, Redis round trips per page, the Zipf load with
// the cache on and off through `shop load`, and resident memory after a first start — and
// writes them, with the machine and the settings, between the markers of docs/benchmarks.md,
// and the comparison chart to docs/benchmarks-cache.svg (internal/chart).
//
// It runs the shop it builds on -addr, with Redis keys under -prefix and the database -db
// (dropped and seeded again: its first start is the memory measurement), so it can run
// beside other shops:
//
//	make bench
//	go run ./internal/cmd/bench -addr 127.0.0.1:18081 -prefix bench: -db shop_bench
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/shopcache/shop/internal/chart"
	"github.com/shopcache/shop/internal/loadgen"
)

const (
	beginMark = "<!-- make bench: begin -->"
	endMark   = "<!-- make bench: end -->"
)

type options struct {
	addr, prefix, db string
	load, warm       time.Duration
	latency          string
	doc, svg         string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:18081", "where the measured shop listens")
	flag.StringVar(&o.prefix, "prefix", "bench:", "Redis key prefix of the measured shop (its keys are deleted)")
	flag.StringVar(&o.db, "db", "shop_bench", "Postgres database of the measured shop (dropped and seeded again)")
	flag.DurationVar(&o.load, "duration", 15*time.Second, "length of each load run")
	flag.DurationVar(&o.warm, "warmup", 5*time.Second, "warm-up before each load run")
	flag.StringVar(&o.latency, "db-latency", "50ms", "SHOP_DB_LATENCY of the cache on/off runs")
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "document whose marked section is rewritten")
	flag.StringVar(&o.svg, "svg", "docs/benchmarks-cache.svg", "chart of the cache on/off runs")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// figures is everything measured.
type figures struct {
	machine  string
	loadBeg  string
	loadEnd  string
	goBench  map[string]float64 // ns/op by sub-benchmark
	near     nearCache
	tripsAn  int
	tripsIn  int
	rss      int // kB after the first start
	hwm      int // kB peak during it
	on, off  *loadgen.Summary
	duration time.Duration
}

type nearCache struct {
	PageRPS   float64 `json:"page_rps"`
	PageP50   float64 `json:"page_p50_ms"`
	StaticRPS float64 `json:"static_rps"`
	StaticP50 float64 `json:"static_p50_ms"`
	HalfRate  int     `json:"half_rate"`
	HalfP50   float64 `json:"half_p50_ms"`
	HalfP90   float64 `json:"half_p90_ms"`
	HalfP99   float64 `json:"half_p99_ms"`
	Bytes     int     `json:"page_bytes"`
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "shop-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	f := figures{machine: machine(), loadBeg: loadavg(), duration: o.load}
	shop := filepath.Join(tmp, "shop")
	step("build the shop")
	if err := sh(nil, "go", "build", "-o", shop, "./cmd/shop"); err != nil {
		return err
	}

	step("Go benchmark: product page in process")
	out, err := output(nil, "go", "test", "-run", "^$", "-bench", "ProductPage", "-benchmem", "-count", "1", "./handlers")
	if err != nil {
		return err
	}
	f.goBench = parseBench(out)

	step("near-cache load test (vegeta, 32 workers)")
	nearOut := filepath.Join(tmp, "near.json")
	if err := sh([]string{"SHOP_LOAD=1", "SHOP_LOAD_OUT=" + nearOut}, "go", "test", "-count", "1", "-run", "TestLoadNearCache", "./handlers"); err != nil {
		return err
	}
	if err := readJSON(nearOut, &f.near); err != nil {
		return err
	}

	dbURL := "postgres://postgres@127.0.0.1:5432/" + o.db + "?sslmode=disable"
	step("first start into an empty database: in-process import, then resident memory")
	if err := sh(nil, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
		fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, o.db)); err != nil {
		return err
	}
	env := []string{"SHOP_DATABASE_URL=" + dbURL, "SHOP_REDIS_KEY_PREFIX=" + o.prefix, "SHOP_ADDR=" + o.addr,
		"SHOP_LOG_LEVEL=warn", "SHOP_SIGNUP_LIMIT_IP=off", "SHOP_LOGIN_LIMIT_IP=off", "SHOP_LOGIN_LIMIT_ACCOUNT=off"}
	base := "http://" + o.addr
	err = withShop(shop, env, o.prefix, base, func(pid int) error {
		time.Sleep(time.Second)
		f.rss, f.hwm = procStatus(pid, "VmRSS"), procStatus(pid, "VmHWM")
		step("Redis round trips of a product page from L1 (the page's footer)")
		f.tripsAn, f.tripsIn, err = roundTrips(base)
		return err
	})
	if err != nil {
		return err
	}

	for _, cache := range []string{"on", "off"} {
		step("Zipf load of product pages, cache " + cache + ", SHOP_DB_LATENCY=" + o.latency)
		runEnv := append(env[:len(env):len(env)], "SHOP_SEED=false", "SHOP_CACHE="+cache, "SHOP_DB_LATENCY="+o.latency)
		var s loadgen.Summary
		err := withShop(shop, runEnv, o.prefix, base, func(int) error {
			load := func(d time.Duration, dir string) error {
				return sh(nil, shop, "load", "-target", base, "-rate", "0", "-workers", "32", "-users", "0",
					"-browse", "0", "-search", "0", "-product", "1", "-signin", "0", "-cart", "0", "-checkout", "0",
					"-duration", d.String(), "-out", dir)
			}
			if err := load(o.warm, filepath.Join(tmp, "warm-"+cache)); err != nil {
				return err
			}
			dir := filepath.Join(tmp, "load-"+cache)
			if err := load(o.load, dir); err != nil {
				return err
			}
			return readJSON(filepath.Join(dir, "summary.json"), &s)
		})
		if err != nil {
			return err
		}
		if cache == "on" {
			f.on = &s
		} else {
			f.off = &s
		}
	}
	f.loadEnd = loadavg()

	step("write " + o.doc + " and " + o.svg)
	if err := os.WriteFile(o.svg, []byte(svg(f, o)), 0o644); err != nil {
		return err
	}
	return rewrite(o.doc, table(f, o))
}

func step(s string) { fmt.Fprintf(os.Stderr, "== %s\n", s) }

func sh(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func output(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&b, os.Stderr), os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return b.String(), nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

var benchLine = regexp.MustCompile(`^BenchmarkProductPage/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

func parseBench(out string) map[string]float64 {
	m := map[string]float64{}
	for line := range strings.Lines(out) {
		if g := benchLine.FindStringSubmatch(line); g != nil {
			m[g[1]], _ = strconv.ParseFloat(g[2], 64)
		}
	}
	return m
}

// withShop runs the shop binary with env (after deleting the prefix's Redis keys), waits
// until it is ready, calls f with its pid, and stops it gracefully.
func withShop(bin string, env []string, prefix, base string, f func(pid int) error) error {
	if err := exec.Command("sh", "-c", fmt.Sprintf("redis-cli --scan --pattern '%s*' | xargs -r redis-cli del >/dev/null", prefix)).Run(); err != nil {
		return fmt.Errorf("delete %s* keys: %w", prefix, err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	deadline := time.Now().Add(5 * time.Minute) // a first start imports the order history
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return errors.New("the shop did not get ready within 5 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	return f(cmd.Process.Pid)
}

func procStatus(pid int, field string) int {
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

var footer = regexp.MustCompile(`Redis round trips: <b>(\d+)</b>`)

// roundTrips reads the footer of /products/1's third read, anonymous and signed in with a
// cart.
func roundTrips(base string) (anon, signedIn int, err error) {
	read := func(c *http.Client) (int, error) {
		var n int
		for range 3 {
			resp, err := c.Get(base + "/products/1")
			if err != nil {
				return 0, err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			g := footer.FindSubmatch(b)
			if g == nil {
				return 0, errors.New("no round trips in the page's footer")
			}
			n, _ = strconv.Atoi(string(g[1]))
			time.Sleep(300 * time.Millisecond) // let the view batch go out, as between clicks
		}
		return n, nil
	}
	if anon, err = read(http.DefaultClient); err != nil {
		return 0, 0, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, form url.Values) error {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	if err := post("/register", url.Values{"email": {email}, "name": {"Bench"}, "password": {"a fine long password"}}); err != nil {
		return 0, 0, err
	}
	if err := post("/cart/items", url.Values{"product_id": {"2"}, "quantity": {"1"}}); err != nil {
		return 0, 0, err
	}
	signedIn, err = read(c)
	return anon, signedIn, err
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := procMeminfo()
	pg, _ := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-Atc", "SHOW server_version").Output()
	rv, _ := exec.Command("redis-cli", "INFO", "server").Output()
	redisVersion := "?"
	for line := range strings.Lines(string(rv)) {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			redisVersion = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s RAM; %s; PostgreSQL %s and Redis %s on the same machine over TCP loopback",
		runtime.NumCPU(), cpu, mem, runtime.Version(), strings.TrimSpace(string(pg)), redisVersion)
}

func procMeminfo() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func table(f figures, o options) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	staticRatio := ratio(f.near.PageRPS, f.near.StaticRPS)
	onOff := ratio(f.on.Throughput, f.off.Throughput)
	w("## Issue 15: the measured table (`make bench`)\n\n")
	w("Written by `make bench` (`go run ./internal/cmd/bench`) on %s. Machine: %s. Load average %s before, %s after",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), f.machine, f.loadBeg, f.loadEnd)
	w(" (a load above the core count means other work shared the machine: the ratios hold up better than the absolute numbers).\n\n")
	w("| measure | measured | goal | |\n| --- | --- | --- | --- |\n")
	w("| product page, L1 hit ÷ pre-rendered bytes handler (vegeta, 32 workers, peak) | %.0f ÷ %.0f req/s = **%.2f** | ≥ 0.70 | %s |\n",
		f.near.PageRPS, f.near.StaticRPS, staticRatio, verdict(staticRatio >= 0.70))
	if an, st := f.goBench["anonymous"], f.goBench["pre-rendered"]; an > 0 && st > 0 {
		w("| the same in process, no network (Go benchmark, anonymous / signed in / pre-rendered) | %.1f / %.1f / %.1f µs | – | ratio %.2f / %.2f |\n",
			an/1000, f.goBench["signed-in"]/1000, st/1000, st/an, st/f.goBench["signed-in"])
	}
	w("| Redis round trips, product page, L1 hit, anonymous (page footer) | **%d** | 0 before the response | %s |\n", f.tripsAn, verdict(f.tripsAn == 0))
	w("| same, signed in with a cart | **%d** | 1 | %s |\n", f.tripsIn, verdict(f.tripsIn <= 1))
	w("| cache on ÷ off, Zipf load of product pages, `SHOP_DB_LATENCY=%s` (`shop load`, 32 workers, %s) | %.0f ÷ %.0f req/s = **%.1f×** | ≥ 50× | %s |\n",
		o.latency, f.duration, f.on.Throughput, f.off.Throughput, onOff, verdict(onOff >= 50))
	w("| p50 of a cached product page at half of peak (%d req/s) | **%.2f ms** (p90 %.2f, p99 %.2f) | ≤ 0.25 ms | %s |\n",
		f.near.HalfRate, f.near.HalfP50, f.near.HalfP90, f.near.HalfP99, verdict(f.near.HalfP50 <= 0.25))
	w("| RSS after the first start imported the order history in-process | **%.1f MiB** (peak during the import %.0f MiB) | ≤ 64 MiB | %s |\n\n",
		float64(f.rss)/1024, float64(f.hwm)/1024, verdict(float64(f.rss)/1024 <= 64))
	w("Cache on and off under the same load (p50 / p99 / hit ratio): on %.1f / %.1f ms / %s; off %.1f / %.1f ms.\n\n",
		f.on.Latency.P50, f.on.Latency.P99, pct(f.on.HitRatio), f.off.Latency.P50, f.off.Latency.P99)
	w("![Requests per second, cache on and off](%s)\n\n", filepath.Base(o.svg))
	w("Settings: the shop's defaults (near cache 10,000 entries for 5 s, view batches every 100 ms, flush every 5 s) but `SHOP_LOG_LEVEL=warn` and the sign-in limits off; "+
		"the Zipf runs read only product pages (`shop load -rate 0 -workers 32 -users 0 -product 1`, the other weights 0, a %s warm-up first), ids drawn as `shop load` draws them (s = 0.647 over the real history); "+
		"the near-cache test reads `/products/1` from a test shop with a 1-minute near cache; the round trips are the footer's count on the third read of `/products/1`. "+
		"How each is measured: `SHOP_LOAD=1 go test -run TestLoadNearCache -v ./handlers`, `go test -run '^$' -bench ProductPage -benchmem ./handlers`, `shop load` (docs/benchmarks.md: Load runs), `/proc/<pid>/status` VmRSS one second after `/readyz`.\n\n", o.warm)
	w("Re-run on a quiet machine: `make bench` (or `go run ./internal/cmd/bench -addr 127.0.0.1:18081 -prefix bench: -db shop_bench`).\n")
	return b.String()
}

func pct(r *float64) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100**r)
}

func svg(f figures, o options) string {
	series := func(name string, s *loadgen.Summary) chart.Series {
		ser := chart.Series{Name: name}
		for _, sec := range s.Seconds {
			ser.Points = append(ser.Points, chart.Point{X: float64(sec.T), Y: float64(sec.Count)})
		}
		return ser
	}
	c := chart.Line{
		Title:  fmt.Sprintf("Product pages per second, Zipf load, SHOP_DB_LATENCY=%s: cache on and off", o.latency),
		XLabel: "time (s)",
		YLabel: "requests sent per second",
		Series: []chart.Series{series("cache on", f.on), series("cache off", f.off)},
	}
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + string(c.SVG()) + "\n"
}

// rewrite replaces the text between the markers of doc with s (or puts the markers and s
// after the document's first paragraph when it has none).
func rewrite(doc, s string) error {
	b, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	text := string(b)
	section := beginMark + "\n" + s + endMark
	i, j := strings.Index(text, beginMark), strings.Index(text, endMark)
	switch {
	case i >= 0 && j > i:
		text = text[:i] + section + text[j+len(endMark):]
	default:
		k := strings.Index(text, "\n\n## ")
		if k < 0 {
			k = len(text)
		}
		text = text[:k] + "\n\n" + section + text[k:]
	}
	return os.WriteFile(doc, []byte(text), 0o644)
}
