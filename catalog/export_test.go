package catalog

// SetBeforeCommit makes f run inside UpdateProduct's transaction just before the commit, so
// that a test can look at the cache while the change is not yet committed.
func (s *Store) SetBeforeCommit(f func(id int64)) { s.beforeCommit = f }
