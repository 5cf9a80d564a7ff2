package chart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
)

// Point is one value of a series: X in the unit of Line.XLabel (seconds for a time
// series), Y in the unit of Line.YLabel. A Y that is NaN or infinite is a gap: the line
// breaks there (a second with no requests has no hit ratio).
type Point struct {
	X, Y float64
}

// Series is one named line. Points are drawn in the order given; give them sorted by X.
type Series struct {
	Name   string
	Points []Point
}

// Line is a chart of one or more series over x, usually time in seconds. The zero YMin and
// YMax fit the y axis to the data, from 0 (or the lowest value, if negative) to a nice number
// at or above the highest; YMax > YMin fixes the axis to [YMin, YMax] (0 and 100 for a
// percentage) and values outside it are drawn at its edge.
type Line struct {
	ID     string // the <svg>'s id; empty: derived from Title and the series names
	Title  string // the chart's accessible name and the figure caption
	Desc   string // optional sentence put before the generated summary in <desc>
	XLabel string // x axis title with unit, e.g. "time (s)"
	YLabel string // y axis title with unit, e.g. "latency (ms)"
	YMin   float64
	YMax   float64
	Series []Series
}

// SVG returns the chart as one <svg> element.
func (c Line) SVG() template.HTML {
	var b strings.Builder
	c.write(&b)
	return template.HTML(b.String())
}

// HTML returns the chart in a <figure>: the Title as caption, the <svg>, and the data as
// an HTML table (one row per x, one column per series) inside a <details> element.
func (c Line) HTML() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>%s</figcaption>`, esc(c.Title))
	c.write(&b)
	c.writeTable(&b)
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (c Line) names() []string {
	var n []string
	for _, s := range c.Series {
		n = append(n, s.Name)
	}
	return n
}

// bounds returns the range of finite x and y over all series, and whether there was any.
func (c Line) bounds() (xlo, xhi, ylo, yhi float64, ok bool) {
	xlo, ylo = math.Inf(1), math.Inf(1)
	xhi, yhi = math.Inf(-1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			ok = true
			xlo, xhi = min(xlo, p.X), max(xhi, p.X)
			ylo, yhi = min(ylo, p.Y), max(yhi, p.Y)
		}
	}
	return
}

func (c Line) write(b *strings.Builder) {
	id := chartID(c.ID, c.Title, c.names())
	xlo, xhi, ylo, yhi, ok := c.bounds()
	if !ok {
		xlo, xhi, ylo, yhi = 0, 1, 0, 1
	}
	xt, xdec := linearTicks(xlo, xhi, 6)
	var yt []float64
	var ydec int
	if c.YMax > c.YMin {
		yt, ydec = linearTicks(c.YMin, c.YMax, 5)
		yt = slices.DeleteFunc(yt, func(v float64) bool { return v < c.YMin || v > c.YMax })
		ylo, yhi = c.YMin, c.YMax
	} else {
		yt, ydec = linearTicks(min(0, ylo), yhi, 5)
		ylo, yhi = yt[0], yt[len(yt)-1]
	}
	xlo, xhi = xt[0], xt[len(xt)-1]

	var items []legendItem
	for i, s := range c.Series {
		items = append(items, legendItem{s.Name, styleOf(i)})
	}
	_, _, nrows := legendLayout(items)
	x0, x1 := float64(marginL), float64(width-marginR)
	y0, y1 := float64(marginT), float64(marginT+plotHeight)
	height := marginT + plotHeight + axisRoom + nrows*legendRow + 6
	sx := func(v float64) float64 { return x0 + (v-xlo)/(xhi-xlo)*(x1-x0) }
	sy := func(v float64) float64 {
		v = min(max(v, ylo), yhi)
		return y1 - (v-ylo)/(yhi-ylo)*(y1-y0)
	}

	svgOpen(b, id, height, c.Title, c.summary())
	// Grid and tick labels.
	b.WriteString(`<g class="y-axis" fill="#444" text-anchor="end">`)
	ylabels, xlabels := tickLabels(yt, ydec), tickLabels(xt, xdec)
	for i, v := range yt {
		y := sy(v)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`, coord(x0), coord(y), coord(x1), coord(y))
		fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`, coord(x0-6), coord(y+5), ylabels[i])
	}
	b.WriteString(`</g><g class="x-axis" fill="#444" text-anchor="middle">`)
	for i, v := range xt {
		x := sx(v)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`, coord(x), coord(y0), coord(x), coord(y1))
		fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`, coord(x), coord(y1+18), xlabels[i])
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#767676"/>`, coord(x0), coord(y1), coord(x1), coord(y1))
	fmt.Fprintf(b, `<text class="x-title" x="%s" y="%s" text-anchor="middle" fill="#222">%s</text>`,
		coord((x0+x1)/2), coord(y1+37), esc(c.XLabel))
	fmt.Fprintf(b, `<text class="y-title" transform="rotate(-90)" x="%s" y="15" text-anchor="middle" fill="#222">%s</text>`,
		coord(-(y0+y1)/2), esc(c.YLabel))
	if !ok {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="#444">no data yet</text>`, coord((x0+x1)/2), coord((y0+y1)/2))
	}

	// The series: one path each, broken at gaps; a dot marks a point with no neighbour.
	for i, s := range c.Series {
		st := styleOf(i)
		var d strings.Builder
		var dots []Point
		run := 0
		for j, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				run = 0
				continue
			}
			cmd := "L"
			if run == 0 {
				cmd = "M"
				next := j+1 < len(s.Points) && finite(s.Points[j+1].X) && finite(s.Points[j+1].Y)
				if !next {
					dots = append(dots, p)
				}
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, coord(sx(p.X)), coord(sy(p.Y)))
			run++
		}
		fmt.Fprintf(b, `<g class="series" data-series="%d">`, i)
		if d.Len() > 0 {
			fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round"%s/>`,
				d.String(), st.Colour, dashAttr(st.Dash))
		}
		for _, p := range dots {
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, coord(sx(p.X)), coord(sy(p.Y)), st.Colour)
		}
		b.WriteString(`</g>`)
	}
	writeLegend(b, items, y1+float64(axisRoom)+legendRow-4)
	b.WriteString(`</svg>`)
}

