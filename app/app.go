// Package app assembles the shop: New is the only place where the connections, the guard,
// the caches, the domain packages, their workflows and the HTTP handler are built and wired
// together. `shop serve` runs what New returns, and so does every test that needs a shop,
// with its own Config — tests override settings, they never rewire by hand.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/handlers"
	"github.com/shopcache/shop/internal/metrics"
	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/reqstats"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/lab"
	"github.com/shopcache/shop/leaderboard"
	"github.com/shopcache/shop/orders"
	"github.com/shopcache/shop/pageviews"
	"github.com/shopcache/shop/pgnotify"
	"github.com/shopcache/shop/ratelimit"
	"github.com/shopcache/shop/sessions"
	"github.com/shopcache/shop/web"
)

// Config is every setting the shop is built from. cmd/shop reads it from the SHOP_*
// environment variables (README: Configuration); tests fill it in.
type Config struct {
	DatabaseURL    string // SHOP_DATABASE_URL (secret: may hold a password)
	RedisURL       string // SHOP_REDIS_URL or SHOP_ELASTICACHE_SECRET (secret: may hold the AUTH token)
	RedisKeyPrefix string // SHOP_REDIS_KEY_PREFIX: starts every key the shop writes; empty by default
	RedisCAFile    string // SHOP_REDIS_CA_FILE: PEM bundle of the CAs to trust for rediss://
	RedisCluster   bool   // SHOP_REDIS_MODE=cluster: the URL is a cluster's configuration endpoint
	RedisReaderURL string // SHOP_REDIS_READER_URL, or the secret's "reader": replicas for cache reads (secret)
	Seed           bool   // SHOP_SEED: seed the default data set into an empty catalog

	SessionIdleTimeout time.Duration // SHOP_SESSION_IDLE_TIMEOUT: a session ends this long after its last request
	SessionLifetime    time.Duration // SHOP_SESSION_LIFETIME: and this long after it began, at the latest
	SessionSecure      bool          // SHOP_SESSION_SECURE: mark the cookie Secure (serve over HTTPS)
	AdminEmail         string        // SHOP_ADMIN_EMAIL: an admin account made or updated at start
	AdminPassword      string        // SHOP_ADMIN_PASSWORD (secret)

	CacheEnabled bool            // SHOP_CACHE: on (default) or off, to compare
	DBLatency    time.Duration   // SHOP_DB_LATENCY: added to every catalog and profile query (demonstration)
	TTL          cache.Policy    // SHOP_TTL_PRODUCT, _PROFILE, _LIST, _HOME, _REALTIME, _NEGATIVE
	L1           cache.L1Options // SHOP_L1_SIZE (entries per near cache; 0 turns it off), SHOP_L1_TTL
	// NearTracking is SHOP_NEAR_CACHE=tracking: the near caches are kept right by Redis's
	// server-assisted client-side caching (CLIENT TRACKING, broadcasting mode) instead of
	// the cache:invalidations bus (docs/caching.md, "Near-cache modes"). Standalone Redis
	// without a reader endpoint only.
	NearTracking bool
	// RefreshAheadBeta is SHOP_REFRESH_AHEAD_BETA: the beta of refresh-ahead (cache/refresh.go),
	// which reloads a hot value just before it expires; 0 turns it off.
	RefreshAheadBeta float64
	// WarmUp is SHOP_WARM_UP: how many of the all-time bestsellers' product pages Start reads
	// through the cache in the background (warmup.go); 0: none.
	WarmUp                  int
	ViewsFlushInterval      time.Duration // SHOP_VIEWS_FLUSH_INTERVAL: how often pending views go to Postgres
	ViewsBatchInterval      time.Duration // SHOP_VIEWS_BATCH_INTERVAL: how often views counted in the process go to Redis; 0: each view at once
	LeaderboardRepairPeriod time.Duration // SHOP_LEADERBOARD_REPAIR_INTERVAL: how often a missing or stale board is looked for

	LoginLimitAccount ratelimit.Limit // SHOP_LOGIN_LIMIT_ACCOUNT: sign-in attempts per account (e-mail)
	LoginLimitIP      ratelimit.Limit // SHOP_LOGIN_LIMIT_IP: sign-in attempts per client address
	SignupLimitIP     ratelimit.Limit // SHOP_SIGNUP_LIMIT_IP: sign-ups per client address
	TrustedProxies    []netip.Prefix  // SHOP_TRUSTED_PROXIES: peers whose X-Forwarded-For names the client

	// Deadlines (issue 13): every request, every shared load and every statement has one.
	PageTimeout      time.Duration // SHOP_REQUEST_TIMEOUT: longest a GET or HEAD request runs; 0: no deadline
	WriteTimeout     time.Duration // SHOP_WRITE_REQUEST_TIMEOUT: longest any other request runs; 0: no deadline
	LoadTimeout      time.Duration // SHOP_LOAD_TIMEOUT: longest a cache load shared by requests runs
	StatementTimeout time.Duration // SHOP_DB_STATEMENT_TIMEOUT: Postgres statement_timeout of the shop's pool; 0: none
	// StaleIfError is SHOP_STALE_IF_ERROR: how long past its TTL a cached value is still
	// served when loading it again fails (Postgres down or too slow); 0: never.
	StaleIfError time.Duration

	// Settings with no variable: the shop's defaults suit production; tests change them.
	Instance         string          // names this process on /lab and in invalidations; default host (pid N)
	BcryptCost       int             // default bcrypt.DefaultCost (tests use bcrypt.MinCost)
	RedisCallTimeout time.Duration   // the guard's bound on one Redis round trip; default 250 ms
	LeaseWait        time.Duration   // how long a cache miss waits for another loader's fill; default 200 ms
	QueryTracer      pgx.QueryTracer // also told of every Postgres statement (tests count them); nil for none
	// Progress, when set, is also written each line of start-up progress: the migrations
	// and the seed's import (cmd/shop's warming-up page shows them).
	Progress io.Writer
	// PGNotify makes Start listen for changes committed in Postgres (pgnotify). On by
	// default; tests turn it off to see the pub/sub bus alone.
	PGNotify bool
	// LabDuration is the main phase of the Lab's experiments (the breaker forced open, each
	// side of the write-through run); default 10 s.
	LabDuration time.Duration
	// LabRunLimitIP bounds how often one client address starts the Lab's open experiments;
	// default 6 a minute.
	LabRunLimitIP ratelimit.Limit
}

