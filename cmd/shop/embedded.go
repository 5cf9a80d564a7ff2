package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
)

// Embedded mode: with neither SHOP_DATABASE_URL nor any Redis setting given and nothing
// listening on their defaults, the shop starts an in-process Redis (miniredis) and a Postgres
// from the machine's own binaries, so `go run ./cmd/shop` works on a laptop with nothing
// running. Each is started only when its own default is unreachable: every connection to it
// is refused (not merely slow), on each of a few tries over about a second.
//
// The embedded Postgres keeps its data between runs (in the user's cache directory): it runs
// the major version the data directory was made by, and refuses to start rather than wipe
// it when those binaries are gone. A Postgres left running by a shop that was killed is
// stopped before the next start.

// embeddedPGGlob finds a local Postgres installation (Debian and Ubuntu lay them out so).
const embeddedPGGlob = "/usr/lib/postgresql/*/bin/pg_ctl"

// defaultRedisAddr and defaultPostgresAddr are where embedded mode looks for real servers.
const (
	defaultRedisAddr    = "127.0.0.1:6379"
	defaultPostgresAddr = "127.0.0.1:5432"
)

// errRootPostgres explains why embedded Postgres cannot start for root.
var errRootPostgres = errors.New("embedded mode: Postgres refuses to run as root, so the shop cannot start its own; " +
	"run the shop as a normal user, or start a Postgres server and set SHOP_DATABASE_URL " +
	"(e.g. postgres://postgres@127.0.0.1:5432/shop?sslmode=disable)")

// startEmbedded starts what embedded mode needs and points cfg at it; listening says whether
// a server answers (or may answer) on a default address. The returned function stops
// whatever it started.
func startEmbedded(cfg *config, logger *slog.Logger, listening func(addr string) bool) (func(), error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if !cfg.redisConfigured && !listening(defaultRedisAddr) {
		mr := miniredis.NewMiniRedis()
		mr.ClockTTL(true) // keys expire in real time, as on a real server
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return stopAll, fmt.Errorf("embedded mode: start in-process Redis: %w", err)
		}
		stops = append(stops, mr.Close)
		cfg.RedisURL = "redis://" + mr.Addr() + "/0"
		logger.Info("embedded mode: nothing listens on "+defaultRedisAddr+" and no Redis is configured, so this process "+
			"runs an in-process Redis (miniredis) for as long as it runs; set SHOP_REDIS_URL to use a real Redis", "addr", mr.Addr())
		stops = append(stops, watchForRedis(logger, listening, defaultRedisAddr, 10*time.Second))
	}
	if !cfg.databaseURLSet && !listening(defaultPostgresAddr) {
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

// watchForRedis checks addr every period while the in-process Redis runs, and warns once
// when a server starts listening there: the shop keeps its in-process Redis (its carts and
// sessions are in it), and the warning says how to move to the real one. It returns the
// function that stops the watch.
func watchForRedis(logger *slog.Logger, listening func(string) bool, addr string, period time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if listening(addr) {
				logger.Warn("embedded mode: a Redis now listens on "+addr+", but this process keeps its in-process Redis; "+
					"restart the shop to use the real one (or set SHOP_REDIS_URL)", "addr", addr)
				return
			}
		}
	}()
	return func() { close(done) }
}

// embeddedDataDir is where embedded Postgres keeps its cluster between runs.
func embeddedDataDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("embedded mode: %w", err)
	}
	return filepath.Join(cache, "shop", "embedded-postgres"), nil
}

