package leaderboard

import (
	"context"
	"sync"
	"time"
)

// Live keeps the current top N of the all-time board for an instance's browsers: it listens
// on the board's pub/sub channel, recomputes the list once per burst of checkout events, and
// hands it to every subscriber. One Redis subscription serves all of an instance's
// connections, and one recomputation serves all of its browsers.
//
// Pub/sub delivers at most once: an event sent while this instance's subscription is
// reconnecting is missed, and its browsers catch up on the next event or reconnect (each new
// subscriber gets the current list first).
type Live struct {
	board *Board
	n     int

	ready chan struct{} // closed once the subscription is confirmed

	mu     sync.Mutex
	subs   map[chan []Entry]struct{}
	closed bool
}

// NewLive returns a Live for the top n of b. Call Run to start it.
func NewLive(b *Board, n int) *Live {
	return &Live{board: b, n: n, ready: make(chan struct{}), subs: map[chan []Entry]struct{}{}}
}

// Run listens for checkout events until ctx ends. It returns when ctx ends.
func (l *Live) Run(ctx context.Context) {
	ps := l.board.rdb.Subscribe(ctx, l.board.Channel())
	defer ps.Close()
	// Wait for the confirmation, so Ready means events are heard; when Redis is away the
	// channel below keeps reconnecting.
	if _, err := ps.Receive(ctx); err != nil && ctx.Err() == nil {
		l.board.log.Warn("live bestsellers: subscribe failed; retrying in the background", "err", err)
	}
	close(l.ready)
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-msgs:
			if !ok {
				return
			}
		}
		// Coalesce a burst: drain what is already queued, then compute once.
	drain:
		for {
			select {
			case <-msgs:
			default:
				break drain
			}
		}
		top, err := l.board.Fresh(ctx, AllTime, l.n)
		if err != nil {
			if ctx.Err() == nil {
				l.board.log.Warn("live bestsellers: refresh failed", "err", err)
			}
			continue
		}
		l.broadcast(top)
	}
}

// Ready is closed once Run has subscribed (or tried to, when Redis is away).
func (l *Live) Ready() <-chan struct{} { return l.ready }

// Current returns the top list now (cached for at most TopTTL).
func (l *Live) Current(ctx context.Context) ([]Entry, error) { return l.board.Top(ctx, AllTime, l.n) }

// Subscribe returns a channel that receives each new top list, and a function that ends the
// subscription. A slow subscriber gets only the newest list. The channel is closed by
// cancel or by Close (at server shutdown).
func (l *Live) Subscribe() (<-chan []Entry, func()) {
	ch := make(chan []Entry, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		close(ch)
		return ch, func() {}
	}
	l.subs[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if _, ok := l.subs[ch]; ok {
				delete(l.subs, ch)
				close(ch)
			}
		})
	}
}

func (l *Live) broadcast(top []Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		select { // replace an unread older list
		case <-ch:
		default:
		}
		ch <- top
	}
}

// Close ends every subscription and refuses new ones, so that streaming responses return
// and the server can shut down.
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for ch := range l.subs {
		delete(l.subs, ch)
		close(ch)
	}
}

// Heartbeat is how often a stream should send a comment line, so that proxies and load
// balancers (an ALB closes a connection idle for 60 s) keep it open.
const Heartbeat = 15 * time.Second
