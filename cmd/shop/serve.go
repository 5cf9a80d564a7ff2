package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopcache/shop/accounts"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/dataset"
	"github.com/shopcache/shop/handlers"
	"github.com/shopcache/shop/invalidation"
	"github.com/shopcache/shop/leaderboard"
	"github.com/shopcache/shop/metrics"
	"github.com/shopcache/shop/orders"
	"github.com/shopcache/shop/productstats"
	"github.com/shopcache/shop/redisconn"
	"github.com/shopcache/shop/reqstats"
	"github.com/shopcache/shop/sessionstore"
	"github.com/shopcache/shop/views"
	"github.com/shopcache/shop/web"
)

// serve runs the shop until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	stopEmbedded, err := startEmbedded(&cfg, logger, tcpListening)
	if err != nil {
		return err
	}
	defer stopEmbedded()
	logger.Info("starting", "config", cfg)

	templates, err := web.ParseTemplates()
	if err != nil {
		return err
	}
	// The metrics exist before the cache (the pool counts queries into them); they read the
	// caches' counters through caches, which is set once the cache is built.
	caches := func() []cache.StatsSnapshot { return nil }
	m := metrics.New(func() []cache.StatsSnapshot { return caches() })
	pool, err := openPostgres(ctx, cfg.DatabaseURL, logger, m.DBQueries.Inc)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := migrateUp(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		logger.Info("migrations applied", "versions", applied)
	}
	if cfg.Seed {
		if err := seedIfEmpty(ctx, pool, logger); err != nil {
			return err
		}
	}

	redisSettings, err := redisconn.Parse(cfg.RedisURL, cfg.RedisCAFile)
	if err != nil {
		return fmt.Errorf("SHOP_REDIS_URL: %w", err)
	}
	// A server that is away is waited for; one that refuses TLS, our TLS or our token is a
	// mistake in the configuration, said now rather than as EOFs later.
	checkCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = redisSettings.Check(checkCtx, cfg.RedisCluster)
	cancel()
	switch {
	case errors.Is(err, redisconn.ErrUnreachable):
		logger.Warn("Redis is not reachable at start; the shop serves pages from Postgres, and signing in, "+
			"the cart and checkout answer 503 until it is", "redis_url", redactURL(cfg.RedisURL), "err", err)
	case err != nil:
		return fmt.Errorf("Redis (SHOP_REDIS_URL or SHOP_ELASTICACHE_SECRET: %s): %w", redactURL(cfg.RedisURL), err)
	}
	// One client for everything but the sessions; the sessions through redisstore (a redigo
	// pool) on a single Redis, through our go-redis store on a cluster, which redisstore
	// cannot speak to.
	var (
		rdb          redis.UniversalClient
		sessionStore reqstats.SessionStore
		sessionsUp   func(context.Context) error
	)
	if cfg.RedisCluster {
		cluster := redisSettings.ClusterClient()
		rdb = cluster
		sessionStore = reqstats.SessionStore{Store: sessionstore.New(cluster, cfg.RedisKeyPrefix+sessionKeyPrefix)}
		sessionsUp = func(ctx context.Context) error { return cluster.Ping(ctx).Err() }
	} else {
		rdb = redisSettings.Client()
		sessionPool := redisSettings.Pool()
		defer sessionPool.Close()
		sessionStore = reqstats.SessionStore{Store: redisstore.NewWithPrefix(sessionPool, cfg.RedisKeyPrefix+sessionKeyPrefix)}
		sessionsUp = func(ctx context.Context) error {
			conn, err := sessionPool.GetContext(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.Do("PING")
			return err
		}
	}
	defer rdb.Close()
	rdb.AddHook(reqstats.RedisHook{})

	products := catalog.NewStore(pool).WithLatency(cfg.DBLatency)
	users := accounts.NewStore(pool, bcrypt.DefaultCost).WithLatency(cfg.DBLatency)
	opts := handlers.Options{
		Logger:    logger,
		Templates: templates,
		Sessions:  handlers.NewSessions(sessionStore, cfg.SessionIdleTimeout, cfg.SessionLifetime, cfg.SessionSecure),
		Carts:     orders.NewCarts(rdb, cfg.RedisKeyPrefix, cfg.SessionLifetime),
		Orders:    orders.NewStore(pool),
		Checks: []handlers.Check{
			{Name: "postgres", Ping: pool.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }, Degradable: true},
		},
		Lab:     handlers.Lab{Instance: instanceName(), DBLatency: cfg.DBLatency, CacheOff: !cfg.CacheEnabled},
		Metrics: m.Handler(),
	}
	// The cache is always built; SHOP_CACHE=off only disables it, so that every read still
	// shows on /lab, /metrics and the page's footer (as BYPASS).
	copts := cache.Options{
		Prefix: cfg.RedisKeyPrefix, Observer: reqstats.ObserveCache, Logger: logger, Instance: instanceName(),
		OnLag: func(d time.Duration) { m.InvalidationLag.Observe(d.Seconds()) }, Disabled: !cfg.CacheEnabled,
	}
	if cfg.RedisReaderURL != "" {
		readerSettings, err := redisconn.Parse(cfg.RedisReaderURL, cfg.RedisCAFile)
		if err != nil {
			return fmt.Errorf("SHOP_REDIS_READER_URL: %w", err)
		}
		reader := readerSettings.Client()
		defer reader.Close()
		reader.AddHook(reqstats.RedisHook{})
		copts.Reader = reader
	}
	theCache := cache.New(rdb, copts)
	cachedUsers := accounts.NewCached(users, theCache, cfg.TTL, cfg.L1, logger)
	opts.Catalog = catalog.NewCached(products, theCache, cfg.TTL, cfg.L1, logger)
	opts.Accounts = cachedUsers
	opts.Lab.CacheStats = theCache.Stats
	opts.Lab.Lags = theCache.Lags
	opts.Lab.NearSize = theCache.NearSize
	opts.Lab.L1 = cfg.L1
	caches = theCache.Stats
	// Security (issue 12): an existing shopper's account is never promoted by configuration.
	if err := ensureAdmin(ctx, cachedUsers, cfg, logger); err != nil {
		return err
	}

	// The bestseller boards: built from Postgres when Redis has none (first start, or Redis
	// lost them), kept by the repair loop, and streamed to browsers by live.
	board := leaderboard.New(rdb, pool, cfg.RedisKeyPrefix, logger)
	if ok, err := board.Exists(ctx); err != nil {
		logger.Warn("leaderboard: Redis not answering; the boards are built when it does", "err", err)
	} else if !ok {
		res, err := board.Rebuild(ctx)
		if err != nil {
			logger.Warn("leaderboard: rebuild at start failed; the repair loop retries", "err", err)
		} else {
			logger.Info("leaderboard: boards were missing, rebuilt from Postgres", "products", res.Products, "took", res.Took)
		}
	}
	live := leaderboard.NewLive(board, handlers.BestsellerCount)
	counter := views.NewCounter(rdb, pool, cfg.RedisKeyPrefix)
	flusher := views.NewFlusher(counter, cfg.ViewsFlushInterval, logger)
	opts.Bestsellers = board
	opts.Live = live
	opts.ProductStats = productstats.NewReader(rdb, board, counter)
	opts.Lab.WriteBehind = flusher.Status

	flusher.Start()
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() { live.Run(background) })
	workers.Go(func() { board.RunRepair(background, cfg.LeaderboardRepairPeriod) })
	// Invalidations: pub/sub between instances, and Postgres notifications for changes
	// made anywhere; expirations are counted when the server reports them.
	workers.Go(func() { theCache.RunInvalidations(background) })
	workers.Go(func() { theCache.RunExpirations(background, redisSettings.DB) })
	listener := invalidation.NewListener(pool.Config().ConnConfig.Copy(), theCache.Invalidate, logger)
	workers.Go(func() { listener.Run(background) })

	opts.SessionsUp = sessionsUp
	opts.RateLimits = rateLimits(cfg, rdb) // Security (issue 12): sign-in and sign-up limits in Redis
	opts.RedisUp = theCache.Available
	handler := handlers.NewServer(opts)
	err = listenAndServe(ctx, cfg, logger, handler, live.Close)

	// The server has stopped: stop the background workers, then write the pending views to
	// Postgres (what fails stays in Redis and is applied at the next start).
	stopBackground()
	workers.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if ferr := flusher.Stop(fctx); ferr != nil {
		logger.Error("views: final flush failed; the batch stays in Redis for the next start", "err", ferr)
	} else {
		logger.Info("views: pending views flushed")
	}
	return err
}