// Defaults returns the configuration that `go run ./cmd/shop` uses on a laptop, with
// databaseURL and redisURL.
func Defaults(databaseURL, redisURL string) Config {
	return Config{
		DatabaseURL:             databaseURL,
		RedisURL:                redisURL,
		Seed:                    true,
		SessionIdleTimeout:      30 * time.Minute,
		SessionLifetime:         24 * time.Hour,
		CacheEnabled:            true,
		TTL:                     cache.DefaultPolicy(),
		L1:                      cache.L1Options{Size: 10_000, TTL: 5 * time.Second},
		RefreshAheadBeta:        1,
		WarmUp:                  100,
		ViewsFlushInterval:      5 * time.Second,
		ViewsBatchInterval:      100 * time.Millisecond,
		LeaderboardRepairPeriod: time.Minute,
		PGNotify:                true,
		LoginLimitAccount:       ratelimit.Limit{Count: 10, Period: time.Minute},
		LoginLimitIP:            ratelimit.Limit{Count: 50, Period: time.Minute},
		SignupLimitIP:           ratelimit.Limit{Count: 20, Period: time.Hour},
		LabDuration:             10 * time.Second,
		LabRunLimitIP:           ratelimit.Limit{Count: 6, Period: time.Minute},
		PageTimeout:             10 * time.Second,
		WriteTimeout:            15 * time.Second,
		LoadTimeout:             5 * time.Second,
		StatementTimeout:        5 * time.Second,
		StaleIfError:            15 * time.Minute,
	}
}

