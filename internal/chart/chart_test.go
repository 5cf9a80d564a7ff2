package chart

import (
	"bytes"
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// node is a parsed XML element: enough of a DOM to find elements and read their text.
type node struct {
	Name     string
	Attr     map[string]string
	Children []*node
	Text     string
}

func parse(t testing.TB, s string) *node {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	root := &node{Name: "#root"}
	stack := []*node{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tok.Name.Local, Attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.Attr[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.Children = append(top.Children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			stack[len(stack)-1].Text += string(tok)
		}
	}
	if len(stack) != 1 {
		t.Fatalf("unclosed elements: %d", len(stack)-1)
	}
	return root
}

// all returns every element below n with the given name, in document order.
func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
		out = append(out, c.all(name)...)
	}
	return out
}

// find returns the first element below n with the name and, if class != "", that class.
func (n *node) find(name, class string) *node {
	for _, c := range n.all(name) {
		if class == "" || c.Attr["class"] == class {
			return c
		}
	}
	return nil
}

// text returns the text of n and everything below it.
func (n *node) text() string {
	s := n.Text
	for _, c := range n.Children {
		s += c.text()
	}
	return s
}

// atof reads a number as the charts write it: "12.5", "40%", "15k", "2.5M".
func atof(t testing.TB, s string) float64 {
	t.Helper()
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	case strings.HasSuffix(s, "M"):
		s, mult = strings.TrimSuffix(s, "M"), 1e6
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v * mult
}

// pathPoints parses an SVG path made of M and L commands into its subpaths' points.
func pathPoints(t testing.TB, d string) [][][2]float64 {
	t.Helper()
	var subs [][][2]float64
	i := 0
	for i < len(d) {
		cmd := d[i]
		j := i + 1
		for j < len(d) && d[j] != 'M' && d[j] != 'L' {
			j++
		}
		xy := strings.Fields(d[i+1 : j])
		if len(xy) != 2 {
			t.Fatalf("path segment %q: want two coordinates", d[i:j])
		}
		p := [2]float64{atof(t, xy[0]), atof(t, xy[1])}
		switch cmd {
		case 'M':
			subs = append(subs, [][2]float64{p})
		case 'L':
			if len(subs) == 0 {
				t.Fatalf("path %q starts with L", d)
			}
			subs[len(subs)-1] = append(subs[len(subs)-1], p)
		default:
			t.Fatalf("path %q: unexpected command %q", d, cmd)
		}
		i = j
	}
	return subs
}

// tick is one labelled tick: its value and its position along the axis.
type tick struct{ value, pos float64 }

// ticks reads an axis group's labelled ticks: value from the label, position from the
// label's x (x axis) or from the grid line before it (y axis).
func ticks(t testing.TB, svg *node, class string) []tick {
	t.Helper()
	g := svg.find("g", class)
	if g == nil {
		t.Fatalf("no <g class=%q>", class)
	}
	var out []tick
	var lastLine *node
	for _, c := range g.Children {
		switch c.Name {
		case "line":
			lastLine = c
		case "text":
			v := atof(t, c.Text)
			if class == "x-axis" {
				out = append(out, tick{v, atof(t, c.Attr["x"])})
			} else {
				out = append(out, tick{v, atof(t, lastLine.Attr["y1"])})
			}
		}
	}
	return out
}

// invert maps a position back to a value using the first and last ticks (linear, or
// logarithmic when log is set).
func invert(ts []tick, pos float64, log bool) float64 {
	a, b := ts[0], ts[len(ts)-1]
	f := (pos - a.pos) / (b.pos - a.pos)
	if log {
		return math.Pow(10, math.Log10(a.value)+f*(math.Log10(b.value)-math.Log10(a.value)))
	}
	return a.value + f*(b.value-a.value)
}

func isNice(step float64) bool {
	m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9))
	for _, n := range []float64{1, 2, 5, 10} {
		if math.Abs(m-n) < 1e-6 {
			return true
		}
	}
	return false
}

