package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/internal/titlecase"
	"github.com/shopcache/shop/leaderboard"
)

// BestsellerCount is how many products the bestseller panel lists.
const BestsellerCount = bestsellerCount

// bestsellerRow is one line of the bestseller panel, as the template renders it and as the
// live stream sends it to the panel's script.
type bestsellerRow struct {
	Rank  int    `json:"rank"` // competition rank: 1, 2, 2, 4
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Price string `json:"price"` // formatted, e.g. "£2.95"
	Units int64  `json:"units"`
}

func rowsFromBoard(entries []leaderboard.Entry) []bestsellerRow {
	rows := make([]bestsellerRow, len(entries))
	for i, e := range entries {
		rows[i] = bestsellerRow{Rank: e.Rank, ID: e.ProductID, Name: titlecase.Name(e.Name), Price: e.DisplayPrice(), Units: e.Units}
	}
	return rows
}

// rowsFromSQL ranks the SQL panel's list (ordered by units, then id) the same way.
func rowsFromSQL(best []catalog.Bestseller) []bestsellerRow {
	rows := make([]bestsellerRow, len(best))
	for i, b := range best {
		rank := i + 1
		if i > 0 && b.Units == best[i-1].Units {
			rank = rows[i-1].Rank
		}
		rows[i] = bestsellerRow{Rank: rank, ID: b.ID, Name: b.DisplayName(), Price: b.DisplayPrice(), Units: b.Units}
	}
	return rows
}

// bestsellers returns the home panel: from the leaderboard in Redis, or, when Redis does not
// answer, from the SQL aggregate over the order history.
func (s *Server) bestsellers(ctx context.Context) ([]bestsellerRow, error) {
	entries, err := s.board.Top(ctx, leaderboard.AllTime, bestsellerCount)
	if err == nil {
		reqstats.From(ctx).AddSource(reqstats.Source{Data: "bestsellers", Layer: reqstats.LayerRedis})
		return rowsFromBoard(entries), nil
	}
	s.redisFailed("leaderboard unavailable; bestsellers from Postgres", err)
	best, err := s.catalog.ListBestsellers(ctx, bestsellerCount)
	if err != nil {
		return nil, err
	}
	reqstats.From(ctx).AddSource(reqstats.Source{Data: "bestsellers", Layer: reqstats.LayerPostgres})
	return rowsFromSQL(best), nil
}

// handleBestsellerEvents streams the bestseller panel as server-sent events: the current list
// at once, then every new one (event "bestsellers", data a JSON array of rows), and a comment
// line every leaderboard.Heartbeat so that proxies keep the connection. It ends when the
// client goes or the server shuts down (which closes the subscription).
func (s *Server) handleBestsellerEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	// The server's read and write timeouts suit pages, not a stream that lasts minutes: lift
	// the read deadline (its expiry would cancel the request), and keep a rolling write
	// deadline so that a client that stopped reading is dropped.
	_ = rc.SetReadDeadline(time.Time{})
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(2 * leaderboard.Heartbeat)) }
	extend()

	updates, cancel := s.live.Subscribe()
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies such as nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)

	send := func(entries []leaderboard.Entry) error {
		data, err := json.Marshal(rowsFromBoard(entries))
		if err != nil {
			return err
		}
		extend()
		if _, err := fmt.Fprintf(w, "event: bestsellers\ndata: %s\n\n", data); err != nil {
			return err
		}
		return rc.Flush()
	}
	fmt.Fprint(w, "retry: 5000\n\n") // the browser reconnects 5 s after a drop
	if top, err := s.live.Current(ctx); err != nil {
		s.log.Warn("bestseller stream: no current list", "err", err)
		if err := rc.Flush(); err != nil {
			return
		}
	} else if err := send(top); err != nil {
		return
	}

	beat := time.NewTicker(leaderboard.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case top, ok := <-updates:
			if !ok {
				return // shutting down
			}
			if err := send(top); err != nil {
				return
			}
		case <-beat.C:
			extend()
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