// App is one assembled shop: its handler, the parts tests look at, and the background work
// that Start runs and Stop ends.
type App struct {
	Handler http.Handler

	Pool     *pgxpool.Pool
	Redis    redis.UniversalClient // the primary (or the cluster), behind Guard
	Guard    *cache.Guard
	Cache    *cache.Cache
	Catalog  *catalog.Cached
	Accounts *accounts.Cached
	Sessions *sessions.Store
	Carts    *orders.Carts
	Checkout *orders.Checkout
	Board    *leaderboard.Board
	Live     *leaderboard.Live
	Views    *pageviews.Counter
	Flusher  *pageviews.Flusher
	// ViewBuffer counts views in the process and sends them to Redis in batches; nil when
	// Config.ViewsBatchInterval is 0 (each view is then its own round trip).
	ViewBuffer *pageviews.Buffer
	Metrics    *metrics.Metrics

	// The Cache Lab: this instance's traffic, the deployment's figures, the experiments.
	LabRecorder  *lab.Recorder
	LabCollector *lab.Collector
	LabRunner    *lab.Runner

	cfg      Config
	redisDB  int // the database number, whose expirations are heard
	log      *slog.Logger
	listener *pgnotify.Listener
	closers  []func()

	stopBackground context.CancelFunc
	workers        sync.WaitGroup
	draining       atomic.Bool // set by Drain: /readyz answers 503
}