func TestLineChart(t *testing.T) {
	var a, b []Point
	for s := range 61 {
		a = append(a, Point{float64(s), 100 + 40*math.Sin(float64(s)/5)})
		b = append(b, Point{float64(s), 7.5 * float64(s)})
	}
	c := Line{
		Title:  "Requests per second",
		XLabel: "time (s)",
		YLabel: "requests/s",
		Series: []Series{{Name: "L1", Points: a}, {Name: "Postgres", Points: b}},
	}
	root := parse(t, string(c.SVG()))
	svg := root.find("svg", "")
	if svg == nil || len(root.Children) != 1 {
		t.Fatalf("want one <svg> root, got %d elements", len(root.Children))
	}
	if svg.Attr["role"] != "img" || !strings.HasPrefix(svg.Attr["viewBox"], "0 0 ") || !strings.Contains(svg.Attr["style"], "width:100%") {
		t.Errorf("svg attributes = %v, want role=img, a viewBox and width 100%%", svg.Attr)
	}
	// aria-labelledby names the <title> and <desc> ids.
	ids := strings.Fields(svg.Attr["aria-labelledby"])
	title, desc := svg.find("title", ""), svg.find("desc", "")
	if len(ids) != 2 || title == nil || desc == nil || title.Attr["id"] != ids[0] || desc.Attr["id"] != ids[1] {
		t.Fatalf("aria-labelledby = %v, want the ids of <title> and <desc>", ids)
	}
	if title.Text != c.Title {
		t.Errorf("<title> = %q, want %q", title.Text, c.Title)
	}
	for _, want := range []string{"L1: 61 points", "Postgres: 61 points, min 0, max 450, last 450"} {
		if !strings.Contains(desc.Text, want) {
			t.Errorf("<desc> = %q, want it to contain %q", desc.Text, want)
		}
	}

	// Nice axes that cover the data: evenly spaced 1/2/5×10^k steps.
	for _, axis := range []struct {
		class  string
		lo, hi float64
	}{{"x-axis", 0, 60}, {"y-axis", 0, 450}} {
		ts := ticks(t, svg, axis.class)
		if len(ts) < 3 {
			t.Fatalf("%s: %d ticks, want at least 3", axis.class, len(ts))
		}
		step := ts[1].value - ts[0].value
		for i := 1; i < len(ts); i++ {
			if d := ts[i].value - ts[i-1].value; math.Abs(d-step) > 1e-9 {
				t.Errorf("%s: uneven step %v after %v", axis.class, d, step)
			}
		}
		if !isNice(step) || ts[0].value > axis.lo || ts[len(ts)-1].value < axis.hi {
			t.Errorf("%s ticks %v: want a nice step covering [%v, %v]", axis.class, ts, axis.lo, axis.hi)
		}
	}

	// Every point is drawn where the axes say its value is.
	xt, yt := ticks(t, svg, "x-axis"), ticks(t, svg, "y-axis")
	paths := svg.all("path")
	if len(paths) != 2 {
		t.Fatalf("%d paths, want 2", len(paths))
	}
	for i, want := range [][]Point{a, b} {
		subs := pathPoints(t, paths[i].Attr["d"])
		if len(subs) != 1 || len(subs[0]) != len(want) {
			t.Fatalf("series %d: %d subpaths, want 1 of %d points", i, len(subs), len(want))
		}
		for j, p := range subs[0] {
			x, y := invert(xt, p[0], false), invert(yt, p[1], false)
			if math.Abs(x-want[j].X) > 0.2 || math.Abs(y-want[j].Y) > 1.5 {
				t.Errorf("series %d point %d drawn at (%.2f, %.2f), want (%v, %v)", i, j, x, y, want[j].X, want[j].Y)
			}
		}
	}
	// Series differ by colour and dash pattern; the legend names them in order.
	if paths[0].Attr["stroke"] == paths[1].Attr["stroke"] || paths[0].Attr["stroke-dasharray"] == paths[1].Attr["stroke-dasharray"] {
		t.Errorf("both series drawn alike: %v, %v", paths[0].Attr, paths[1].Attr)
	}
	var legend []string
	for _, tx := range svg.find("g", "legend").all("text") {
		legend = append(legend, tx.Text)
	}
	if strings.Join(legend, ",") != "L1,Postgres" {
		t.Errorf("legend = %q, want L1,Postgres", legend)
	}
}

