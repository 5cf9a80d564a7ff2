// Package sessions is the shop's scs session store over a go-redis client, used in every
// Redis mode. Each session is one key, session:{token} (after the deployment's key prefix),
// holding the encoded session and expiring when the session does: at the idle timeout after
// its last request, and at its lifetime's end at the latest.
//
// Two guarantees that scs's own stores do not give, because a session store shared by many
// instances needs them when requests overlap:
//
//   - A session that ended (signed out, or its token renewed at sign-in) is never written
//     back by a request that loaded it before it ended: such a request commits with SET XX,
//     which does nothing to a deleted key (ErrEnded), and touches with PEXPIREAT, which does
//     nothing either.
//   - A request that changed nothing does not rewrite the session: Touch only moves the
//     idle expiry, and only once it would move it by a tenth of the idle timeout or more
//     (Track, TouchSlack).
//
// Why not scs/redisstore: it holds a redigo pool of connections to one node, so it cannot
// speak to Redis Cluster (cluster mode enabled), its calls would bypass the shop's one Redis
// guard (per-call timeout, circuit breaker), and it cannot give the two guarantees above.
// The key and value format is the same as redisstore's.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/piggyback"
)

// ErrEnded is returned by CommitCtx for a session that ended while the request that loaded
// it ran: nothing was written.
var ErrEnded = errors.New("sessions: the session ended during the request")

// Store keeps sessions in Redis through rdb (a *redis.Client or *redis.ClusterClient), and
// an index of each signed-in user's sessions, so that all of them can be ended at once.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string                    // before each token
	indexKey func(userID int64) string // the user's set of tokens, deployment prefix included
	idle     time.Duration
}

var _ scs.CtxStore = (*Store)(nil)

// New returns a store whose session keys are prefix + token and whose index of a user's
// sessions is at indexKey(user id), and whose sessions expire idle after their last request
// (0: only at the deadline scs gives).
func New(rdb redis.UniversalClient, prefix string, indexKey func(userID int64) string, idle time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, indexKey: indexKey, idle: idle}
}

type loadedKey struct{}

type userKey struct{}

// ForUser returns ctx noting that the session being committed is userID's signed-in
// session: a new token is then added to the user's index.
func ForUser(ctx context.Context, userID int64) context.Context {
	return context.WithValue(ctx, userKey{}, userID)
}

// Loaded returns ctx noting that the request loaded the existing session token from the
// store: a commit of that token then only updates it, never creates it again.
func Loaded(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, loadedKey{}, token)
}

// expiry is when a session committed or touched now expires: idle from now, but never after
// its deadline.
func (s *Store) expiry(deadline time.Time) time.Time {
	if s.idle > 0 {
		if t := time.Now().Add(s.idle); t.Before(deadline) {
			return t
		}
	}
	return deadline
}

// FindCtx returns the session of token; found is false when there is none (or it expired).
// It reads the session and its expiry (PTTL, for TouchCtx) in one pipeline, together with
// whatever the request queued to send along (piggyback: the cart count).
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	p := s.rdb.Pipeline()
	get := p.Get(ctx, s.prefix+token)
	ttl := p.PTTL(ctx, s.prefix+token)
	piggyback.Send(ctx, p)
	start := time.Now()
	_, _ = p.Exec(ctx) // each reply is read below; another package's errors are its own
	b, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if l, ok := ctx.Value(lastExpiryKey{}).(*lastExpiry); ok {
		if d, err := ttl.Result(); err == nil && d > 0 {
			l.set(token, start.Add(d))
		}
	}
	return b, true, nil
}

type lastExpiryKey struct{}

// lastExpiry is when the session a request loaded was due to expire, as read with it.
type lastExpiry struct {
	mu    sync.Mutex
	token string
	at    time.Time
}

func (l *lastExpiry) set(token string, at time.Time) {
	l.mu.Lock()
	l.token, l.at = token, at
	l.mu.Unlock()
}