// New builds the shop of cfg: it connects to Postgres (creating the database if missing),
// applies the migrations, seeds an empty catalog when cfg.Seed is set, connects to Redis
// (a Redis that is away is not an error: the shop serves from Postgres until it answers; a
// misconfigured one is), and wires every part. Nothing runs in the background until Start.
// Close releases what New opened.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	if cfg.Instance == "" {
		host, _ := os.Hostname()
		cfg.Instance = fmt.Sprintf("%s (pid %d)", host, os.Getpid())
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	if err := checkNearMode(cfg); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: logger, Metrics: metrics.New(), LabRecorder: lab.NewRecorder()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	templates, err := web.ParseTemplates()
	if err != nil {
		return nil, err
	}
	if err := setUpDatabase(ctx, cfg, logger); err != nil {
		return nil, err
	}
	if a.Pool, err = OpenPostgres(ctx, cfg.DatabaseURL, logger, a.countQuery, cfg.QueryTracer, cfg.StatementTimeout); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Pool.Close)

	// Redis: one client for everything (cache, sessions, carts, boards, views, pub/sub), and
	// one guard in front of every call it makes.
	settings, err := redisconn.Parse(cfg.RedisURL, cfg.RedisCAFile)
	if err != nil {
		return nil, fmt.Errorf("SHOP_REDIS_URL: %w", err)
	}
	// A server that is away is waited for; one that refuses TLS, our TLS or our token is a
	// mistake in the configuration, said now rather than as EOFs later.
	checkCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = settings.Check(checkCtx, cfg.RedisCluster)
	cancel()
	switch {
	case errors.Is(err, redisconn.ErrUnreachable):
		logger.Warn("Redis is not reachable at start; the shop serves pages from Postgres, and signing in, "+
			"the cart and checkout answer 503 until it is", "err", err)
	case err != nil:
		return nil, fmt.Errorf("Redis (SHOP_REDIS_URL or SHOP_ELASTICACHE_SECRET): %w", err)
	}
	a.Guard = cache.NewGuard(cache.GuardOptions{CallTimeout: cfg.RedisCallTimeout, Logger: logger})
	if cfg.RedisCluster {
		a.Redis = settings.ClusterClient()
	} else {
		a.Redis = settings.Client()
	}
	a.closers = append(a.closers, func() { a.Redis.Close() })
	a.Guard.Install(a.Redis)
	a.redisDB = settings.DB
	a.Redis.AddHook(reqstats.RedisHook{})
	copts := cache.Options{
		Prefix: cfg.RedisKeyPrefix, Observer: reqstats.ObserveCache, Logger: logger, Instance: cfg.Instance,
		LeaseWait: cfg.LeaseWait, LoadTimeout: cfg.LoadTimeout, StaleIfError: cfg.StaleIfError, Disabled: !cfg.CacheEnabled,
		RefreshAheadBeta: cfg.RefreshAheadBeta, Tracking: cfg.NearTracking,
		OnLag: func(d time.Duration) { a.Metrics.InvalidationLag.Observe(d.Seconds()) },
	}
	if cfg.RedisReaderURL != "" {
		readerSettings, err := redisconn.Parse(cfg.RedisReaderURL, cfg.RedisCAFile)
		if err != nil {
			return nil, fmt.Errorf("SHOP_REDIS_READER_URL: %w", err)
		}
		reader := readerSettings.Client()
		a.closers = append(a.closers, func() { reader.Close() })
		a.Guard.Install(reader)
		reader.AddHook(reqstats.RedisHook{})
		copts.Reader = reader
	}
	// The cache is always built; SHOP_CACHE=off only disables it, so that every read still
	// shows on /lab, /metrics and the page's footer (as BYPASS).
	a.Cache = cache.New(a.Redis, copts)
	a.Metrics.AddCaches(a.Cache.Stats)

	// The domains, and the workflows that run their side effects after commit.
	a.Board = leaderboard.New(a.Redis, a.Pool, cfg.RedisKeyPrefix, logger)
	a.Live = leaderboard.NewLive(a.Board, handlers.BestsellerCount)
	store := catalog.NewStore(a.Pool).WithLatency(cfg.DBLatency)
	a.Catalog = catalog.NewCached(store, a.Cache, cfg.TTL, cfg.L1, a.Board, logger)
	a.Sessions = sessions.New(a.Redis, cfg.RedisKeyPrefix+keys.SessionPrefix,
		func(id int64) string { return cfg.RedisKeyPrefix + keys.UserSessions(id) }, cfg.SessionIdleTimeout)
	a.Accounts = accounts.NewCached(accounts.NewStore(a.Pool, cfg.BcryptCost).WithLatency(cfg.DBLatency), a.Cache, cfg.TTL, cfg.L1, a.Sessions, logger)
	a.Carts = orders.NewCarts(a.Redis, cfg.RedisKeyPrefix, cfg.SessionLifetime)
	a.Checkout = orders.NewCheckout(a.Carts, orders.NewStore(a.Pool), a.Catalog, saleRecorder{a.Board, a.LabRecorder}, logger)
	a.Views = pageviews.NewCounter(a.Redis, a.Pool, cfg.RedisKeyPrefix)
	a.Flusher = pageviews.NewFlusher(a.Views, cfg.ViewsFlushInterval, logger)
	a.listener = pgnotify.NewListener(a.Pool.Config().ConnConfig.Copy(), a.Cache.Invalidate, logger)
	if cfg.PGNotify { // the listener vouches for the near caches while pub/sub is away
		a.Cache.SetWitness(a.listener)
	}

	a.LabCollector = lab.NewCollector(a.Redis, cfg.RedisKeyPrefix, cfg.Instance, lab.Sources{
		Recorder: a.LabRecorder, Caches: a.Cache.Stats, Lags: a.Cache.Lags, Available: a.Guard.Available, WriteBehind: a.writeBehindStatus,
	}, logger)
	a.LabRunner = lab.NewRunner(a.Redis, cfg.RedisKeyPrefix, a.LabCollector, lab.Deps{
		Cache: a.Cache, Catalog: a.Catalog, Store: store, Guard: a.Guard, Sessions: a.Sessions, Views: a.Views, Flusher: a.Flusher,
		DBLatency: cfg.DBLatency, Duration: cfg.LabDuration, L1: cfg.L1,
	}, logger)

	if err := ensureAdmin(ctx, a.Accounts, cfg, logger); err != nil {
		return nil, err
	}

	var stats interface {
		View(context.Context, int64) (pageviews.Stats, error)
	} = pageviews.NewReader(a.Redis, boardRank{a.Board}.queue, a.Views)
	if cfg.ViewsBatchInterval > 0 {
		a.ViewBuffer = pageviews.NewBuffer(a.Redis, boardRank{a.Board}.queue, a.Views, cfg.ViewsBatchInterval, logger)
		stats = a.ViewBuffer
	}

	// The session store's calls go through a.Redis, whose hook counts them on the page's
	// footer like every other round trip.
	sessionStore := a.Sessions
	handler := handlers.NewServer(
		logger, templates,
		handlers.NewSessions(sessionStore, cfg.SessionLifetime, cfg.SessionSecure),
		a.Catalog, a.Accounts, a.Carts, orders.NewStore(a.Pool), a.Checkout,
		a.Board, a.Live, stats,
		[]handlers.Check{
			{Name: "serving", Ping: a.serving},
			{Name: "postgres", Ping: a.Pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }, Degradable: true},
		},
		handlers.Lab{
			Instance: cfg.Instance, DBLatency: cfg.DBLatency, CacheOff: !cfg.CacheEnabled,
			CacheStats: a.Cache.Stats, Lags: a.Cache.Lags, NearSize: a.Cache.NearSize, L1: cfg.L1,
			WriteBehind: a.writeBehindStatus,
			Recorder:    a.LabRecorder, Collector: a.LabCollector, Runner: a.LabRunner,
		},
		handlers.RateLimits{
			Limiter:      ratelimit.New(a.Redis, cfg.RedisKeyPrefix),
			LoginAccount: cfg.LoginLimitAccount, LoginIP: cfg.LoginLimitIP, SignupIP: cfg.SignupLimitIP,
			LabRunIP: cfg.LabRunLimitIP,
		},
		cfg.TrustedProxies,
	)
	a.Handler = handlers.Deadlines(handler, handlers.Timeouts{Page: cfg.PageTimeout, Write: cfg.WriteTimeout})
	a.LabRunner.SetPages(a.Handler)
	return a, nil
}

