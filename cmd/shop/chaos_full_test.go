//go:build chaos

package main

import "time"

// mode is the full chaos run of `make chaos` (go test -tags chaos): the fault
// lengths, a 5-minute Postgres outage, and its table written to docs/resilience.md.
var mode = chaosMode{
	full: true, dataset: "online-retail",
	rate: 150, pages: 100, cartShoppers: 8, buyers: 4, buyEvery: 500 * time.Millisecond,
	baseline: 10 * time.Second, fault: 15 * time.Second, pgOutage: 5 * time.Minute,
	after: 15 * time.Second, recoverCap: 60 * time.Second, drainDelay: 5 * time.Second,
	abandoned: 200, homePages: 200,
}
