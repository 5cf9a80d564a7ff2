package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/alicebob/miniredis/v2"
	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
)

// Embedded mode: with neither SHOP_DATABASE_URL nor SHOP_REDIS_URL set and nothing listening on
// their defaults, the shop starts an in-process Redis (miniredis) and a Postgres from the
// machine's own binaries, so `go run ./cmd/shop` works on a laptop with nothing running. Each
// is started only when its own default is unreachable.

// embeddedPGGlob finds a local Postgres installation (Debian and Ubuntu lay them out so).
const embeddedPGGlob = "/usr/lib/postgresql/*/bin/pg_ctl"

// errRootPostgres explains why embedded Postgres cannot start for root.
var errRootPostgres = errors.New("embedded mode: Postgres refuses to run as root, so the shop cannot start its own; " +
	"run the shop as a normal user, or start a Postgres server and set SHOP_DATABASE_URL " +
	"(e.g. postgres://postgres@127.0.0.1:5432/shop?sslmode=disable)")

// startEmbedded starts what embedded mode needs and points cfg at it; listening says whether
// a server answers on a default address. The returned function stops whatever it started.
func startEmbedded(cfg *config, logger *slog.Logger, listening func(addr string) bool) (func(), error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if !cfg.redisURLSet && !listening("127.0.0.1:6379") {
		mr := miniredis.NewMiniRedis()
		mr.ClockTTL(true) // keys expire in real time, as on a real server
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return stopAll, fmt.Errorf("embedded mode: start in-process Redis: %w", err)
		}
		stops = append(stops, mr.Close)
		cfg.RedisURL = "redis://" + mr.Addr() + "/0"
		logger.Info("embedded mode: nothing listens on 127.0.0.1:6379, so the shop runs an in-process Redis (miniredis); "+
			"set SHOP_REDIS_URL to use a real Redis", "addr", mr.Addr())
	}
	if !cfg.databaseURLSet && !listening("127.0.0.1:5432") {
		url, stop, err := startEmbeddedPostgres(logger)
		if err != nil {
			stopAll()
			return func() {}, err
		}
		stops = append(stops, stop)
		cfg.DatabaseURL = url
	}
	return stopAll, nil
}

func startEmbeddedPostgres(logger *slog.Logger) (string, func(), error) {
	if os.Geteuid() == 0 {
		return "", nil, errRootPostgres
	}
	found, _ := filepath.Glob(embeddedPGGlob)
	if len(found) == 0 {
		return "", nil, errors.New("embedded mode: no local Postgres binaries found (" + embeddedPGGlob +
			"); install PostgreSQL, or set SHOP_DATABASE_URL to a running server")
	}
	sort.Strings(found) // the newest major version last
	binaries := filepath.Dir(filepath.Dir(found[len(found)-1]))
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", nil, fmt.Errorf("embedded mode: %w", err)
	}
	dir := filepath.Join(cache, "shop", "embedded-postgres")
	port, err := freePort()
	if err != nil {
		return "", nil, fmt.Errorf("embedded mode: %w", err)
	}
	runtime := filepath.Join(dir, "run")
	db := embeddedpostgres.NewDatabase(embeddedpostgres.DefaultConfig().
		BinariesPath(binaries).
		RuntimePath(runtime).
		DataPath(filepath.Join(dir, "data")). // kept between runs: no second seeding
		Port(uint32(port)).
		Database("shop").
		StartTimeout(30 * time.Second).
		StartParameters(map[string]string{"unix_socket_directories": runtime}).
		Logger(nil))
	logger.Info("embedded mode: nothing listens on 127.0.0.1:5432, so the shop starts its own Postgres; "+
		"set SHOP_DATABASE_URL to use a real server", "binaries", binaries, "data", filepath.Join(dir, "data"), "port", port)
	if err := db.Start(); err != nil {
		return "", nil, fmt.Errorf("embedded mode: start Postgres from %s: %w", binaries, err)
	}
	stop := func() {
		if err := db.Stop(); err != nil {
			logger.Warn("embedded mode: stop Postgres", "err", err)
		}
	}
	return fmt.Sprintf("postgres://postgres:postgres@127.0.0.1:%d/shop?sslmode=disable", port), stop, nil
}

// tcpListening reports whether something accepts TCP connections on addr.
func tcpListening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