// checkNearMode refuses the tracking near-cache mode where it cannot be right: Redis tracks
// keys per node (a cluster's nodes cannot redirect to one subscriber), and a replica read
// after a tracked invalidation may still return the old value, which carries no version
// the tracking mode could compare.
func checkNearMode(cfg Config) error {
	switch {
	case !cfg.NearTracking:
		return nil
	case cfg.RedisCluster:
		return errors.New("SHOP_NEAR_CACHE=tracking needs a standalone Redis, not SHOP_REDIS_MODE=cluster " +
			"(Redis tracks keys per node); use SHOP_NEAR_CACHE=pubsub on a cluster")
	case cfg.RedisReaderURL != "":
		return errors.New("SHOP_NEAR_CACHE=tracking does not work with SHOP_REDIS_READER_URL " +
			"(a lagging replica could put back a value tracking has invalidated); use SHOP_NEAR_CACHE=pubsub")
	}
	return nil
}

// writeBehindStatus is both stages of the views' write-behind path, for /lab.
func (a *App) writeBehindStatus(ctx context.Context) pageviews.Status {
	st := a.Flusher.Status(ctx)
	if a.ViewBuffer != nil {
		b := a.ViewBuffer.Status()
		st.Buffer = &b
	}
	return st
}

// boardRank adapts the board's rank read to the page views' RankQueuer.
type boardRank struct{ board *leaderboard.Board }

func (b boardRank) queue(ctx context.Context, p redis.Pipeliner, id int64) func() (int, int64, error) {
	get := b.board.QueueRank(ctx, p, id)
	return func() (int, int64, error) {
		r, err := get()
		return r.Rank, r.Units, err
	}
}

// setUpDatabase applies the migrations and, with cfg.Seed, seeds an empty catalog, over a
// pool of its own without the shop's statement_timeout (a migration or a seed may take
// longer than a page's query should), closed when done.
func setUpDatabase(ctx context.Context, cfg Config, logger *slog.Logger) error {
	pool, err := OpenPostgres(ctx, cfg.DatabaseURL, logger, nil, nil, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		logger.Info("migrations applied", "versions", applied)
		progress(cfg, fmt.Sprintf("database schema up to date (%d migrations applied)", len(applied)))
	}
	if cfg.Seed {
		return seedIfEmpty(ctx, pool, logger, cfg.Progress)
	}
	return nil
}

// progress writes line to cfg.Progress, if set.
func progress(cfg Config, line string) {
	if cfg.Progress != nil {
		fmt.Fprintln(cfg.Progress, line)
	}
}

// errDraining is the readiness of an instance that is stopping.
var errDraining = errors.New("shutting down: draining connections")

// serving is the readiness check that fails once Drain was called.
func (a *App) serving(context.Context) error {
	if a.draining.Load() {
		return errDraining
	}
	return nil
}

// Drain makes /readyz answer 503 from now on, so that a load balancer stops sending new
// requests while the instance still serves those that come (the first step of a graceful
// stop; the server's Shutdown comes after a drain delay).
func (a *App) Drain() { a.draining.Store(true) }