func startEmbeddedPostgres(logger *slog.Logger) (string, func(), error) {
	if os.Geteuid() == 0 {
		return "", nil, errRootPostgres
	}
	found, _ := filepath.Glob(embeddedPGGlob)
	dir, err := embeddedDataDir()
	if err != nil {
		return "", nil, err
	}
	data, runtime := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	binaries, major, err := pickPostgres(data, found)
	if err != nil {
		return "", nil, err
	}
	if err := stopLeftover(data, logger, 30*time.Second); err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, fmt.Errorf("embedded mode: %w", err)
	}
	db := embeddedpostgres.NewDatabase(embeddedpostgres.DefaultConfig().
		// The version of the binaries used: embedded-postgres wipes a data directory whose
		// PG_VERSION does not start with it (its default, 18, would wipe a version-15 one).
		Version(embeddedpostgres.PostgresVersion(major + ".0.0")).
		BinariesPath(binaries).
		RuntimePath(runtime).
		DataPath(data). // kept between runs: no second seeding
		Port(uint32(port)).
		Database("shop").
		StartTimeout(30 * time.Second).
		StartParameters(map[string]string{"unix_socket_directories": runtime}).
		Logger(nil))
	logger.Info("embedded mode: nothing listens on "+defaultPostgresAddr+", so the shop starts its own Postgres; "+
		"set SHOP_DATABASE_URL to use a real server", "binaries", binaries, "version", major, "data", data, "port", port)
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

// pickPostgres chooses the installation (of found, paths to bin/pg_ctl) to run the data
// directory data with, and returns its root and major version: the one the data directory
// was made by (its PG_VERSION), else — for a new one — the newest. A data directory whose
// version is not installed is an error: starting another version would wipe it.
func pickPostgres(data string, found []string) (root, major string, err error) {
	byMajor := map[string]string{}
	var majors []int
	for _, f := range found {
		root := filepath.Dir(filepath.Dir(f))
		m := filepath.Base(root)
		if n, err := strconv.Atoi(m); err == nil {
			byMajor[m] = root
			majors = append(majors, n)
		}
	}
	b, err := os.ReadFile(filepath.Join(data, "PG_VERSION"))
	if err == nil {
		want := strings.TrimSpace(string(b))
		if root, ok := byMajor[want]; ok {
			return root, want, nil
		}
		return "", "", fmt.Errorf("embedded mode: the data directory %s was made by Postgres %s, which is not installed "+
			"(found %v under /usr/lib/postgresql); install it, upgrade the directory with pg_upgrade, or move it away "+
			"to start afresh — the shop does not wipe it", data, want, sortedKeys(byMajor))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("embedded mode: %w", err)
	}
	if len(majors) == 0 {
		return "", "", errors.New("embedded mode: no local Postgres binaries found (" + embeddedPGGlob +
			"); install PostgreSQL, or set SHOP_DATABASE_URL to a running server")
	}
	sort.Ints(majors) // numerically: 9 before 15
	m := strconv.Itoa(majors[len(majors)-1])
	return byMajor[m], m, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// stopLeftover stops a Postgres still running on the data directory data — left by a shop
// that was killed before it could stop it — and waits up to wait for it to exit. It reads
// the server's pid from postmaster.pid and sends SIGINT, Postgres's "fast shutdown"
// (PostgreSQL manual, 18.5 "Shutting Down the Server"), only if that process is a
// postgres; a stale file (no such process) is left for Postgres, which replaces it.
func stopLeftover(data string, logger *slog.Logger, wait time.Duration) error {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded mode: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return nil // not a pid: Postgres deals with the file
	}
	if !isPostgres(pid) {
		return nil
	}
	logger.Warn("embedded mode: a Postgres left running by an earlier shop holds the data directory; stopping it",
		"pid", pid, "data", data)
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("embedded mode: stop the Postgres left running (pid %d): %w", pid, err)
	}
	for deadline := time.Now().Add(wait); isPostgres(pid); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("embedded mode: the Postgres left running (pid %d) did not stop within %s", pid, wait)
		}
	}
	return nil
}

// isPostgres reports whether process pid runs and is a postgres server (Linux's /proc).
func isPostgres(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	name := filepath.Base(strings.SplitN(string(cmd), "\x00", 2)[0])
	return name == "postgres" || name == "postmaster"
}

// tcpListening reports whether a server listens, or may listen, on addr: false only when
// every one of three connections, over about a second, is refused. A slow or filtered
// address counts as listening, so a real server that is slow to answer is never replaced.
func tcpListening(addr string) bool {
	for i := range 3 {
		if i > 0 {
			time.Sleep(400 * time.Millisecond)
		}
		conn, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			conn.Close()
			return true
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return true
		}
	}
	return false
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
