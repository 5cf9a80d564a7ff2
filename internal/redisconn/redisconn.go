// Package redisconn builds every Redis client of the shop from one set of settings (cache,
// sessions, carts, leaderboard, page views, pub/sub all share one go-redis client): TLS, the
// CA bundle and the AUTH token are honoured in one place. It also tells a misconfigured
// connection (no TLS where TLS is required, a wrong token) from a server that is away. The
// per-call timeout and the circuit breaker are not set here but by cache.Guard, which the
// shop installs on every client it builds.
package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts for every connection. A cache that answers slower than this is treated as away:
// the pages fall back to Postgres rather than wait.
const (
	DialTimeout  = 2 * time.Second
	ReadTimeout  = time.Second
	WriteTimeout = time.Second
)

// ConnMaxLifetime bounds how long one pooled connection is used, with
// ConnMaxLifetimeJitter so the connections dialled together are not all replaced together.
// It is a backstop for failovers behind one address (ElastiCache's primary and reader
// endpoints are DNS names that move): open connections stay with the node they were dialled
// to. cache.Guard drops them as soon as one answers READONLY, EXECABORT, LOADING or
// MASTERDOWN; what no reply gives away — a reader connection left on a node that became the
// primary, or a node that answers nothing wrong but is no longer the one the name means — is
// corrected within this bound instead of living as long as the process (go-redis keeps a busy
// connection forever by default). A reconnect a minute per connection costs next to nothing.
const (
	ConnMaxLifetime       = time.Minute
	ConnMaxLifetimeJitter = 10 * time.Second
)

// Settings say how to reach one Redis server.
type Settings struct {
	Addr     string      // host:port
	Username string      // ACL user; empty for the default user
	Password string      // the AUTH token; empty for none
	DB       int         // database number
	TLS      *tls.Config // nil for a plain connection
}

// Parse reads a redis:// or rediss:// URL (rediss means TLS, verifying the server's
// certificate; the password is the AUTH token). caFile, when not empty, names a PEM bundle
// of the CAs to trust instead of the system's (a private CA). It returns an error for a bad
// URL or an unreadable bundle.
func Parse(rawURL, caFile string) (Settings, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return Settings{}, fmt.Errorf("redisconn: %w", err)
	}
	s := Settings{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB, TLS: o.TLSConfig}
	if caFile != "" {
		if s.TLS == nil {
			return Settings{}, errors.New("redisconn: a CA file is given but the URL is not rediss:// (TLS)")
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return Settings{}, fmt.Errorf("redisconn: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Settings{}, fmt.Errorf("redisconn: CA file %s holds no PEM certificate", caFile)
		}
		s.TLS.RootCAs = pool
	}
	return s, nil
}

// Client returns a go-redis client for s. go-redis drops a connection that answers READONLY
// to a single command (a primary demoted by a failover) and retries on a new one; for
// pipelines and transactions cache.Guard does it, and no connection outlives
// ConnMaxLifetime.
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
		// The guard's per-call deadline (cache.Guard) bounds reads and writes, not only
		// ReadTimeout.
		ContextTimeoutEnabled: true,
		// One retry, soon: enough for a connection a failover closed, not so many that a
		// Redis that is away slows every page by a second.
		MaxRetries:            1,
		MinRetryBackoff:       5 * time.Millisecond,
		MaxRetryBackoff:       50 * time.Millisecond,
		ConnMaxLifetime:       ConnMaxLifetime,
		ConnMaxLifetimeJitter: ConnMaxLifetimeJitter,
	})
}

