// Package redisconn builds every Redis client of the shop from one set of settings: the
// go-redis client (cache, carts, leaderboard, pub/sub) and the redigo pool under the scs
// session store. TLS and the AUTH token are honoured the same way by both, because both are
// built here from the same parsed URL.
package redisconn

import (
	"crypto/tls"
	"fmt"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"
)

// Timeouts for every connection. A cache that answers slower than this is treated as away:
// the pages fall back to Postgres rather than wait.
const (
	DialTimeout  = 2 * time.Second
	ReadTimeout  = time.Second
	WriteTimeout = time.Second
)

// Settings say how to reach one Redis server.
type Settings struct {
	Addr     string      // host:port
	Username string      // ACL user; empty for the default user
	Password string      // the AUTH token; empty for none
	DB       int         // database number
	TLS      *tls.Config // nil for a plain connection
}

// Parse reads a redis:// or rediss:// URL (rediss means TLS; the password is the AUTH token).
func Parse(rawURL string) (Settings, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return Settings{}, fmt.Errorf("redisconn: %w", err)
	}
	return Settings{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB, TLS: o.TLSConfig}, nil
}

// Client returns a go-redis client for s.
func (s Settings) Client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:         s.Addr,
		Username:     s.Username,
		Password:     s.Password,
		DB:           s.DB,
		TLSConfig:    s.TLS,
		DialTimeout:  DialTimeout,
		ReadTimeout:  ReadTimeout,
		WriteTimeout: WriteTimeout,
	})
}

// Pool returns a redigo connection pool for s, as scs/redisstore needs.
func (s Settings) Pool() *redigo.Pool {
	opts := []redigo.DialOption{
		redigo.DialDatabase(s.DB),
		redigo.DialConnectTimeout(DialTimeout),
		redigo.DialReadTimeout(ReadTimeout),
		redigo.DialWriteTimeout(WriteTimeout),
	}
	if s.Username != "" {
		opts = append(opts, redigo.DialUsername(s.Username))
	}
	if s.Password != "" {
		opts = append(opts, redigo.DialPassword(s.Password))
	}
	if s.TLS != nil {
		opts = append(opts, redigo.DialUseTLS(true), redigo.DialTLSConfig(s.TLS))
	}
	return &redigo.Pool{
		MaxIdle:     16,
		IdleTimeout: 4 * time.Minute,
		Dial:        func() (redigo.Conn, error) { return redigo.Dial("tcp", s.Addr, opts...) },
		TestOnBorrow: func(c redigo.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}
