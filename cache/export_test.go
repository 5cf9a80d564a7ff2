package cache

// Test hooks of Aside, for the tests of package cache_test only.

// SetAfterLoad makes f run after each load and before its fill, so that a test can hold a
// reader at that exact point while it runs a writer.
func (a *Aside[T]) SetAfterLoad(f func(key string)) { a.afterLoad = f }

// DisableStaleSetProtection makes fills plain SETs (no lease, no version check), so that a
// test can show the stale-set race the protection prevents.
func (a *Aside[T]) DisableStaleSetProtection() { a.unprotected = true }

// Waiters is the number of callers waiting for the shared load of key (0 when none runs).
func (a *Aside[T]) Waiters(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}

// SetRand replaces the uniform draw of refresh-ahead (XFetch) with f: 0 makes every read of
// a value refresh it early (when beta is above 0), values near 1 almost none.
func (c *Cache) SetRand(f func() float64) { c.rand = f }

// Refreshing is the number of refreshes ahead of expiry this Aside runs in the background.
func (a *Aside[T]) Refreshing() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.refreshing)
}

// SetBeforeNear makes f run before each value goes to the near cache, after the Redis read,
// load or write that produced it, so that a test can hold a reader there while an
// invalidation arrives.
func (a *Aside[T]) SetBeforeNear(f func(key string)) { a.beforeNear = f }
