package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/handlers"
)

// serve runs the shop until ctx ends, then shuts down gracefully: /readyz turns 503 at once
// while the listener stays open for cfg.DrainDelay (a load balancer sees the instance leave
// and stops sending to it, and what it still sends is served), then the HTTP server stops
// (in-flight requests finish), then the background work (pending views are flushed), then
// the connections.
//
// The port opens first: while the shop is built (migrations, and on a first start the
// catalog's import, which takes a while) it serves the warming-up page (handlers.WarmUp:
// /healthz 200, /readyz 503, every page 503 with Retry-After and the import's progress).
func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("SHOP_ADDR: %w", err)
	}
	warm := handlers.NewWarmUp()
	srv := newServer(ctx, cfg, logger, warm)
	logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stopNow := func() {
		_ = srv.Close()
		<-errc
	}

	stopEmbedded, err := startEmbedded(&cfg, logger, tcpListening)
	if err != nil {
		stopNow()
		return err
	}
	defer stopEmbedded()
	logger.Info("starting", "config", cfg)

	cfg.Progress = warm
	shop, err := app.New(ctx, cfg.Config, logger)
	if err != nil {
		stopNow()
		if ctx.Err() != nil { // told to stop while warming up: a clean stop, not a failure
			logger.Info("stopped while warming up", "err", err)
			return nil
		}
		return err
	}
	defer shop.Close()
	if cfg.MetricsAddr != "" {
		stop, err := serveMetrics(cfg.MetricsAddr, shop.Metrics.Handler(), logger)
		if err != nil {
			stopNow()
			return err
		}
		defer stop()
	}
	shop.Start(ctx)
	srv.RegisterOnShutdown(shop.Live.Close)
	srv.RegisterOnShutdown(shop.LabCollector.Close)
	warm.Ready(shop.Handler)
	logger.Info("ready: serving the shop", "addr", ln.Addr().String())
	err = serveUntilDone(ctx, cfg, logger, srv, errc, shop.Drain)

	fctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if serr := shop.Stop(fctx); serr != nil {
		logger.Error("stopping", "err", serr)
	} else {
		logger.Info("views: pending views flushed")
	}
	return err
}

// newServer returns the shop's HTTP server for handler.
func newServer(ctx context.Context, cfg config, logger *slog.Logger, handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// serveUntilDone waits for ctx to end while srv serves (errc receives what its Serve
// returned); then it calls drain, keeps serving for cfg.DrainDelay, and gives in-flight
// requests cfg.ShutdownTimeout to finish. Functions registered with srv.RegisterOnShutdown
// run when shutdown begins (to end streaming responses, which Shutdown would otherwise wait
// for).
func serveUntilDone(ctx context.Context, cfg config, logger *slog.Logger, srv *http.Server, errc <-chan error, drain func()) error {
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	drain()
	logger.Info("draining: /readyz answers 503, still serving", "delay", cfg.DrainDelay)
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-time.After(cfg.DrainDelay):
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

// serveMetrics serves GET /metrics on its own listener at addr, until stop is called.
func serveMetrics(addr string, metrics http.Handler, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("SHOP_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("metrics listening", "addr", ln.Addr().String())
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
