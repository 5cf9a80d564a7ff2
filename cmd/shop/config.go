package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/ratelimit"
)

// Defaults that make `go run ./cmd/shop` work on a laptop.
const (
	defaultAddr = ":8080"
	// defaultMetricsAddr keeps /metrics (host, pid, internals) off the public port and off
	// the network, as Prometheus exporters usually do; 9090 is the usual exporter port.
	defaultMetricsAddr = "127.0.0.1:9090"
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/shop?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// config is every setting of the shop, read once from the environment by loadConfig: what
// the shop is built from (app.Config), and what this process does with it.
type config struct {
	app.Config
	Addr            string        // SHOP_ADDR: host:port to listen on
	MetricsAddr     string        // SHOP_METRICS_ADDR: host:port of the Prometheus listener; empty: none
	LogLevel        slog.Level    // SHOP_LOG_LEVEL: debug, info, warn or error
	ShutdownTimeout time.Duration // SHOP_SHUTDOWN_TIMEOUT: grace for in-flight requests
	// DrainDelay is SHOP_DRAIN_DELAY: on SIGTERM, how long /readyz answers 503 while the
	// listener still accepts, before in-flight requests are finished and the server stops.
	DrainDelay time.Duration

	// databaseURLSet and redisURLSet say whether the URLs were given, or are defaults
	// that embedded mode may replace when nothing listens on them.
	databaseURLSet, redisURLSet bool
	// redisConfigured says whether any Redis setting was given (a URL, the ElastiCache
	// secret, a reader, a mode or a CA file): then embedded mode never replaces Redis.
	redisConfigured bool
}

// loadConfig reads and validates the configuration. Every error names the variable and what
// it expects; all of them are reported at once.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		Config:          app.Defaults(defaultDatabaseURL, defaultRedisURL),
		Addr:            defaultAddr,
		MetricsAddr:     defaultMetricsAddr,
		LogLevel:        slog.LevelInfo,
		ShutdownTimeout: 10 * time.Second,
		DrainDelay:      5 * time.Second,
	}
	var errs []error
	bad := func(name, want, got string, err error) {
		msg := fmt.Sprintf("%s: want %s, got %q", name, want, got)
		if err != nil {
			msg += ": " + err.Error()
		}
		errs = append(errs, errors.New(msg))
	}

	if v := getenv("SHOP_ADDR"); v != "" {
		cfg.Addr = v
	}
	if host, port, err := net.SplitHostPort(cfg.Addr); err != nil {
		bad("SHOP_ADDR", "host:port such as :8080 or 127.0.0.1:8080", cfg.Addr, nil)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/ ") {
		bad("SHOP_ADDR", "host:port with a port from 0 to 65535", cfg.Addr, nil)
	}

	switch v := getenv("SHOP_METRICS_ADDR"); v {
	case "":
	case "off":
		cfg.MetricsAddr = ""
	default:
		cfg.MetricsAddr = v
		if _, port, err := net.SplitHostPort(v); err != nil {
			bad("SHOP_METRICS_ADDR", "host:port such as 127.0.0.1:9090 or :9090, or off", v, nil)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("SHOP_METRICS_ADDR", "host:port with a port from 0 to 65535, or off", v, nil)
		}
	}

	if v := getenv("SHOP_DATABASE_URL"); v != "" {
		cfg.DatabaseURL, cfg.databaseURLSet = v, true
	}
	if u, err := url.Parse(cfg.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("SHOP_DATABASE_URL", "postgres://user[:password]@host:port/database?sslmode=…", redactURL(cfg.DatabaseURL), nil)
	} else if _, err := pgxpool.ParseConfig(cfg.DatabaseURL); err != nil {
		bad("SHOP_DATABASE_URL", "a valid Postgres connection URL", redactURL(cfg.DatabaseURL), errors.Unwrap(err))
	} else if name := strings.TrimPrefix(u.Path, "/"); name == "" || strings.Contains(name, "/") {
		bad("SHOP_DATABASE_URL", "a URL that names one database, such as …/shop", redactURL(cfg.DatabaseURL), nil)
	}

	if v := getenv("SHOP_REDIS_URL"); v != "" {
		cfg.RedisURL, cfg.redisURLSet = v, true
	}
	if v := getenv("SHOP_ELASTICACHE_SECRET"); v != "" {
		if cfg.redisURLSet {
			errs = append(errs, errors.New("SHOP_ELASTICACHE_SECRET: set it or SHOP_REDIS_URL, not both"))
		} else if u, reader, err := elastiCacheURL(v); err != nil {
			errs = append(errs, fmt.Errorf("SHOP_ELASTICACHE_SECRET: want the JSON {\"host\",\"port\",\"auth\",\"reader\"}: %w", err))
		} else {
			cfg.RedisURL, cfg.RedisReaderURL, cfg.redisURLSet = u, reader, true
		}
	}
	if _, err := redis.ParseURL(cfg.RedisURL); err != nil {
		bad("SHOP_REDIS_URL", "redis://[user:token@]host:port/db, or rediss://… for TLS", redactURL(cfg.RedisURL), nil)
	}
	switch v := getenv("SHOP_REDIS_MODE"); v {
	case "", "standalone":
	case "cluster":
		cfg.RedisCluster = true
	default:
		bad("SHOP_REDIS_MODE", "standalone or cluster", v, nil)
	}
	if v := getenv("SHOP_REDIS_READER_URL"); v != "" {
		if _, err := redis.ParseURL(v); err != nil {
			bad("SHOP_REDIS_READER_URL", "redis://… or rediss://… of the reader endpoint", redactURL(v), nil)
		}
		cfg.RedisReaderURL = v
	}
	if o, err := redis.ParseURL(cfg.RedisURL); cfg.RedisCluster && err == nil && o.DB != 0 {
		errs = append(errs, errors.New("SHOP_REDIS_URL: a cluster has database 0 only; end the URL with /0 or nothing"))
	}
	if cfg.RedisCluster && cfg.RedisReaderURL != "" {
		errs = append(errs, errors.New("SHOP_REDIS_READER_URL: not with SHOP_REDIS_MODE=cluster (a cluster has no reader endpoint)"))
	}
	switch v := getenv("SHOP_NEAR_CACHE"); v {
	case "", "pubsub":
	case "tracking":
		cfg.NearTracking = true
		if cfg.RedisCluster {
			errs = append(errs, errors.New("SHOP_NEAR_CACHE=tracking: not with SHOP_REDIS_MODE=cluster (Redis tracks keys per node); use SHOP_NEAR_CACHE=pubsub"))
		}
		if cfg.RedisReaderURL != "" {
			errs = append(errs, errors.New("SHOP_NEAR_CACHE=tracking: not with SHOP_REDIS_READER_URL (a lagging replica could put back an invalidated value); use SHOP_NEAR_CACHE=pubsub"))
		}
	default:
		bad("SHOP_NEAR_CACHE", "pubsub or tracking", v, nil)
	}
	for _, name := range []string{"SHOP_REDIS_URL", "SHOP_ELASTICACHE_SECRET", "SHOP_REDIS_READER_URL", "SHOP_REDIS_MODE", "SHOP_REDIS_CA_FILE"} {
		cfg.redisConfigured = cfg.redisConfigured || getenv(name) != ""
	}
	if v := getenv("SHOP_REDIS_CA_FILE"); v != "" {
		if _, err := redisconn.Parse(cfg.RedisURL, v); err != nil {
			bad("SHOP_REDIS_CA_FILE", "a readable PEM file of CA certificates, with a rediss:// URL", v, errors.Unwrap(err))
		}
		cfg.RedisCAFile = v
	}
	if v := getenv("SHOP_REDIS_KEY_PREFIX"); v != "" {
		if len(v) > 64 || strings.ContainsAny(v, " \t\r\n{}") || !utf8.ValidString(v) {
			bad("SHOP_REDIS_KEY_PREFIX", "up to 64 characters without spaces or braces, e.g. staging:", v, nil)
		}
		cfg.RedisKeyPrefix = v
	}

	if v := getenv("SHOP_SEED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("SHOP_SEED", "true or false (or 1 or 0)", v, nil)
		}
		cfg.Seed = b
	}
	if v := getenv("SHOP_LOG_LEVEL"); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad("SHOP_LOG_LEVEL", "debug, info, warn or error", v, nil)
		}
	}
	duration := func(name string, into *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				bad(name, "a positive duration such as 10s, 30m or 24h", v, nil)
			}
			*into = d
		}
	}
	duration("SHOP_SHUTDOWN_TIMEOUT", &cfg.ShutdownTimeout)
	duration("SHOP_DRAIN_DELAY", &cfg.DrainDelay)
	duration("SHOP_REQUEST_TIMEOUT", &cfg.PageTimeout)
	duration("SHOP_WRITE_REQUEST_TIMEOUT", &cfg.WriteTimeout)
	duration("SHOP_LOAD_TIMEOUT", &cfg.LoadTimeout)
	duration("SHOP_DB_STATEMENT_TIMEOUT", &cfg.StatementTimeout)
	switch v := getenv("SHOP_STALE_IF_ERROR"); v {
	case "":
	case "0", "off":
		cfg.StaleIfError = 0
	default:
		duration("SHOP_STALE_IF_ERROR", &cfg.StaleIfError)
	}
	duration("SHOP_SESSION_IDLE_TIMEOUT", &cfg.SessionIdleTimeout)
	duration("SHOP_SESSION_LIFETIME", &cfg.SessionLifetime)
	duration("SHOP_VIEWS_FLUSH_INTERVAL", &cfg.ViewsFlushInterval)
	if cfg.ViewsFlushInterval > 0 && cfg.ViewsFlushInterval < 10*time.Millisecond || cfg.ViewsFlushInterval > time.Hour {
		bad("SHOP_VIEWS_FLUSH_INTERVAL", "a duration from 10ms to 1h, such as 5s", cfg.ViewsFlushInterval.String(), nil)
	}
	switch getenv("SHOP_VIEWS_BATCH_INTERVAL") {
	case "":
	case "0", "off":
		cfg.ViewsBatchInterval = 0
	default:
		duration("SHOP_VIEWS_BATCH_INTERVAL", &cfg.ViewsBatchInterval)
	}
	if cfg.ViewsBatchInterval > 0 && cfg.ViewsBatchInterval < time.Millisecond || cfg.ViewsBatchInterval > 10*time.Second {
		bad("SHOP_VIEWS_BATCH_INTERVAL", "0 (off), or a duration from 1ms to 10s, such as 100ms", cfg.ViewsBatchInterval.String(), nil)
	}
	duration("SHOP_LEADERBOARD_REPAIR_INTERVAL", &cfg.LeaderboardRepairPeriod)
	if cfg.SessionIdleTimeout > cfg.SessionLifetime {
		bad("SHOP_SESSION_IDLE_TIMEOUT", "a duration no longer than SHOP_SESSION_LIFETIME", cfg.SessionIdleTimeout.String(), nil)
	}
	if v := getenv("SHOP_SESSION_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("SHOP_SESSION_SECURE", "true or false (or 1 or 0)", v, nil)
		}
		cfg.SessionSecure = b
	}
	cfg.AdminEmail, cfg.AdminPassword = getenv("SHOP_ADMIN_EMAIL"), getenv("SHOP_ADMIN_PASSWORD")
	switch {
	case (cfg.AdminEmail == "") != (cfg.AdminPassword == ""):
		bad("SHOP_ADMIN_EMAIL", "to be set together with SHOP_ADMIN_PASSWORD, or neither", cfg.AdminEmail, nil)
	case cfg.AdminEmail != "" && !strings.Contains(cfg.AdminEmail, "@"):
		bad("SHOP_ADMIN_EMAIL", "an e-mail address", cfg.AdminEmail, nil)
	case cfg.AdminPassword != "":
		if err := adminPasswordProblem(cfg.AdminEmail, cfg.AdminPassword); err != nil {
			errs = append(errs, err)
		}
	}
	switch v := getenv("SHOP_CACHE"); v {
	case "", "on":
	case "off":
		cfg.CacheEnabled = false
	default:
		bad("SHOP_CACHE", "on or off", v, nil)
	}
	if v := getenv("SHOP_DB_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Second {
			bad("SHOP_DB_LATENCY", "a duration from 0 to 5s, such as 50ms", v, nil)
		}
		cfg.DBLatency = d
	}
	if v := getenv("SHOP_L1_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10_000_000 {
			bad("SHOP_L1_SIZE", "a number of entries from 0 (off) to 10000000", v, nil)
		}
		cfg.L1.Size = n
	}
	if v := getenv("SHOP_WARM_UP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10_000 {
			bad("SHOP_WARM_UP", "a number of product pages from 0 (none) to 10000", v, nil)
		}
		cfg.WarmUp = n
	}
	switch v := getenv("SHOP_REFRESH_AHEAD_BETA"); v {
	case "":
	case "off":
		cfg.RefreshAheadBeta = 0
	default:
		b, err := strconv.ParseFloat(v, 64)
		if err != nil || !(b >= 0 && b <= 100) {
			bad("SHOP_REFRESH_AHEAD_BETA", "a number from 0 (off) to 100, such as 1; or off", v, nil)
		}
		cfg.RefreshAheadBeta = b
	}
	if v := getenv("SHOP_L1_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Millisecond || d > time.Hour {
			bad("SHOP_L1_TTL", "a duration from 10ms to 1h, such as 5s", v, nil)
		}
		cfg.L1.TTL = d
	}
	for name, ttl := range map[string]*cache.TTL{
		"SHOP_TTL_PRODUCT": &cfg.TTL.Product, "SHOP_TTL_PROFILE": &cfg.TTL.Profile, "SHOP_TTL_LIST": &cfg.TTL.List,
		"SHOP_TTL_HOME": &cfg.TTL.Home, "SHOP_TTL_REALTIME": &cfg.TTL.Realtime, "SHOP_TTL_NEGATIVE": &cfg.TTL.Negative,
	} {
		v := getenv(name)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil // bare seconds, as in the article's table
		}
		if err != nil || d < time.Second || d > 7*24*time.Hour {
			bad(name, "a TTL from 1s to 168h, such as 300s or 300", v, nil)
			continue
		}
		ttl.Base = d
	}
	for name, into := range map[string]*ratelimit.Limit{
		"SHOP_LOGIN_LIMIT_ACCOUNT": &cfg.LoginLimitAccount, "SHOP_LOGIN_LIMIT_IP": &cfg.LoginLimitIP, "SHOP_SIGNUP_LIMIT_IP": &cfg.SignupLimitIP,
	} {
		if v := getenv(name); v != "" {
			l, err := ratelimit.ParseLimit(v)
			if err != nil {
				bad(name, "attempts per period such as 10/min, 20/h or 5/30s, or off", v, err)
			}
			*into = l
		}
	}
	if v := getenv("SHOP_TRUSTED_PROXIES"); v != "" {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			p, err := netip.ParsePrefix(s)
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p, err = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
			}
			if err != nil {
				bad("SHOP_TRUSTED_PROXIES", "comma-separated addresses or CIDRs of the load balancers, such as 10.0.0.0/16", s, nil)
				continue
			}
			cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
		}
	}
	if len(errs) > 0 {
		return config{}, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// LogValue implements slog.LogValuer: the configuration with its secrets redacted.
func (c config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.String("redis_reader_url", redactURL(c.RedisReaderURL)),
		slog.String("redis_key_prefix", c.RedisKeyPrefix),
		slog.Bool("redis_cluster", c.RedisCluster),
		slog.String("redis_ca_file", c.RedisCAFile),
		slog.Bool("seed", c.Seed),
		slog.String("log_level", c.LogLevel.String()),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("drain_delay", c.DrainDelay),
		slog.Duration("request_timeout", c.PageTimeout),
		slog.Duration("write_request_timeout", c.WriteTimeout),
		slog.Duration("load_timeout", c.LoadTimeout),
		slog.Duration("db_statement_timeout", c.StatementTimeout),
		slog.Duration("stale_if_error", c.StaleIfError),
		slog.Duration("session_idle_timeout", c.SessionIdleTimeout),
		slog.Duration("session_lifetime", c.SessionLifetime),
		slog.Bool("session_secure", c.SessionSecure),
		slog.String("admin_email", c.AdminEmail),
		slog.Bool("cache", c.CacheEnabled),
		slog.Int("l1_size", c.L1.Size),
		slog.Duration("l1_ttl", c.L1.TTL),
		slog.Bool("near_tracking", c.NearTracking),
		slog.Duration("db_latency", c.DBLatency),
		slog.Group("ttl", "product", c.TTL.Product.Base, "profile", c.TTL.Profile.Base, "list", c.TTL.List.Base,
			"home", c.TTL.Home.Base, "realtime", c.TTL.Realtime.Base, "negative", c.TTL.Negative.Base),
		slog.Duration("views_flush_interval", c.ViewsFlushInterval),
		slog.Duration("views_batch_interval", c.ViewsBatchInterval),
		slog.Duration("leaderboard_repair_interval", c.LeaderboardRepairPeriod),
		slog.String("login_limit_account", c.LoginLimitAccount.String()),
		slog.String("login_limit_ip", c.LoginLimitIP.String()),
		slog.String("signup_limit_ip", c.SignupLimitIP.String()),
		slog.Any("trusted_proxies", c.TrustedProxies),
	)
}