func (l *lastExpiry) get(token string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.at, l.token == token && !l.at.IsZero()
}

// Track returns ctx in which FindCtx notes the loaded session's expiry, so that TouchCtx can
// skip a touch that would move it by little (see TouchCtx). Without it every touch is sent.
func Track(ctx context.Context) context.Context {
	return context.WithValue(ctx, lastExpiryKey{}, &lastExpiry{})
}

// CommitCtx stores the session of token, whose lifetime ends at deadline (one SET with
// PXAT). The token the request loaded (Loaded) is only updated (SET XX): when it is gone,
// the session ended meanwhile and CommitCtx returns ErrEnded. Any other token is new
// (SET NX).
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, deadline time.Time) error {
	args := redis.SetArgs{ExpireAt: s.expiry(deadline), Mode: "NX"}
	if loaded, _ := ctx.Value(loadedKey{}).(string); loaded == token {
		args.Mode = "XX"
	}
	err := s.rdb.SetArgs(ctx, s.prefix+token, b, args).Err()
	switch {
	case errors.Is(err, redis.Nil) && args.Mode == "XX":
		return ErrEnded
	case errors.Is(err, redis.Nil):
		return errors.New("sessions: a new token is already taken")
	case err != nil:
		return err
	}
	if userID, ok := ctx.Value(userKey{}).(int64); ok && args.Mode == "NX" {
		// The index lives as long as its newest session can; tokens of sessions that ended
		// stay in it harmlessly until then.
		key := s.indexKey(userID)
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, key, token)
			p.PExpireAt(ctx, key, deadline)
			return nil
		})
	}
	return err
}

// EndAll ends every session of userID but the one of token keep ("" for none): a password
// change signs the account out everywhere else. It returns how many sessions it ended.
func (s *Store) EndAll(ctx context.Context, userID int64, keep string) (int, error) {
	key := s.indexKey(userID)
	tokens, err := s.rdb.SMembers(ctx, key).Result()
	if err != nil {
		return 0, fmt.Errorf("sessions: index of user %d: %w", userID, err)
	}
	var ended []*redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, t := range tokens {
			if t != keep {
				ended = append(ended, p.Del(ctx, s.prefix+t))
				p.SRem(ctx, key, t)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sessions: end the sessions of user %d: %w", userID, err)
	}
	n := 0
	for _, c := range ended {
		n += int(c.Val())
	}
	return n, nil
}

// TouchSlack is the fraction of the idle timeout by which a touch must move a session's
// expiry to be sent: a request made less than idle/TouchSlack after the last extension
// sends nothing.
const TouchSlack = 10

// TouchCtx moves the idle expiry of an unchanged session without rewriting it (PEXPIREAT,
// which does nothing when the session has ended), unless it would move it by less than a
// tenth of the idle timeout (the request's ctx came through Track, and FindCtx read the
// expiry): then nothing is sent, and it returns nil. The bound that follows: a session ends
// at the idle timeout after its last request, or up to a tenth of the idle timeout sooner
// (27 minutes after the last request at the default 30), never later; at its lifetime's end
// at the latest, as before.
func (s *Store) TouchCtx(ctx context.Context, token string, deadline time.Time) error {
	next := s.expiry(deadline)
	if l, ok := ctx.Value(lastExpiryKey{}).(*lastExpiry); ok && s.idle > 0 {
		if at, ok := l.get(token); ok && next.Sub(at) < s.idle/TouchSlack {
			return nil
		}
	}
	return s.rdb.PExpireAt(ctx, s.prefix+token, next).Err()
}

// DeleteCtx deletes the session of token.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	return s.rdb.Del(ctx, s.prefix+token).Err()
}

// Ping reports whether Redis answers: a change that needs the session (sign-in, the cart,
// checkout) is refused before it starts when the session could not be saved after it.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// Find implements scs.Store; scs calls FindCtx.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store; scs calls CommitCtx.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store; scs calls DeleteCtx.
func (s *Store) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
