package cache

// Test hooks of Aside, for the tests of package cache_test only.

// SetAfterLoad makes f run after each load and before its fill, so that a test can hold a
// reader at that exact point while it runs a writer.
func (a *Aside[T]) SetAfterLoad(f func(key string)) { a.afterLoad = f }

// DisableStaleSetProtection makes fills plain SETs (no lease, no version check), so that a
// test can show the stale-set race the protection prevents.
func (a *Aside[T]) DisableStaleSetProtection() { a.unprotected = true }