func TestLargeValues(t *testing.T) {
	// Labels of large values are written in thousands and still say where points are.
	pts := []Point{{0, 0}, {1, 2500}, {2, 14000}}
	svg := parse(t, string(Line{Title: "big", Series: []Series{{Name: "a", Points: pts}}}.SVG())).find("svg", "")
	var labels []string
	for _, tx := range svg.find("g", "y-axis").all("text") {
		labels = append(labels, tx.Text)
	}
	if got := strings.Join(labels, " "); got != "0 5k 10k 15k" {
		t.Errorf("y labels %q, want 0 5k 10k 15k", got)
	}
	yt := ticks(t, svg, "y-axis")
	for i, p := range pathPoints(t, svg.find("path", "").Attr["d"])[0] {
		if y := invert(yt, p[1], false); math.Abs(y-pts[i].Y) > 50 {
			t.Errorf("point %d drawn at %v, want %v", i, y, pts[i].Y)
		}
	}
	if got := tickLabels([]float64{0, 2500, 5000, 7500, 10000}, 0); strings.Join(got, " ") != "0 2.5k 5k 7.5k 10k" {
		t.Errorf("tickLabels = %q", got)
	}
	for v, want := range map[float64]string{0.01: "0.01", 2: "2", 500: "500", 1e4: "10k", 1e5: "100k", 2e6: "2M"} {
		if got := logLabel(v); got != want {
			t.Errorf("logLabel(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestLineGapsAndFixedAxis(t *testing.T) {
	nan := math.NaN()
	c := Line{
		Title: "Hit ratio", XLabel: "time (s)", YLabel: "hit ratio (%)", YMin: 0, YMax: 100,
		Series: []Series{{Name: "product", Points: []Point{{0, 50}, {1, 60}, {2, nan}, {3, 80}, {4, nan}, {5, 140}, {6, 90}}}},
	}
	svg := parse(t, string(c.SVG())).find("svg", "")
	yt := ticks(t, svg, "y-axis")
	if yt[0].value != 0 || yt[len(yt)-1].value != 100 {
		t.Errorf("fixed axis ticks %v, want 0 to 100", yt)
	}
	subs := pathPoints(t, svg.find("path", "").Attr["d"])
	if len(subs) != 3 || len(subs[0]) != 2 || len(subs[1]) != 1 || len(subs[2]) != 2 {
		t.Fatalf("subpaths %v, want 3 of 2, 1 and 2 points (gaps at NaN)", subs)
	}
	// The lone point gets a dot; 140 is drawn at the top of a 0–100 axis.
	circles := svg.all("circle")
	if len(circles) != 1 || math.Abs(invert(yt, atof(t, circles[0].Attr["cy"]), false)-80) > 1 {
		t.Errorf("circles %v, want one at 80", circles)
	}
	if y := invert(yt, subs[2][0][1], false); math.Abs(y-100) > 0.5 {
		t.Errorf("140 on a 0–100 axis drawn at %v, want 100", y)
	}
}

func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script> & 'quotes' ]]> ` + "\x00\x1b"
	line := Line{ID: `id" onload="x`, Title: evil, Desc: evil, XLabel: evil, YLabel: evil,
		Series: []Series{{Name: evil, Points: []Point{{0, 1}, {1, 2}}}}}
	cdf := CDF{Title: evil, Desc: evil, XLabel: evil, Samples: []Sample{{Name: evil, Values: []float64{1, 2}}}}
	for name, out := range map[string]template.HTML{
		"Line.SVG": line.SVG(), "Line.HTML": line.HTML(), "CDF.SVG": cdf.SVG(), "CDF.HTML": cdf.HTML(),
	} {
		if strings.Contains(string(out), "<script") || strings.Contains(string(out), `" onload`) {
			t.Errorf("%s: unescaped label in output", name)
		}
		root := parse(t, string(out))
		for _, el := range []string{"title", "figcaption", "th"} {
			for _, n := range root.all(el) {
				if strings.Contains(n.text(), "alert") && !strings.Contains(n.text(), `<script>alert("x")</script> & 'quotes' ]]>`) {
					t.Errorf("%s: <%s> = %q, want the label as typed", name, el, n.text())
				}
			}
		}
		// html/template inserts the value as is.
		var buf bytes.Buffer
		template.Must(template.New("").Parse(`<div>{{.}}</div>`)).Execute(&buf, out)
		if buf.String() != "<div>"+string(out)+"</div>" {
			t.Errorf("%s: html/template changed the chart", name)
		}
	}
}

func TestEmpty(t *testing.T) {
	for name, out := range map[string]template.HTML{
		"Line":                   Line{Title: "nothing"}.HTML(),
		"Line with empty series": Line{Title: "nothing", Series: []Series{{Name: "a"}}}.HTML(),
		"CDF":                    CDF{Title: "nothing", Samples: []Sample{{Name: "a"}, {Name: "b", Values: []float64{math.NaN()}}}}.HTML(),
	} {
		root := parse(t, string(out))
		if !strings.Contains(root.text(), "no data yet") {
			t.Errorf("%s: no 'no data yet' note", name)
		}
	}
}

