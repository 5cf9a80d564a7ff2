//go:build !chaos

package main

import "time"

// mode is the short chaos run that `make test` includes: 2-second faults at a low rate on
// the small data set, asserting only what holds on a busy machine (no 500, nothing
// acknowledged lost, recovery, /readyz 503 before the listener closes).
var mode = chaosMode{
	dataset: "dummyjson",
	rate:    30, pages: 20, cartShoppers: 2, buyers: 1, buyEvery: 500 * time.Millisecond,
	baseline: 2 * time.Second, fault: 2 * time.Second, pgOutage: 2 * time.Second,
	after: 2 * time.Second, recoverCap: 30 * time.Second, drainDelay: time.Second,
	abandoned: 20, homePages: 20,
}
