// Package chart draws small charts as server-side SVG: no JavaScript, no build step, nothing
// fetched at run time. It holds two kinds of chart:
//
//   - [Line]: several series over time (x in seconds, y on a nice-number axis), each series
//     with its own colour and dash pattern, and a legend;
//   - [CDF]: the cumulative distribution of two or more samples (latencies, say) on a
//     logarithmic x axis, to compare distributions at a glance.
//
// Every chart renders as a [template.HTML] value that html/template inserts as is: every
// label, name and unit is escaped here, so callers may pass user or catalogue text. The
// <svg> has role="img", a <title> and a <desc> (a generated summary of the data, after the
// caller's Desc), and a viewBox with width 100% so that it scales to the width of a phone.
// HTML wraps the same <svg> in a <figure> with a caption and the data as an HTML table in a
// <details> element: the text alternative for screen readers and for anyone who wants the
// numbers. Series colours have at least 3:1 contrast against white (WCAG 2.2, 1.4.11) and
// series differ by dash pattern too, so they stay apart in grey or for colour-blind readers.
//
// It knows nothing about the shop: no HTTP, no Redis, no clocks.
//
// Example (a live dashboard fragment, for instance sent over server-sent events):
//
//	c := chart.Line{
//		Title:  "Requests per second by layer",
//		XLabel: "time (s)",
//		YLabel: "requests/s",
//		Series: []chart.Series{
//			{Name: "L1", Points: []chart.Point{{X: 0, Y: 120}, {X: 1, Y: 131}}},
//			{Name: "Redis", Points: []chart.Point{{X: 0, Y: 40}, {X: 1, Y: 35}}},
//		},
//	}
//	fragment := c.HTML() // or c.SVG() for the <svg> alone
//
//	d := chart.CDF{
//		Title: "Product page latency, cache bypassed vs cached",
//		Unit:  "ms",
//		Samples: []chart.Sample{
//			{Name: "bypassed", Values: []float64{4.1, 5.3, 6.0}},
//			{Name: "cached", Values: []float64{0.2, 0.3, 0.9}},
//		},
//	}
//	fragment = d.HTML()
package chart
