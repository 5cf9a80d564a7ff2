// Package pgnotify is the event-driven invalidation path: it listens on Postgres for the
// cache_invalidation notifications that triggers send when a cached row changes — through
// the shop or not (psql, a bulk import) — and evicts the key everywhere through the cache's
// invalidation (Redis, then every instance's near cache over pub/sub).
//
// Why LISTEN/NOTIFY rather than logical replication: it needs no replication slot, no
// wal_level change and no extra privileges (RDS allows it as is), it is delivered only on
// commit, and the payload the trigger builds already carries the key and version. What it
// costs: a notification is lost when no instance is listening (a restart, a network cut),
// and Postgres does not replay it. Such a change is caught by the TTL of the cached value
// (SHOP_TTL_*), at worst. A replication slot would replay, at the price of WAL kept for a
// consumer that is down.
package pgnotify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the Postgres notification channel the triggers of migration 00004 notify.
const Channel = "cache_invalidation"

// notification is the payload the triggers send.
type notification struct {
	Key     string `json:"key"`     // e.g. "product:42"
	Version int64  `json:"version"` // the row's version after the change
	At      int64  `json:"at"`      // when the trigger ran, Unix microseconds
}

// Invalidator evicts one key at one version; cache.Cache.Invalidate is one.
type Invalidator func(ctx context.Context, key string, version int64, at time.Time) error

// Listener holds one Postgres connection that LISTENs on Channel.
type Listener struct {
	cfg        *pgx.ConnConfig
	invalidate Invalidator
	log        *slog.Logger
	ready      chan struct{}
	session    atomic.Uint64 // counts the connections that listened
	connected  atomic.Bool   // a connection listens now
}

// Session returns the number of the connection that listens (it changes at every
// reconnection) and whether one listens now. cache.Cache uses it as its Witness: while the
// same connection listens, every change committed in Postgres reaches the near caches
// through it, whether Redis answers or not. A connection that died without a word (no
// reset, no FIN) counts as listening until TCP keepalive gives it up.
func (l *Listener) Session() (uint64, bool) {
	connected := l.connected.Load()
	return l.session.Load(), connected
}

// NewListener returns a listener that connects with cfg (its own connection, not a pooled
// one) and hands every notification to invalidate.
func NewListener(cfg *pgx.ConnConfig, invalidate Invalidator, log *slog.Logger) *Listener {
	return &Listener{cfg: cfg, invalidate: invalidate, log: log, ready: make(chan struct{})}
}

// Ready is closed once the listener first listens.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Run listens until ctx ends, reconnecting with a growing pause (up to 5 s) when the
// connection breaks.
func (l *Listener) Run(ctx context.Context) {
	pause := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := l.listen(ctx, &first)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("invalidation: listener lost its connection; changes made meanwhile are caught by their TTL",
			"err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context, first *bool) error {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	l.session.Add(1)
	l.connected.Store(true)
	defer l.connected.Store(false)
	if *first {
		*first = false
		close(l.ready)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var msg notification
		if err := json.Unmarshal([]byte(n.Payload), &msg); err != nil || msg.Key == "" {
			l.log.Warn("invalidation: unreadable notification", "payload", n.Payload)
			continue
		}
		at := time.UnixMicro(msg.At)
		if err := l.invalidate(ctx, msg.Key, msg.Version, at); err != nil && !errors.Is(err, context.Canceled) {
			l.log.Warn("invalidation: evicting failed; the value lives out its TTL", "key", msg.Key, "err", err)
		}
	}
}