// ClusterClient returns a go-redis client of the Redis Cluster whose configuration endpoint
// (any node) is s.Addr. It reloads the cluster's layout every second: by default go-redis
// waits 60 s, and a dead master's slots stay unwritable for that long when only dial errors
// (which trigger no reload) tell of the failover (measured: 20 s and more of failed writes
// with the default, 4 s with 1 s).
func (s Settings) ClusterClient() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      []string{s.Addr},
		Username:                   s.Username,
		Password:                   s.Password,
		TLSConfig:                  s.TLS,
		DialTimeout:                DialTimeout,
		ReadTimeout:                ReadTimeout,
		WriteTimeout:               WriteTimeout,
		ContextTimeoutEnabled:      true,
		MaxRetries:                 2,
		MinRetryBackoff:            5 * time.Millisecond,
		MaxRetryBackoff:            100 * time.Millisecond,
		ClusterStateReloadInterval: time.Second,
		ConnMaxLifetime:            ConnMaxLifetime,
		ConnMaxLifetimeJitter:      ConnMaxLifetimeJitter,
	})
}

// Errors of Check. ErrUnreachable means the server is away, and the shop starts without it;
// the others are mistakes in the configuration, and stop start-up.
var (
	ErrUnreachable = errors.New("Redis is not reachable")
	ErrAuth        = errors.New("Redis refused the credentials")
	ErrTLSRequired = errors.New("Redis closed the connection at once: TLS required? (use rediss://)")
	ErrNotTLS      = errors.New("Redis does not speak TLS here (use redis://, or the TLS port)")
	ErrCertificate = errors.New("Redis's TLS certificate is not trusted (set SHOP_REDIS_CA_FILE to its CA bundle)")
	ErrMode        = errors.New("Redis is not in the mode configured (SHOP_REDIS_MODE)")
	ErrDatabase    = errors.New("Redis has no such database (the number after the / in the URL)")
)

// Check pings the server once and says what is wrong, if anything, as one of the errors
// above (wrapped with the cause). It catches at start-up what would otherwise show later as
// a bare EOF (go-redis #1306). cluster says whether the shop expects a cluster node (cluster
// mode enabled) or a single Redis, and the server must agree.
func (s Settings) Check(ctx context.Context, cluster bool) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	c := s.Client()
	defer c.Close()
	info, err := c.Info(ctx, "cluster").Result()
	var reply redis.Error
	switch {
	case errors.As(err, &reply):
		// The server answered, but has no cluster section (the shop's in-process Redis,
		// miniredis, knows only a few): it is no cluster node.
		info = ""
	case err != nil:
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	enabled := strings.Contains(info, "cluster_enabled:1")
	switch {
	case cluster && !enabled:
		return fmt.Errorf("%w: SHOP_REDIS_MODE=cluster, but this Redis has cluster support disabled", ErrMode)
	case !cluster && enabled:
		return fmt.Errorf("%w: this Redis is a cluster node; set SHOP_REDIS_MODE=cluster", ErrMode)
	}
	return nil
}

func (s Settings) check(ctx context.Context) error {
	if s.TLS != nil {
		if err := s.checkHandshake(ctx); err != nil {
			return err
		}
	}
	c := s.Client()
	defer c.Close()
	err := c.Ping(ctx).Err()
	if err == nil {
		return nil
	}
	msg := err.Error()
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "NOAUTH") ||
		strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password"):
		return fmt.Errorf("%w: %v", ErrAuth, err)
	case errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr):
		return fmt.Errorf("%w: %v", ErrCertificate, err)
	case s.TLS == nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		return fmt.Errorf("%w: %v", ErrTLSRequired, err)
	case strings.Contains(msg, "DB index is out of range"):
		return fmt.Errorf("%w: %v", ErrDatabase, err)
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}

// checkHandshake dials the server and shakes hands in TLS, apart from any Redis command: a
// plain server never answers the handshake (it waits for a command line), which would
// otherwise show as a timeout, like a server that is away.
func (s Settings) checkHandshake(ctx context.Context) error {
	d := net.Dialer{Timeout: DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer raw.Close()
	cfg := s.TLS.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(s.Addr)
	}
	conn := tls.Client(raw, cfg)
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	err = conn.HandshakeContext(ctx)
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &certErr):
		return fmt.Errorf("%w: %v", ErrCertificate, err)
	case errors.As(err, &netErr) && netErr.Timeout(), strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return fmt.Errorf("%w: %v", ErrNotTLS, err)
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}