// instanceName names this process on /lab: host name and process id.
func instanceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s (pid %d)", host, os.Getpid())
}

// sessionKeyPrefix starts every session key in Redis: session:{token}.
const sessionKeyPrefix = "session:"

// seedIfEmpty loads the default data set with its order history into an empty catalog, so a
// newcomer never sees an empty shop.
func seedIfEmpty(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	var empty bool
	if err := pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM products)`).Scan(&empty); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !empty {
		return nil
	}
	logger.Info("catalog is empty: seeding the default data set with its order history (SHOP_SEED=false turns this off)",
		"dataset", dataset.Names[0])
	progress := slogWriter{logger}
	res, err := dataset.Load(ctx, pool, dataset.Names[0], true, progress)
	if err != nil {
		return err
	}
	logger.Info("seeded", "dataset", dataset.Names[0], "products", res.ProductsInserted,
		"orders", res.OrdersInserted, "order_lines", res.OrderLinesInserted, "took", res.Took)
	return nil
}

// slogWriter logs each line written to it at info level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

// listenAndServe serves handler on cfg.Addr until ctx ends, then gives in-flight requests
// cfg.ShutdownTimeout to finish. onShutdown functions run when shutdown begins (to end
// streaming responses, which Shutdown would otherwise wait for).
func listenAndServe(ctx context.Context, cfg config, logger *slog.Logger, handler http.Handler, onShutdown ...func()) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("SHOP_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	for _, f := range onShutdown {
		srv.RegisterOnShutdown(f)
	}
	logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}
