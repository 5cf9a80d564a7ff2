// Package loadgen is the load generator behind `shop load`: shoppers browsing, searching,
// reading product pages, signing in, filling carts and checking out against a running shop,
// at a fixed rate, with product popularity from the real order history (a Zipf law fitted
// to it, see Popularity). It drives the requests with vegeta (github.com/tsenart/vegeta) as a
// library and measures what came back: statuses, latency, and the X-Cache header (where
// each product page was answered from), overall, per kind of request and per second. It
// writes a JSON summary and a self-contained HTML report with SVG charts (internal/chart).
//
// It talks to the shop over HTTP only, like a browser without JavaScript: forms are
// url-encoded and sent without Origin or Sec-Fetch-Site headers, which the shop's
// cross-origin protection lets through as non-browser requests. It needs a shop seeded with
// the online-retail data set first (product ids in popularity order); it checks that before
// it starts. Checkouts place real orders and take real stock: run it against a shop whose
// data may change.
package loadgen
