package loadgen

import (
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestSummary(t *testing.T) {
	start := time.Now()
	c := newCollector(start, 2*time.Second)
	add := func(kind Kind, at time.Duration, code int, ms int, xcache string) {
		r := &vegeta.Result{Code: uint16(code), Timestamp: start.Add(at), Latency: time.Duration(ms) * time.Millisecond}
		if code == 0 {
			r.Error = "connection refused"
		} else {
			r.Headers = http.Header{}
			if xcache != "" {
				r.Headers.Set("X-Cache", xcache)
			}
		}
		c.add(kind, r)
	}
	// Second 0: 100 product pages of 1..100 ms, 3 of 4 hits; second 1: a listing, a
	// refused connection; just past the end (2.01 s): a listing that counts in second 1.
	for i := 1; i <= 100; i++ {
		x := "HIT-L1"
		if i%4 == 0 {
			x = "MISS"
		}
		add(Product, time.Duration(i)*time.Millisecond, 200, i, x)
	}
	add(Browse, 1500*time.Millisecond, 200, 7, "")
	add(Browse, 1600*time.Millisecond, 0, 30000, "")
	add(Browse, 2010*time.Millisecond, 503, 9, "")
	s := c.summary()

	if s.Requests != 103 || s.Responses != 102 || s.Errors["connection refused"] != 1 {
		t.Errorf("requests %d, responses %d, errors %v; want 103, 102, 1 refused", s.Requests, s.Responses, s.Errors)
	}
	p := s.Kinds[Product]
	if p.Latency.P50 != 50 || p.Latency.P90 != 90 || p.Latency.P99 != 99 || p.Latency.Max != 100 || p.Latency.Mean != 50.5 {
		t.Errorf("product latency %+v, want p50 50, p90 90, p99 99, max 100, mean 50.5", p.Latency)
	}
	if p.HitRatio == nil || *p.HitRatio != 0.75 || p.XCache["HIT-L1"] != 75 || p.XCache["MISS"] != 25 {
		t.Errorf("product hit ratio %v, X-Cache %v; want 0.75 of 75 hits and 25 misses", p.HitRatio, p.XCache)
	}
	if b := s.Kinds[Browse]; b.HitRatio != nil || b.Count != 3 || b.Status["200"] != 1 || b.Status["503"] != 1 {
		t.Errorf("browse %+v: want 3 requests, a 200 and a 503, no hit ratio", b)
	}
	if len(s.Seconds) != 2 || s.Seconds[0].Count != 100 || s.Seconds[1].Count != 3 || s.Seconds[1].Kinds[Browse].Count != 3 {
		t.Errorf("seconds %+v: want 100 requests then 3", s.Seconds)
	}
	if s.Status["200"] != 101 || s.Status["503"] != 1 {
		t.Errorf("status %v", s.Status)
	}
}
