package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/testenv"
)

// TestPickPostgresKeepsTheData: the embedded Postgres runs the major version its data
// directory was made by — not the newest — and refuses, without touching the directory, when
// that version is not installed; a new directory gets the newest, compared as numbers.
func TestPickPostgresKeepsTheData(t *testing.T) {
	found := []string{"/usr/lib/postgresql/9/bin/pg_ctl", "/usr/lib/postgresql/15/bin/pg_ctl", "/usr/lib/postgresql/16/bin/pg_ctl"}
	data := t.TempDir()
	root, major, err := pickPostgres(data, found)
	if err != nil || major != "16" || root != "/usr/lib/postgresql/16" {
		t.Errorf("new data directory: %s %s %v, want the newest, 16", root, major, err)
	}
	if err := os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root, major, err = pickPostgres(data, found)
	if err != nil || major != "15" || root != "/usr/lib/postgresql/15" {
		t.Errorf("version-15 data directory: %s %s %v, want 15", root, major, err)
	}
	_, _, err = pickPostgres(data, found[2:])
	if err == nil || !strings.Contains(err.Error(), "made by Postgres 15") || !strings.Contains(err.Error(), "does not wipe") {
		t.Errorf("version-15 data directory with only 16 installed: %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "PG_VERSION")); string(b) != "15\n" {
		t.Error("the data directory was changed")
	}
}

// TestStopLeftoverPostgres starts a real Postgres (as the postgres user when the test runs
// as root) the way a killed shop leaves one, and stops it from its postmaster.pid.
func TestStopLeftoverPostgres(t *testing.T) {
	bin, err := filepath.Glob(embeddedPGGlob)
	if err != nil || len(bin) == 0 {
		t.Skip("no Postgres binaries under " + embeddedPGGlob)
	}
	binDir := filepath.Dir(bin[len(bin)-1])
	as := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(binDir, name)}, args...)...)
		}
		return exec.Command(filepath.Join(binDir, name), args...)
	}
	dir, err := os.MkdirTemp("", "shop-leftover-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := as("initdb", "-D", data, "-U", "postgres", "--auth=trust").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := testenv.FreePort(t)
	start := as("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dir))
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = as("pg_ctl", "stop", "-D", data, "-m", "immediate").Run() })
	if !tcpListening(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("the leftover Postgres does not listen")
	}
	var logs syncBuffer
	if err := stopLeftover(data, slog.New(slog.NewTextHandler(&logs, nil)), time.Minute); err != nil {
		t.Fatal(err)
	}
	if tcpListening(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Error("the leftover Postgres still listens after stopLeftover")
	}
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid after the stop: %v, want it gone (a clean shutdown)", err)
	}
	if !strings.Contains(logs.String(), "left running") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	// A stale file whose pid is no postgres (this test's own process) is left alone.
	if err := os.WriteFile(filepath.Join(data, "postmaster.pid"), []byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), data)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := stopLeftover(data, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second); err != nil {
		t.Errorf("stopLeftover with a pid that is no postgres = %v, want nil", err)
	}
}

// TestEmbeddedRedisOnlyWhenNothingIsConfigured: any Redis setting keeps the in-process
// Redis off, even with nothing listening on the default address.
func TestEmbeddedRedisOnlyWhenNothingIsConfigured(t *testing.T) {
	nothing := func(string) bool { return false }
	for _, env := range []map[string]string{
		{"SHOP_REDIS_URL": defaultRedisURL},
		{"SHOP_REDIS_MODE": "standalone"},
		{"SHOP_REDIS_READER_URL": "redis://127.0.0.1:6380/0"},
	} {
		env["SHOP_DATABASE_URL"] = testenv.AdminURL()
		cfg, err := loadConfig(envFrom(env))
		if err != nil {
			t.Fatal(err)
		}
		stop, err := startEmbedded(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nothing)
		if err != nil {
			t.Fatal(err)
		}
		stop()
		if cfg.RedisURL != defaultRedisURL {
			t.Errorf("with %v: Redis %s, want the configured default, not an in-process one", env, cfg.RedisURL)
		}
	}
}

// TestTCPListening: only a refused address counts as nothing listening.
func TestTCPListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !tcpListening(ln.Addr().String()) {
		t.Error("a listening address reads as not listening")
	}
	if tcpListening(fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))) {
		t.Error("a refused address reads as listening")
	}
}

// TestWatchForRedisWarns: a Redis that starts listening on the default address while the
// in-process one runs is reported, once.
func TestWatchForRedisWarns(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var logs syncBuffer
	stop := watchForRedis(slog.New(slog.NewTextHandler(&logs, nil)), tcpListening, addr, 10*time.Millisecond)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "a Redis now listens"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no warning 30 s after a Redis started listening")
		}
	}
}