// summary is the generated text alternative put in <desc>: the axes and, per series, its
// number of points, minimum, maximum and last value.
func (c Line) summary() string {
	var b strings.Builder
	if c.Desc != "" {
		b.WriteString(strings.TrimSpace(c.Desc))
		b.WriteString(" ")
	}
	xlo, xhi, _, _, ok := c.bounds()
	if !ok {
		fmt.Fprintf(&b, "Line chart of %s over %s: no data yet.", orDash(c.YLabel), orDash(c.XLabel))
		return b.String()
	}
	fmt.Fprintf(&b, "Line chart of %s over %s from %s to %s.", orDash(c.YLabel), orDash(c.XLabel), short(xlo), short(xhi))
	for _, s := range c.Series {
		n, lo, hi, last := 0, math.Inf(1), math.Inf(-1), math.NaN()
		for _, p := range s.Points {
			if finite(p.X) && finite(p.Y) {
				n++
				lo, hi, last = min(lo, p.Y), max(hi, p.Y), p.Y
			}
		}
		if n == 0 {
			fmt.Fprintf(&b, " %s: no data.", s.Name)
			continue
		}
		fmt.Fprintf(&b, " %s: %d points, min %s, max %s, last %s.", s.Name, n, short(lo), short(hi), short(last))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// writeTable writes the data as a table: one row per distinct x, one column per series.
func (c Line) writeTable(b *strings.Builder) {
	var xs []float64
	cols := make([]map[float64]float64, len(c.Series))
	for i, s := range c.Series {
		cols[i] = map[float64]float64{}
		for _, p := range s.Points {
			if finite(p.X) {
				xs = append(xs, p.X)
				cols[i][p.X] = p.Y
			}
		}
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	fmt.Fprintf(b, `<details><summary>Data table</summary><table><thead><tr><th scope="col">%s</th>`, esc(c.XLabel))
	for _, s := range c.Series {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, esc(s.Name))
	}
	b.WriteString(`</tr></thead><tbody>`)
	for _, x := range xs {
		fmt.Fprintf(b, `<tr><th scope="row">%s</th>`, short(x))
		for i := range c.Series {
			v, ok := cols[i][x]
			if !ok || !finite(v) {
				v = math.NaN()
			}
			fmt.Fprintf(b, `<td>%s</td>`, short(v))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table></details>`)
}
