package chart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
)

// Sample is one named set of measurements, in any order.
type Sample struct {
	Name   string
	Values []float64
}

// CDF is a chart of the cumulative distribution of one or more samples: for each value x on
// a logarithmic x axis, the percentage of the sample at or below x. Two latency samples
// drawn together show the whole of both distributions, median and tail, on one screen.
// NaN and infinite values are left out; values ≤ 0 (which a log axis cannot place) are
// drawn at the axis's left edge.
type CDF struct {
	ID      string // the <svg>'s id; empty: derived from Title and the sample names
	Title   string // the chart's accessible name and the figure caption
	Desc    string // optional sentence put before the generated summary in <desc>
	XLabel  string // x axis title with unit, e.g. "latency (ms)"
	Samples []Sample
}

// cdfPoints is the most points one sample's line is drawn with.
const cdfPoints = 300

// sorted returns the sample's finite values, sorted.
func (s Sample) sorted() []float64 {
	v := slices.DeleteFunc(slices.Clone(s.Values), func(x float64) bool { return !finite(x) })
	slices.Sort(v)
	return v
}

// quantile returns the nearest-rank q-quantile (0 < q ≤ 1) of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// SVG returns the chart as one <svg> element.
func (c CDF) SVG() template.HTML {
	var b strings.Builder
	c.write(&b)
	return template.HTML(b.String())
}

// HTML returns the chart in a <figure>: the Title as caption, the <svg>, and a table of each
// sample's count, p50, p90, p99 and maximum inside a <details> element.
func (c CDF) HTML() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>%s</figcaption>`, esc(c.Title))
	c.write(&b)
	c.writeTable(&b)
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

var cdfQuantiles = []struct {
	name string
	q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1}}

func (c CDF) write(b *strings.Builder) {
	var names []string
	sorted := make([][]float64, len(c.Samples))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range c.Samples {
		names = append(names, s.Name)
		sorted[i] = s.sorted()
		for _, v := range sorted[i] {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	ok := hi > 0
	if !ok {
		lo, hi = 1, 10
	}
	id := chartID(c.ID, c.Title, names)
	xt := logTicks(lo, hi)
	llo, lhi := math.Log10(xt[0]), math.Log10(xt[len(xt)-1])

	var items []legendItem
	for i, s := range c.Samples {
		items = append(items, legendItem{s.Name, styleOf(i)})
	}
	_, _, nrows := legendLayout(items)
	x0, x1 := float64(marginL), float64(width-marginR)
	y0, y1 := float64(marginT), float64(marginT+plotHeight)
	height := marginT + plotHeight + axisRoom + nrows*legendRow + 6
	sx := func(v float64) float64 {
		if v <= 0 {
			return x0
		}
		return x0 + (math.Log10(v)-llo)/(lhi-llo)*(x1-x0)
	}
	sy := func(frac float64) float64 { return y1 - frac*(y1-y0) }

	svgOpen(b, id, height, c.Title, c.summary(sorted))
	b.WriteString(`<g class="y-axis" fill="#444" text-anchor="end">`)
	for _, p := range []float64{0, 25, 50, 75, 90, 100} {
		y := sy(p / 100)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`, coord(x0), coord(y), coord(x1), coord(y))
		fmt.Fprintf(b, `<text x="%s" y="%s">%s%%</text>`, coord(x0-6), coord(y+5), num(p, 0))
	}
	b.WriteString(`</g><g class="x-axis" fill="#444" text-anchor="middle">`)
	for _, v := range xt {
		x := sx(v)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`, coord(x), coord(y0), coord(x), coord(y1))
		fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`, coord(x), coord(y1+18), logLabel(v))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#767676"/>`, coord(x0), coord(y1), coord(x1), coord(y1))
	fmt.Fprintf(b, `<text class="x-title" x="%s" y="%s" text-anchor="middle" fill="#222">%s (log scale)</text>`,
		coord((x0+x1)/2), coord(y1+37), esc(c.XLabel))
	fmt.Fprintf(b, `<text class="y-title" transform="rotate(-90)" x="%s" y="15" text-anchor="middle" fill="#222">at or below (%%)</text>`,
		coord(-(y0+y1)/2))
	if !ok {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="#444">no data yet</text>`, coord((x0+x1)/2), coord((y0+y1)/2))
	}
	for i, v := range sorted {
		st := styleOf(i)
		fmt.Fprintf(b, `<g class="series" data-series="%d">`, i)
		if len(v) > 0 {
			var d strings.Builder
			fmt.Fprintf(&d, "M%s %s", coord(sx(v[0])), coord(sy(0)))
			n := len(v)
			steps := min(n, cdfPoints)
			for k := 1; k <= steps; k++ {
				// The k-th of steps evenly spaced ranks; all of them when n ≤ cdfPoints.
				r := int(math.Ceil(float64(k)*float64(n)/float64(steps))) - 1
				fmt.Fprintf(&d, "L%s %s", coord(sx(v[r])), coord(sy(float64(r+1)/float64(n))))
			}
			fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"%s/>`,
				d.String(), st.Colour, dashAttr(st.Dash))
		}
		b.WriteString(`</g>`)
	}
	writeLegend(b, items, y1+float64(axisRoom)+legendRow-4)
	b.WriteString(`</svg>`)
}

// summary is the generated text alternative put in <desc>: per sample, its size and
// quantiles.
func (c CDF) summary(sorted [][]float64) string {
	var b strings.Builder
	if c.Desc != "" {
		b.WriteString(strings.TrimSpace(c.Desc))
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "Cumulative distribution of %s, log scale.", orDash(c.XLabel))
	for i, s := range c.Samples {
		v := sorted[i]
		if len(v) == 0 {
			fmt.Fprintf(&b, " %s: no data.", s.Name)
			continue
		}
		fmt.Fprintf(&b, " %s: %d values", s.Name, len(v))
		for _, q := range cdfQuantiles {
			fmt.Fprintf(&b, ", %s %s", q.name, short(quantile(v, q.q)))
		}
		b.WriteString(".")
	}
	return b.String()
}

func (c CDF) writeTable(b *strings.Builder) {
	fmt.Fprintf(b, `<details><summary>Data table</summary><table><caption>%s</caption><thead><tr><th scope="col">sample</th><th scope="col">count</th>`, esc(c.XLabel))
	for _, q := range cdfQuantiles {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, q.name)
	}
	b.WriteString(`</tr></thead><tbody>`)
	for _, s := range c.Samples {
		v := s.sorted()
		fmt.Fprintf(b, `<tr><th scope="row">%s</th><td>%d</td>`, esc(s.Name), len(v))
		for _, q := range cdfQuantiles {
			fmt.Fprintf(b, `<td>%s</td>`, short(quantile(v, q.q)))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table></details>`)
}