// redactURL returns raw with any password — in the user part or a password= parameter —
// replaced by "xxxxx"; a URL that does not parse is replaced whole, since it may hold a
// secret in a place we cannot find.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL, not shown)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// elastiCacheURL turns the secret the bundled Terraform stores in Secrets Manager,
// {"host": "…", "port": 6379, "auth": "…", "reader": "…"}, into rediss:// URLs of the
// primary and, when "reader" is not empty, of the reader endpoint: ElastiCache with an AUTH
// token always has in-transit encryption on. The port may be a number or a string.
func elastiCacheURL(secret string) (primary, reader string, err error) {
	var s struct {
		Host   string          `json:"host"`
		Port   json.RawMessage `json:"port"`
		Auth   string          `json:"auth"`
		Reader string          `json:"reader"`
	}
	if err := json.Unmarshal([]byte(secret), &s); err != nil {
		return "", "", errors.New("not valid JSON")
	}
	port, err := strconv.Atoi(strings.Trim(string(s.Port), `"`))
	switch {
	case s.Host == "":
		return "", "", errors.New(`"host" is missing`)
	case err != nil || port < 1 || port > 65535:
		return "", "", errors.New(`"port" must be a number from 1 to 65535`)
	case s.Auth == "":
		return "", "", errors.New(`"auth" is missing`)
	}
	url := func(host string) string {
		u := url.URL{Scheme: "rediss", User: url.UserPassword("", s.Auth), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/0"}
		return u.String()
	}
	if s.Reader != "" {
		reader = url(s.Reader)
	}
	return url(s.Host), reader, nil
}
