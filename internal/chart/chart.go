package chart

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
)

// Geometry of every chart, in viewBox units. The <svg> is drawn 100% wide, so one unit is
// about 0.75 CSS pixels on a 360-pixel phone: 14-unit text stays above 10 px there.
const (
	width      = 480
	plotHeight = 200 // height of the plot area
	fontSize   = 14
	marginL    = 56 // room for y tick labels
	marginR    = 28 // room for half the last x tick label
	marginT    = 12
	axisRoom   = 42 // below the plot: x tick labels and the x axis title
	legendRow  = 22
)

// style is one series' look: a stroke colour with at least 3:1 contrast against white
// (checked by TestPaletteContrast) and a dash pattern.
type style struct {
	Colour string
	Dash   string // stroke-dasharray; "" for a solid line
}

// palette is used in order and wraps; the colours are darkened Okabe–Ito hues.
var palette = []style{
	{"#0b5fa5", ""},         // blue
	{"#c0392b", "8 4"},      // red
	{"#1e7b4a", "2 3"},      // green
	{"#7d3c98", "10 3 2 3"}, // purple
	{"#9a5b00", "5 5"},      // amber
	{"#3d3d3d", "1 4"},      // grey
	{"#00707a", "12 4"},     // teal
	{"#a3326b", "4 2 1 2"},  // magenta
}

func styleOf(i int) style { return palette[i%len(palette)] }

// esc escapes s for XML text and attribute values, which is also safe inside HTML: <, >, &,
// quotes, tabs and newlines become character references and characters that XML forbids
// become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// chartID returns id if set, or a stable id derived from the chart's title and series names,
// so that one chart redrawn with new data keeps its id.
func chartID(id, title string, names []string) string {
	if id != "" {
		return id
	}
	h := fnv.New32a()
	h.Write([]byte(title))
	for _, n := range names {
		h.Write([]byte{0})
		h.Write([]byte(n))
	}
	return fmt.Sprintf("chart-%08x", h.Sum32())
}

// niceNum returns a "nice" number (1, 2 or 5 times a power of ten) near x: the smallest
// nice number at least x when round is false, the nearest one when round is true.
// (Paul Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990.)
func niceNum(x float64, round bool) float64 {
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && f < 1.5, !round && f <= 1:
		nf = 1
	case round && f < 3, !round && f <= 2:
		nf = 2
	case round && f < 7, !round && f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// linearTicks returns about n nice tick values covering [lo, hi] (the first ≤ lo, the last
// ≥ hi) and the number of decimals that labels them exactly.
func linearTicks(lo, hi float64, n int) ([]float64, int) {
	if !(hi > lo) {
		if lo == 0 {
			hi = 1
		} else {
			d := math.Abs(lo) / 2
			lo, hi = lo-d, hi+d
		}
	}
	step := niceNum(niceNum(hi-lo, false)/float64(n-1), true)
	first := math.Floor(lo/step + 1e-9)
	last := math.Ceil(hi/step - 1e-9)
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []float64
	for i := first; i <= last; i++ {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(i*step, 'f', decimals, 64), 64)
		ticks = append(ticks, v)
	}
	return ticks, decimals
}

// logTicks returns tick values for a logarithmic axis covering [lo, hi], lo > 0: the
// decades, and 2 and 5 times each decade when the range spans three decades or fewer.
func logTicks(lo, hi float64) []float64 {
	first := math.Floor(math.Log10(lo) + 1e-9)
	last := math.Ceil(math.Log10(hi) - 1e-9)
	if last <= first {
		last = first + 1
	}
	mult := []float64{1}
	if last-first <= 3 {
		mult = []float64{1, 2, 5}
	}
	var ticks []float64
	for e := first; e <= last; e++ {
		for _, m := range mult {
			v, _ := strconv.ParseFloat(strconv.FormatFloat(m*math.Pow(10, e), 'g', 6, 64), 64)
			if e == last && m > 1 {
				break
			}
			ticks = append(ticks, v)
		}
	}
	return ticks
}

// num formats v with the given decimals.
func num(v float64, decimals int) string {
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// tickLabels formats tick values that share decimals; when the largest is 10,000 or more
// they are written in thousands ("15k") or millions ("2.5M"), so labels stay short.
func tickLabels(ticks []float64, decimals int) []string {
	top := 0.0
	for _, v := range ticks {
		top = max(top, math.Abs(v))
	}
	div, suffix := 1.0, ""
	switch {
	case top >= 1e7:
		div, suffix, decimals = 1e6, "M", max(0, decimals-6)
	case top >= 1e4:
		div, suffix, decimals = 1e3, "k", max(0, decimals-3)
	}
	out := make([]string, len(ticks))
	for i, v := range ticks {
		d := decimals
		if suffix != "" && v != 0 {
			// the step may not be a whole number of thousands (2,500): keep what it needs
			for d < 3 && math.Abs(v/div*math.Pow(10, float64(d))-math.Round(v/div*math.Pow(10, float64(d)))) > 1e-9 {
				d++
			}
		}
		out[i] = num(v/div, d) + suffix
		if v == 0 {
			out[i] = "0"
		}
	}
	return out
}

// logLabel formats one tick of a logarithmic axis: 0.01, 2, 500, 10k, 1M.
func logLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// short formats v with up to 3 significant digits, for summaries and tables.
func short(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// coord formats one SVG coordinate to 0.1 unit.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// svgOpen writes the opening <svg> tag with its title and description.
func svgOpen(b *strings.Builder, id string, height int, title, desc string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" style="width:100%%;height:auto;max-width:48rem" font-family="system-ui, -apple-system, sans-serif" font-size="%d">`,
		esc(id), width, height, esc(id), esc(id), fontSize)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

// legendItem is one entry of a legend: a short stroke in the series' style and its name.
type legendItem struct {
	name  string
	style style
}

// legendLayout places items left to right, wrapping at the chart's width, and returns each
// item's x and row and the number of rows. Text width is estimated at 0.6 em per character.
func legendLayout(items []legendItem) (xs []float64, rows []int, nrows int) {
	x, row := float64(marginL), 0
	for _, it := range items {
		w := 28 + 0.6*fontSize*float64(len([]rune(it.name))) + 16
		if x+w > width-marginR && x > marginL {
			x, row = marginL, row+1
		}
		xs, rows = append(xs, x), append(rows, row)
		x += w
	}
	if len(items) > 0 {
		nrows = row + 1
	}
	return xs, rows, nrows
}

// writeLegend draws the legend with its first row's baseline at y.
func writeLegend(b *strings.Builder, items []legendItem, y float64) {
	if len(items) == 0 {
		return
	}
	xs, rows, _ := legendLayout(items)
	b.WriteString(`<g class="legend">`)
	for i, it := range items {
		ly := y + float64(rows[i]*legendRow)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3"%s/>`,
			coord(xs[i]), coord(ly-5), coord(xs[i]+22), coord(ly-5), it.style.Colour, dashAttr(it.style.Dash))
		fmt.Fprintf(b, `<text x="%s" y="%s" fill="#222">%s</text>`, coord(xs[i]+28), coord(ly), esc(it.name))
	}
	b.WriteString(`</g>`)
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}