// countQuery counts one Postgres statement in /metrics and, unless it is the Lab's own, on
// the Lab's dashboard.
func (a *App) countQuery(ctx context.Context) {
	a.Metrics.DBQueries.Inc()
	if !cache.IsUncounted(ctx) {
		a.LabRecorder.DBQuery()
	}
}

// saleRecorder counts a placed order on the bestseller boards (and on the Lab's dashboard).
type saleRecorder struct {
	board *leaderboard.Board
	lab   *lab.Recorder
}

func (s saleRecorder) RecordSale(ctx context.Context, o orders.Order) error {
	lines := make([]leaderboard.Line, len(o.Items))
	for i, it := range o.Items {
		lines[i] = leaderboard.Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	if err := s.board.Record(ctx, o.CreatedAt, lines); err != nil {
		return err
	}
	s.lab.BoardUpdate()
	return nil
}

// Listening is closed once the Postgres listener of Start listens (pgnotify), so that a
// change committed from then on reaches this instance.
func (a *App) Listening() <-chan struct{} { return a.listener.Ready() }

// Start builds the bestseller boards when Redis has none (first start, or Redis lost them),
// then starts the background work: the boards' repair loop and live stream, the views
// flusher, the invalidation listeners (Redis pub/sub, keyspace expirations, Postgres
// LISTEN), and the warm-up of the bestsellers' product pages (warmup.go). Stop ends them.
func (a *App) Start(ctx context.Context) {
	if ok, err := a.Board.Exists(ctx); err != nil {
		a.log.Warn("leaderboard: Redis not answering; the boards are built when it does", "err", err)
	} else if !ok {
		res, err := a.Board.Rebuild(ctx)
		if err != nil {
			a.log.Warn("leaderboard: rebuild at start failed; the repair loop retries", "err", err)
		} else {
			a.log.Info("leaderboard: boards were missing, rebuilt from Postgres", "products", res.Products, "took", res.Took)
		}
	}
	a.Flusher.Start()
	if a.ViewBuffer != nil {
		a.ViewBuffer.Start()
	}
	background, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBackground = stop
	a.workers.Go(func() { a.Live.Run(background) })
	a.workers.Go(func() { a.Board.RunRepair(background, a.cfg.LeaderboardRepairPeriod) })
	if a.cfg.NearTracking {
		a.workers.Go(func() { a.Cache.RunTracking(background) })
	} else {
		a.workers.Go(func() { a.Cache.RunInvalidations(background) })
	}
	a.workers.Go(func() { a.Cache.RunExpirations(background, a.redisDB) })
	a.workers.Go(func() { a.LabCollector.Run(background) })
	a.workers.Go(func() {
		if err := a.LabRunner.RestoreLeft(background); err != nil {
			a.log.Warn("lab: what an experiment that died changed was not restored; the next run does it", "err", err)
		}
	})
	if a.cfg.PGNotify {
		a.workers.Go(func() { a.listener.Run(background) })
	}
	a.workers.Go(func() { a.warmUp(background) })
}

// Stop ends the background work Start began — streams to browsers first (so that an HTTP
// server's Shutdown does not wait for them), then the workers — and writes the pending views
// to Postgres within ctx (what fails stays in Redis and is applied at the next start).
func (a *App) Stop(ctx context.Context) error {
	a.Live.Close()
	a.LabCollector.Close()
	if err := a.LabRunner.Stop(ctx); err != nil {
		a.log.Warn("lab: an experiment did not end in time", "err", err)
	}
	if a.stopBackground == nil {
		return nil
	}
	a.stopBackground()
	a.workers.Wait()
	var bufErr error
	if a.ViewBuffer != nil { // first stage (process → Redis, or Postgres) before the second
		bufErr = a.ViewBuffer.Stop(ctx)
	}
	if err := a.Flusher.Stop(ctx); err != nil {
		return errors.Join(bufErr, fmt.Errorf("views: final flush failed; the batch stays in Redis for the next start: %w", err))
	}
	return bufErr
}

// Close releases the connections New opened, in reverse order. Call it after Stop.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
