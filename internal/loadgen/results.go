package loadgen

import (
	"math"
	"slices"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Summary is what one run measured; it is written as summary.json. Latencies are in
// milliseconds, from the request's send to its response's last byte.
type Summary struct {
	Target      string           `json:"target"`
	Started     time.Time        `json:"started"`
	Rate        int              `json:"rate"`       // requested, per second (0: as fast as possible)
	Duration    float64          `json:"duration_s"` // requested
	Elapsed     float64          `json:"elapsed_s"`  // first request sent to last response
	Workers     int              `json:"workers"`
	Users       int              `json:"users"`
	Seed        uint64           `json:"seed"`
	Mix         map[Kind]float64 `json:"mix"`
	Zipf        ZipfSummary      `json:"zipf"`
	Interrupted bool             `json:"interrupted"` // stopped before the duration ended

	Requests   int             `json:"requests"`   // sent
	Responses  int             `json:"responses"`  // answered with an HTTP status
	Errors     map[string]int  `json:"errors"`     // requests without a response, by error
	Throughput float64         `json:"throughput"` // responses per second over Elapsed
	Orders     int             `json:"orders"`     // checkouts that placed an order
	Stats                      // over every kind
	Kinds      map[Kind]*Stats `json:"kinds"`
	Seconds    []Second        `json:"seconds"` // by the second the request was sent in

	latencies map[Kind][]float64 // every response's latency by kind, for the report
}

// ZipfSummary says how product ids were drawn.
type ZipfSummary struct {
	Fit
	Products int    `json:"products"` // ranks drawn from
	Source   string `json:"source"`
}

// Stats are the figures of a set of requests.
type Stats struct {
	Count    int            `json:"count"`  // requests
	Status   map[string]int `json:"status"` // responses by status code
	Latency  Latency        `json:"latency_ms"`
	XCache   map[string]int `json:"x_cache"`   // responses by X-Cache value (product pages carry one)
	HitRatio *float64       `json:"hit_ratio"` // (HIT-L1 + HIT-REDIS + STALE) / those plus MISS; null without any
}

// Latency holds quantiles (nearest rank) and the maximum, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Second is one second of the run.
type Second struct {
	T     int             `json:"t"` // seconds since the start
	Stats                 // every request sent in that second
	Kinds map[Kind]*Stats `json:"kinds"` // the same by kind
}

// sample is one result, reduced to what the summary needs.
type sample struct {
	kind    Kind
	code    int
	err     string
	ms      float64
	xcache  string
	second  int
	sentAt  time.Time
	endedAt time.Time
}

type collector struct {
	start   time.Time
	last    int // the last second of the run: requests sent just past its end count in it
	samples []sample
}

func newCollector(start time.Time, d time.Duration) *collector {
	return &collector{start: start, last: max(0, int((d+time.Second-1)/time.Second)-1)}
}

func (c *collector) add(kind Kind, r *vegeta.Result) {
	s := sample{kind: kind, code: int(r.Code), ms: float64(r.Latency) / float64(time.Millisecond),
		second: min(c.last, max(0, int(r.Timestamp.Sub(c.start)/time.Second))), sentAt: r.Timestamp, endedAt: r.End()}
	if r.Code == 0 {
		s.err = r.Error
	}
	if r.Headers != nil {
		s.xcache = r.Headers.Get("X-Cache")
	}
	c.samples = append(c.samples, s)
}

// stats computes the figures of samples.
func stats(samples []sample) Stats {
	st := Stats{Count: len(samples), Status: map[string]int{}, XCache: map[string]int{}}
	var ms []float64
	hits, lookups := 0, 0
	for _, s := range samples {
		if s.code == 0 {
			continue
		}
		st.Status[strconv.Itoa(s.code)]++
		ms = append(ms, s.ms)
		if s.xcache == "" {
			continue
		}
		st.XCache[s.xcache]++
		switch s.xcache {
		case "HIT-L1", "HIT-REDIS", "STALE":
			hits++
			lookups++
		case "MISS":
			lookups++
		}
	}
	if lookups > 0 {
		r := float64(hits) / float64(lookups)
		st.HitRatio = &r
	}
	st.Latency = latency(ms)
	return st
}

func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	slices.Sort(ms)
	q := func(p float64) float64 {
		return ms[min(len(ms)-1, max(0, int(math.Ceil(p*float64(len(ms))))-1))]
	}
	sum := 0.0
	for _, v := range ms {
		sum += v
	}
	return Latency{P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: ms[len(ms)-1], Mean: sum / float64(len(ms))}
}

func (c *collector) summary() *Summary {
	s := &Summary{Started: c.start, Errors: map[string]int{}, Kinds: map[Kind]*Stats{}, Requests: len(c.samples)}
	s.Stats = stats(c.samples)
	byKind := map[Kind][]sample{}
	var first, last time.Time
	seconds := 0
	for _, x := range c.samples {
		byKind[x.kind] = append(byKind[x.kind], x)
		if x.code == 0 {
			s.Errors[x.err]++
		} else {
			s.Responses++
		}
		if first.IsZero() || x.sentAt.Before(first) {
			first = x.sentAt
		}
		if x.endedAt.After(last) {
			last = x.endedAt
		}
		seconds = max(seconds, x.second+1)
	}
	s.latencies = map[Kind][]float64{}
	for k, xs := range byKind {
		st := stats(xs)
		s.Kinds[k] = &st
		for _, x := range xs {
			if x.code != 0 {
				s.latencies[k] = append(s.latencies[k], x.ms)
			}
		}
	}
	if !first.IsZero() {
		s.Elapsed = last.Sub(first).Seconds()
		if s.Elapsed > 0 {
			s.Throughput = float64(s.Responses) / s.Elapsed
		}
	}
	bySecond := make([][]sample, seconds)
	for _, x := range c.samples {
		bySecond[x.second] = append(bySecond[x.second], x)
	}
	for t, xs := range bySecond {
		sec := Second{T: t, Stats: stats(xs), Kinds: map[Kind]*Stats{}}
		kinds := map[Kind][]sample{}
		for _, x := range xs {
			kinds[x.kind] = append(kinds[x.kind], x)
		}
		for k, ks := range kinds {
			st := stats(ks)
			sec.Kinds[k] = &st
		}
		s.Seconds = append(s.Seconds, sec)
	}
	return s
}
