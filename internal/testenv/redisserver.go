package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process of the test's own on a loopback port, which the
// test may stop and start again to make Redis really go away and come back.
type RedisServer struct {
	tb   testing.TB
	Port int
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server on a free loopback port with extra arguments (e.g.
// "--notify-keyspace-events", "Ex"). It is stopped when the test ends.
func StartRedis(tb testing.TB, extra ...string) *RedisServer {
	tb.Helper()
	s := NewRedisServer(tb, FreePort(tb), extra...)
	s.Start()
	return s
}

// NewRedisServer prepares a redis-server on port without starting it: a test can start it
// later (Redis appearing after the shop). It is stopped when the test ends.
func NewRedisServer(tb testing.TB, port int, extra ...string) *RedisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server is not installed")
	}
	s := &RedisServer{tb: tb, Port: port, args: append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", tb.TempDir(),
	}, extra...)}
	tb.Cleanup(s.Stop)
	return s
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Start starts the server (again) and waits until it answers.
func (s *RedisServer) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		return
	}
	s.cmd = exec.Command("redis-server", s.args...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		err := rdb.Ping(context.Background()).Err()
		var reply redis.Error
		if err == nil || errors.As(err, &reply) { // NOAUTH is an answer too
			return
		}
	}
	s.tb.Fatalf("redis-server on %s did not answer", s.Addr())
}

// Stop kills the server (as a crash would) and waits for it to exit.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // SIGKILL ends a paused process too
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause stops the server with SIGSTOP: it keeps its port and its connections but answers
// nothing, as a hung Redis does. Resume ends it.
func (s *RedisServer) Pause() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.tb.Fatalf("SIGSTOP redis-server: %v", err)
	}
}

// Resume continues a paused server (SIGCONT).
func (s *RedisServer) Resume() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.tb.Fatalf("SIGCONT redis-server: %v", err)
	}
}

// Replicated is a primary and its replica (as an ElastiCache replication group with one
// replica) behind Endpoint, a proxy that stands for the primary endpoint's DNS name.
type Replicated struct {
	Primary, Replica *RedisServer
	P, R             *redis.Client // clients of Primary and Replica themselves
	Endpoint         *Proxy
}

// StartReplicated starts a primary, a replica of it and the endpoint, and returns once the
// replica's link to the primary is up. Everything stops when the test ends.
func StartReplicated(tb testing.TB) *Replicated {
	tb.Helper()
	g := &Replicated{Primary: StartRedis(tb, "--repl-diskless-sync-delay", "0")}
	g.Replica = StartRedis(tb, "--replicaof", "127.0.0.1", strconv.Itoa(g.Primary.Port))
	g.P = redis.NewClient(&redis.Options{Addr: g.Primary.Addr()})
	g.R = redis.NewClient(&redis.Options{Addr: g.Replica.Addr()})
	tb.Cleanup(func() { g.P.Close(); g.R.Close() })
	g.Endpoint = NewProxy(tb, g.Primary.Addr())
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if info, _ := g.R.Info(ctx, "replication").Result(); strings.Contains(info, "master_link_status:up") {
			return g
		}
		if time.Now().After(deadline) {
			tb.Fatal("the replica never linked to its primary")
		}
	}
}

// FailOver does what an ElastiCache failover does behind the primary endpoint: once the
// replica has every write, it is promoted, the old primary follows it, and the endpoint
// sends new connections to it — while the open ones stay with the old primary, which now
// answers writes with READONLY.
func (g *Replicated) FailOver(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	if err := g.P.Do(ctx, "WAIT", 1, 2000).Err(); err != nil {
		tb.Fatal(err)
	}
	if err := g.R.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		tb.Fatal(err)
	}
	if err := g.P.Do(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(g.Replica.Port)).Err(); err != nil {
		tb.Fatal(err)
	}
	g.Endpoint.Retarget(g.Replica.Addr())
}
