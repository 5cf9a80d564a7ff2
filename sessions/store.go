// Package sessions is the shop's scs session store over a go-redis client, used in every
// Redis mode. Each session is one key, session:{token} (after the deployment's key prefix),
// holding the encoded session and expiring when the session does.
//
// Why not scs/redisstore: it holds a redigo pool of connections to one node, so it cannot
// speak to Redis Cluster (cluster mode enabled), and its calls would bypass the shop's one
// Redis guard (per-call timeout, circuit breaker, discarding connections after a failover)
// that every other Redis call goes through. The key and value format is the same as
// redisstore's, so sessions survive a switch between the two.
package sessions

import (
	"context"
	"errors"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"
)

// Store keeps sessions in Redis through rdb (a *redis.ClusterClient or any UniversalClient).
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ scs.CtxStore = (*Store)(nil)

// New returns a store whose keys are prefix + token.
func New(rdb redis.UniversalClient, prefix string) *Store { return &Store{rdb: rdb, prefix: prefix} }

// FindCtx returns the session of token; found is false when there is none (or it expired).
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	b, err := s.rdb.Get(ctx, s.prefix+token).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitCtx stores the session of token until expiry (one SET with PXAT).
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.rdb.SetArgs(ctx, s.prefix+token, b, redis.SetArgs{ExpireAt: expiry}).Err()
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
