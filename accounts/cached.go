package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/keys"
)

// Cached is the account store with profiles cached: cache-aside under user:{id} on read,
// delete-on-write after every change of a user's row.
type Cached struct {
	*Store
	profiles *cache.Aside[User]
	sessions sessionEnder
	log      *slog.Logger
}

// sessionEnder ends a user's sessions (sessions.Store).
type sessionEnder interface {
	EndAll(ctx context.Context, userID int64, keep string) (int, error)
}

// NewCached returns store with its profiles cached in c for policy.Profile, with a near
// cache (l1) in front of Redis: a signed-in shopper's profile is read on every page. A
// password change ends the user's other sessions through sessions.
func NewCached(store *Store, c *cache.Cache, policy cache.Policy, l1 cache.L1Options, sessions sessionEnder, log *slog.Logger) *Cached {
	return &Cached{Store: store, log: log, sessions: sessions, profiles: cache.NewAside[User](c, "profile", cache.AsideOptions{
		TTL: policy.Profile, NegativeTTL: policy.Negative, NotFound: ErrNotFound, KeyPrefixes: []string{"user:"}, L1: l1,
	})}
}

// FindUser returns the user with id from the cache, loading it on a miss.
func (c *Cached) FindUser(ctx context.Context, id int64) (User, error) {
	return c.profiles.Get(ctx, keys.User(id), func(ctx context.Context) (User, int64, error) {
		u, err := c.Store.FindUser(ctx, id)
		return u, u.Version, err
	})
}

// UpdateProfile updates the profile in Postgres, then deletes user:{id} (delete-on-write).
func (c *Cached) UpdateProfile(ctx context.Context, id int64, name, address string) (User, error) {
	u, err := c.Store.UpdateProfile(ctx, id, name, address)
	if err != nil {
		return User{}, err
	}
	c.invalidate(ctx, u)
	return u, nil
}

// EnsureAdmin is Store.EnsureAdmin, then delete-on-write of the admin's profile; and when
// it changed an existing admin's password (SHOP_ADMIN_PASSWORD changed), it ends every
// session of that admin, as a password change does. Ending them is best effort: a failure
// is logged, and they end at their idle timeout.
func (c *Cached) EnsureAdmin(ctx context.Context, email, password string) (User, error) {
	var old string
	err := c.Store.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE email = $1 AND is_admin`,
		NormalizeEmail(email)).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("accounts: ensure admin: %w", err)
	}
	u, err := c.Store.EnsureAdmin(ctx, email, password)
	if err != nil {
		return User{}, err
	}
	c.invalidate(ctx, u)
	if old != "" && bcrypt.CompareHashAndPassword([]byte(old), []byte(password)) != nil {
		if _, err := c.sessions.EndAll(ctx, u.ID, ""); err != nil {
			c.log.Warn("admin password changed but the admin's sessions were not ended; they end at their idle timeout", "err", err)
		}
	}
	return u, nil
}

// ErrSessionsNotEnded is returned by ChangePassword when the password changed but the
// user's other sessions could not all be ended (Redis away).
var ErrSessionsNotEnded = errors.New("accounts: the password changed, but other sessions could not be ended")

// ChangePassword is the password change workflow: Store.ChangePassword, then — after the
// commit — the profile's delete-on-write and the end of every session of the user but the
// one of token keep. It returns Store.ChangePassword's errors, and then nothing changed; or
// ErrSessionsNotEnded (wrapping Redis's error) with the user when only the sessions failed.
func (c *Cached) ChangePassword(ctx context.Context, id int64, current, newPassword, keep string) (User, error) {
	u, err := c.Store.ChangePassword(ctx, id, current, newPassword)
	if err != nil {
		return User{}, err
	}
	c.invalidate(ctx, u)
	if _, err := c.sessions.EndAll(ctx, id, keep); err != nil {
		return u, errors.Join(ErrSessionsNotEnded, err)
	}
	return u, nil
}

func (c *Cached) invalidate(ctx context.Context, u User) {
	if err := c.profiles.Invalidate(ctx, keys.User(u.ID), u.Version); err != nil {
		c.log.Error("delete-on-write failed; the old profile lives at most its TTL", "key", keys.User(u.ID), "err", err)
	}
}
