package chart_test

import (
	"html/template"
	"os"

	"github.com/shopcache/shop/internal/chart"
)

// A page template takes the chart's HTML as is: every label inside is already escaped.
func Example() {
	page := template.Must(template.New("lab").Parse(`<section>{{.}}</section>`))
	c := chart.Line{
		Title:  "Requests per second by layer",
		XLabel: "time (s)",
		YLabel: "requests/s",
		Series: []chart.Series{
			{Name: "L1", Points: []chart.Point{{X: 0, Y: 120}, {X: 1, Y: 131}, {X: 2, Y: 128}}},
			{Name: "Redis", Points: []chart.Point{{X: 0, Y: 40}, {X: 1, Y: 35}, {X: 2, Y: 38}}},
		},
	}
	if err := page.Execute(os.Stdout, c.HTML()); err != nil {
		panic(err)
	}
}
