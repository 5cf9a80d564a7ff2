package pageviews

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Stats are the live numbers of a product page, read with Reader.View: its bestseller rank
// (from the leaderboard) and its views (from this package), and the view counted, in one
// Redis pipeline — one round trip for the page.
type Stats struct {
	Rank  int   // competition rank on the all-time board; 0 when not on it
	Units int64 // net units sold (the board's score)
	Views int64 // page views, flushed and pending, this one included
}

// RankQueuer queues the read of product id's bestseller rank in the pipeline p, and returns
// a function that gives it once p has run: its competition rank (0 when not on the board)
// and its units sold. The shop's is leaderboard.Board.QueueRank's, adapted by app.New.
type RankQueuer func(ctx context.Context, p redis.Pipeliner, id int64) func() (rank int, units int64, err error)

// Reader reads Stats. rdb must be the client the board and the counter use.
type Reader struct {
	rdb   redis.UniversalClient
	rank  RankQueuer
	views *Counter
}

// NewReader returns a Reader over the board's rank and counter, both on rdb.
func NewReader(rdb redis.UniversalClient, rank RankQueuer, counter *Counter) *Reader {
	return &Reader{rdb: rdb, rank: rank, views: counter}
}

// View counts one view of product id and returns its Stats, in one Redis round trip (plus
// one Postgres query when its flushed view count is not cached). It returns Redis's error
// when Redis does not answer.
func (r *Reader) View(ctx context.Context, id int64) (Stats, error) {
	p := r.rdb.Pipeline()
	rank := r.rank(ctx, p, id)
	count := r.views.QueueView(ctx, p, id)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Stats{}, fmt.Errorf("pageviews: stats of %d: %w", id, err)
	}
	place, units, err := rank()
	if err != nil {
		return Stats{}, err
	}
	n, err := count(ctx)
	if err != nil {
		return Stats{}, err
	}
	return Stats{Rank: place, Units: units, Views: n}, nil
}
