package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// TestLoadNearCache measures a product page served from the near cache against a handler
// in the same binary that writes the same bytes, pre-rendered: peak requests per second of
// each, and the p50 latency of the product page at half its peak. It is a measurement, not
// a check, and runs only with SHOP_LOAD=1:
//
//	SHOP_LOAD=1 go test -run TestLoadNearCache -v ./handlers
//
// With SHOP_LOAD_OUT=file it also writes the figures there as JSON (make bench).
func TestLoadNearCache(t *testing.T) {
	if os.Getenv("SHOP_LOAD") == "" {
		t.Skip("a load measurement: set SHOP_LOAD=1 to run it")
	}
	shop := newStartedShop(t, testenv.SeededDBURL(t), withL1(cache.L1Options{Size: 10_000, TTL: time.Minute}))
	path := "/products/1"
	resp, err := http.Get(shop.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Cache") == "" {
		t.Fatal("no X-Cache")
	}
	prerendered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	defer prerendered.Close()

	attack := func(url string, rate vegeta.Rate, d time.Duration) *vegeta.Metrics {
		targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
		attacker := vegeta.NewAttacker(vegeta.Workers(32), vegeta.MaxWorkers(32), vegeta.KeepAlive(true))
		var m vegeta.Metrics
		for res := range attacker.Attack(targeter, rate, d, "load") {
			m.Add(res)
		}
		m.Close()
		if m.Success < 1 {
			t.Fatalf("%s: success ratio %.3f, errors %v", url, m.Success, m.Errors)
		}
		return &m
	}
	peak := vegeta.Rate{Freq: 0}               // as fast as 32 workers go
	attack(shop.URL+path, peak, 2*time.Second) // warm up
	shopPeak := attack(shop.URL+path, peak, 5*time.Second)
	staticPeak := attack(prerendered.URL, peak, 5*time.Second)
	half := attack(shop.URL+path, vegeta.Rate{Freq: int(shopPeak.Throughput / 2), Per: time.Second}, 5*time.Second)

	xcache := resp.Header.Get("X-Cache")
	var b strings.Builder
	fmt.Fprintf(&b, "product page (X-Cache after warm-up: %s; L1 serves it): %.0f req/s, p50 %v, p99 %v\n",
		xcache, shopPeak.Throughput, shopPeak.Latencies.P50, shopPeak.Latencies.P99)
	fmt.Fprintf(&b, "pre-rendered bytes (%d B): %.0f req/s, p50 %v\n", len(page), staticPeak.Throughput, staticPeak.Latencies.P50)
	fmt.Fprintf(&b, "ratio: %.2f\n", shopPeak.Throughput/staticPeak.Throughput)
	fmt.Fprintf(&b, "at half the product page's peak (%d req/s): p50 %v, p90 %v, p99 %v\n",
		int(shopPeak.Throughput/2), half.Latencies.P50, half.Latencies.P90, half.Latencies.P99)
	t.Log("\n" + b.String())
	if out := os.Getenv("SHOP_LOAD_OUT"); out != "" { // make bench reads this
		j, _ := json.Marshal(map[string]any{
			"page_bytes": len(page), "x_cache": xcache,
			"page_rps": shopPeak.Throughput, "page_p50_ms": ms(shopPeak.Latencies.P50), "page_p99_ms": ms(shopPeak.Latencies.P99),
			"static_rps": staticPeak.Throughput, "static_p50_ms": ms(staticPeak.Latencies.P50),
			"half_rate": int(shopPeak.Throughput / 2), "half_p50_ms": ms(half.Latencies.P50),
			"half_p90_ms": ms(half.Latencies.P90), "half_p99_ms": ms(half.Latencies.P99),
		})
		if err := os.WriteFile(out, j, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
