package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/shopcache/shop/internal/chart"
)

// The files Write puts in its directory.
const (
	SummaryFile = "summary.json"
	ReportFile  = "report.html"
)

// Write writes the summary as dir/summary.json and the report as dir/report.html (one
// self-contained page: inline CSS and SVG charts, nothing fetched), creating dir if needed.
// The report's latency distribution chart needs the latencies that Run keeps in its
// Summary; a Summary read back from JSON has none, and the report leaves that chart out.
func Write(dir string, s *Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, reportData(s, s.latencies)); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), b.Bytes(), 0o644)
}

type kindRow struct {
	Kind  Kind
	Stats *Stats
}

type report struct {
	S      *Summary
	Rows   []kindRow
	Charts []template.HTML
}

// kindsIn returns the kinds present in s, in report order.
func kindsIn(s *Summary) []Kind {
	var out []Kind
	for _, k := range Kinds {
		if s.Kinds[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

func reportData(s *Summary, samples map[Kind][]float64) report {
	r := report{S: s}
	for _, k := range kindsIn(s) {
		r.Rows = append(r.Rows, kindRow{k, s.Kinds[k]})
	}
	nan := math.NaN()
	series := func(name string, y func(Second) float64) chart.Series {
		sr := chart.Series{Name: name}
		for _, sec := range s.Seconds {
			sr.Points = append(sr.Points, chart.Point{X: float64(sec.T), Y: y(sec)})
		}
		return sr
	}
	answered := func(st *Stats) bool { return st != nil && len(st.Status) > 0 }

	lat := chart.Line{Title: "Latency percentiles per second (all requests)", XLabel: "time (s)", YLabel: "latency (ms)",
		Desc: "Each point is the percentile of the requests sent in that second."}
	for _, q := range []struct {
		name string
		f    func(Latency) float64
	}{{"p50", func(l Latency) float64 { return l.P50 }}, {"p90", func(l Latency) float64 { return l.P90 }}, {"p99", func(l Latency) float64 { return l.P99 }}} {
		lat.Series = append(lat.Series, series(q.name, func(sec Second) float64 {
			if !answered(&sec.Stats) {
				return nan
			}
			return q.f(sec.Latency)
		}))
	}

	thr := chart.Line{Title: "Requests per second, by kind", XLabel: "time (s)", YLabel: "requests/s"}
	thr.Series = append(thr.Series, series("all", func(sec Second) float64 { return float64(sec.Count) }))
	for _, k := range kindsIn(s) {
		thr.Series = append(thr.Series, series(string(k), func(sec Second) float64 {
			if st := sec.Kinds[k]; st != nil {
				return float64(st.Count)
			}
			return 0
		}))
	}

	hit := chart.Line{Title: "Cache hit ratio per second (X-Cache)", XLabel: "time (s)", YLabel: "hit ratio (%)", YMin: 0, YMax: 100,
		Desc: "Hits are HIT-L1, HIT-REDIS and STALE; the ratio is over those and MISS. Seconds without a lookup are gaps."}
	ratio := func(st *Stats) float64 {
		if st == nil || st.HitRatio == nil {
			return nan
		}
		return 100 * *st.HitRatio
	}
	for _, k := range kindsIn(s) {
		if s.Kinds[k].HitRatio != nil {
			hit.Series = append(hit.Series, series(string(k), func(sec Second) float64 { return ratio(sec.Kinds[k]) }))
		}
	}
	if len(hit.Series) != 1 { // with one kind, "all" would be the same line
		hit.Series = append([]chart.Series{series("all", func(sec Second) float64 { return ratio(&sec.Stats) })}, hit.Series...)
	}

	status := chart.Line{Title: "Responses per second, by status", XLabel: "time (s)", YLabel: "responses/s"}
	classes := map[string]bool{}
	for code := range s.Status {
		classes[code[:1]+"xx"] = true
	}
	for _, class := range []string{"2xx", "3xx", "4xx", "5xx"} {
		if !classes[class] {
			continue
		}
		status.Series = append(status.Series, series(class, func(sec Second) float64 {
			n := 0
			for code, c := range sec.Status {
				if code[:1] == class[:1] {
					n += c
				}
			}
			return float64(n)
		}))
	}
	if len(s.Errors) > 0 {
		status.Series = append(status.Series, series("no response", func(sec Second) float64 {
			n := sec.Count
			for _, c := range sec.Status {
				n -= c
			}
			return float64(n)
		}))
	}
	r.Charts = []template.HTML{lat.HTML(), thr.HTML(), hit.HTML(), status.HTML()}

	if samples != nil {
		d := chart.CDF{Title: "Latency distribution, by kind", XLabel: "latency (ms)"}
		for _, k := range kindsIn(s) {
			if len(samples[k]) > 0 {
				d.Samples = append(d.Samples, chart.Sample{Name: string(k), Values: samples[k]})
			}
		}
		r.Charts = append(r.Charts, d.HTML())
	}
	return r
}

func ms(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func pct(p *float64) string {
	if p == nil {
		return "–"
	}
	return strconv.FormatFloat(100**p, 'f', 1, 64) + " %"
}

// counts formats a map of counts as "k n, k n" in key order.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s: %d", k, m[k])
	}
	if out == "" {
		return "–"
	}
	return out
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": ms, "pct": pct, "counts": counts,
	"f1": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shop load: {{.S.Target}}</title>
<style>
body { font-family: system-ui, -apple-system, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem; color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ccc; padding: .25rem .6rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
.scroll { overflow-x: auto; }
figure.chart { margin: 1.5rem 0; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
details { font-size: .9rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
</style>
</head>
<body>
<h1>shop load</h1>
<dl>
<dt>target</dt><dd>{{.S.Target}}</dd>
<dt>started</dt><dd>{{.S.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}{{if .S.Interrupted}} (interrupted){{end}}</dd>
<dt>asked</dt><dd>{{if .S.Rate}}{{.S.Rate}} req/s{{else}}as fast as possible{{end}} for {{f1 .S.Duration}} s, at most {{.S.Workers}} in flight, {{.S.Users}} load accounts, seed {{.S.Seed}}</dd>
<dt>mix</dt><dd>{{range $k, $w := .S.Mix}}{{$k}} {{$w}} {{end}}</dd>
<dt>popularity</dt><dd>Zipf, s = {{printf "%.3f" .S.Zipf.S}} fitted over the top {{.S.Zipf.Ranks}} of {{.S.Zipf.Products}} products (residual {{printf "%.3f" .S.Zipf.Residual}}); {{.S.Zipf.Source}}</dd>
<dt>result</dt><dd>{{.S.Requests}} requests, {{.S.Responses}} responses in {{f1 .S.Elapsed}} s ({{f1 .S.Throughput}}/s), {{.S.Orders}} orders placed{{if .S.Errors}}; without response: {{counts .S.Errors}}{{end}}</dd>
</dl>
<h2>By kind</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">kind</th><th scope="col">requests</th><th scope="col">status</th><th scope="col">p50 ms</th><th scope="col">p90 ms</th><th scope="col">p99 ms</th><th scope="col">max ms</th><th scope="col">X-Cache</th><th scope="col">hit ratio</th></tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Kind}}</th><td>{{.Stats.Count}}</td><td>{{counts .Stats.Status}}</td><td>{{ms .Stats.Latency.P50}}</td><td>{{ms .Stats.Latency.P90}}</td><td>{{ms .Stats.Latency.P99}}</td><td>{{ms .Stats.Latency.Max}}</td><td>{{counts .Stats.XCache}}</td><td>{{pct .Stats.HitRatio}}</td></tr>
{{end}}<tr><th scope="row">all</th><td>{{.S.Count}}</td><td>{{counts .S.Status}}</td><td>{{ms .S.Latency.P50}}</td><td>{{ms .S.Latency.P90}}</td><td>{{ms .S.Latency.P99}}</td><td>{{ms .S.Latency.Max}}</td><td>{{counts .S.XCache}}</td><td>{{pct .S.HitRatio}}</td></tr>
</tbody></table></div>
<h2>Over time</h2>
{{range .Charts}}{{.}}
{{end}}
<p>The figures behind this page are in summary.json beside it.</p>
</body>
</html>
`))
