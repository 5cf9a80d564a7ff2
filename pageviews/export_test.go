package pageviews

import "context"

// SetHook makes f call h after each step of applying a batch; an error from h stops the
// flush there, leaving Redis and Postgres as a crash at that point would.
func (f *Flusher) SetHook(h func(context.Context, Step) error) { f.hook = h }