func TestCDF(t *testing.T) {
	// Two samples two orders of magnitude apart: 1..100 ms and 0.01..1 ms.
	var slow, fast []float64
	for i := 1; i <= 100; i++ {
		slow = append(slow, float64(i))
		fast = append(fast, float64(i)/100)
	}
	c := CDF{Title: "Latency", XLabel: "latency (ms)", Samples: []Sample{{Name: "bypassed", Values: slow}, {Name: "cached", Values: fast}}}
	root := parse(t, string(c.HTML()))
	svg := root.find("svg", "")
	xt := ticks(t, svg, "x-axis")
	for _, tk := range xt {
		if !isNice(tk.value) {
			t.Errorf("log tick %v is not 1, 2 or 5 times a power of ten", tk.value)
		}
	}
	if xt[0].value > 0.01 || xt[len(xt)-1].value < 100 {
		t.Errorf("x ticks %v do not cover [0.01, 100]", xt)
	}
	yt := ticks(t, svg, "y-axis")
	paths := svg.all("path")
	if len(paths) != 2 {
		t.Fatalf("%d paths, want 2", len(paths))
	}
	for i, vals := range [][]float64{slow, fast} {
		pts := pathPoints(t, paths[i].Attr["d"])[0]
		if len(pts) != len(vals)+1 {
			t.Fatalf("sample %d: %d points, want %d", i, len(pts), len(vals)+1)
		}
		if y := invert(yt, pts[0][1], false); y != 0 {
			t.Errorf("sample %d starts at %v%%, want 0", i, y)
		}
		if y := invert(yt, pts[len(pts)-1][1], false); math.Abs(y-100) > 0.1 {
			t.Errorf("sample %d ends at %v%%, want 100", i, y)
		}
		// The median point is at the median value on the log axis.
		med := pts[50]
		if x, y := invert(xt, med[0], true), invert(yt, med[1], false); math.Abs(x/vals[49]-1) > 0.02 || math.Abs(y-50) > 0.5 {
			t.Errorf("sample %d: 50th point at (%v, %v%%), want (%v, 50%%)", i, x, y, vals[49])
		}
	}
	// The text alternative: quantiles in <desc> and in the table.
	desc := svg.find("desc", "").Text
	for _, want := range []string{"bypassed: 100 values, p50 50, p90 90, p99 99, max 100", "cached: 100 values, p50 0.5, p90 0.9"} {
		if !strings.Contains(desc, want) {
			t.Errorf("<desc> = %q, want %q", desc, want)
		}
	}
	var rows []string
	for _, tr := range root.find("tbody", "").all("tr") {
		var cells []string
		for _, c := range tr.Children {
			cells = append(cells, c.text())
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	if want := []string{"bypassed 100 50 90 99 100", "cached 100 0.5 0.9 0.99 1"}; strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Errorf("table rows %q, want %q", rows, want)
	}
}

func TestCDFManyValues(t *testing.T) {
	// Large samples are drawn with at most cdfPoints points, still rising from 0 to 100%.
	var v []float64
	for i := range 100_000 {
		v = append(v, 1+float64(i%1000))
	}
	svg := parse(t, string(CDF{Title: "big", XLabel: "ms", Samples: []Sample{{Name: "a", Values: v}}}.SVG())).find("svg", "")
	pts := pathPoints(t, svg.find("path", "").Attr["d"])[0]
	if len(pts) != cdfPoints+1 {
		t.Fatalf("%d points, want %d", len(pts), cdfPoints+1)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i][0] < pts[i-1][0] || pts[i][1] > pts[i-1][1] {
			t.Fatalf("point %d %v goes back from %v", i, pts[i], pts[i-1])
		}
	}
}

func TestLinearTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 60, 6, "0 20 40 60"},
		{0, 37, 6, "0 10 20 30 40"},
		{0, 450, 5, "0 100 200 300 400 500"},
		{0, 1, 5, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{0, 0.037, 5, "0.00 0.01 0.02 0.03 0.04"},
		{-3, 7, 5, "-4 -2 0 2 4 6 8"},
		{5, 5, 5, "2 3 4 5 6 7 8"},
		{0, 0, 5, "0.0 0.2 0.4 0.6 0.8 1.0"},
	} {
		ts, dec := linearTicks(tc.lo, tc.hi, tc.n)
		var s []string
		for _, v := range ts {
			s = append(s, num(v, dec))
		}
		if got := strings.Join(s, " "); got != tc.want {
			t.Errorf("linearTicks(%v, %v, %d) = %s, want %s", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

// TestPaletteContrast checks WCAG 2.2 1.4.11: every series colour has at least 3:1
// contrast against the white background, and no two series share a dash pattern.
func TestPaletteContrast(t *testing.T) {
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	dashes := map[string]bool{}
	for _, st := range palette {
		r, _ := strconv.ParseUint(st.Colour[1:3], 16, 8)
		g, _ := strconv.ParseUint(st.Colour[3:5], 16, 8)
		b, _ := strconv.ParseUint(st.Colour[5:7], 16, 8)
		l := 0.2126*lin(float64(r)) + 0.7152*lin(float64(g)) + 0.0722*lin(float64(b))
		if ratio := 1.05 / (l + 0.05); ratio < 3 {
			t.Errorf("%s: contrast %.2f:1 against white, want ≥ 3", st.Colour, ratio)
		}
		if dashes[st.Dash] {
			t.Errorf("dash pattern %q used twice", st.Dash)
		}
		dashes[st.Dash] = true
	}
}
