package main

// The chaos suite's processes: a Postgres cluster of its own, shop processes (copies of this
// test binary, see TestMain), a load balancer in front of them that follows /readyz, and
// signed-in shoppers. The suite itself is in chaos_test.go.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopcache/shop/internal/testenv"
)

// childEnv marks a copy of the test binary that runs the shop instead of the tests.
const childEnv = "SHOP_CHAOS_CHILD"

// TestMain lets this test binary be the shop: the chaos suite starts copies of itself with
// SHOP_CHAOS_CHILD=1 as real shop processes (serve, seed), which it stops, SIGTERMs and
// kills. No second build is needed, and under `go test -race` the shops run with the race
// detector too.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pgCluster is a Postgres cluster of the test's own (initdb, pg_ctl) on a loopback port,
// which the test stops, crashes and starts again. As root, its commands run as the postgres
// user (runuser), since Postgres refuses to run as root.
type pgCluster struct {
	tb   testing.TB
	dir  string
	Port int
}

func startPostgres(tb testing.TB) *pgCluster {
	tb.Helper()
	for _, bin := range []string{"initdb", "pg_ctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("%s is not installed: the chaos suite needs a Postgres cluster of its own", bin)
		}
	}
	dir, err := os.MkdirTemp("", "shop-chaos-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			tb.Skip("running as root without runuser: cannot start Postgres as the postgres user")
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Skip("running as root and there is no postgres user to run Postgres as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	c := &pgCluster{tb: tb, dir: dir, Port: testenv.FreePort(tb)}
	tb.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		if tb.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			if len(log) > 8000 {
				log = log[len(log)-8000:]
			}
			tb.Logf("the Postgres cluster's log ends:\n%s", log)
		}
		os.RemoveAll(dir)
	})
	if out, err := c.command("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync",
		"-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	c.Start()
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (c *pgCluster) pgctl(args ...string) ([]byte, error) {
	return c.command("pg_ctl", append([]string{"-D", c.data(), "-w", "-t", "120"}, args...)...).CombinedOutput()
}

// Start starts the cluster (again) and returns once it accepts connections.
func (c *pgCluster) Start() {
	c.tb.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.Port, c.dir)
	if out, err := c.pgctl("-l", filepath.Join(c.dir, "server.log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		c.tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the cluster: mode "fast" is a clean stop (sessions ended, a checkpoint),
// "immediate" a crash (every process quits at once; the next start recovers from the WAL).
func (c *pgCluster) Stop(mode string) {
	c.tb.Helper()
	if out, err := c.pgctl("stop", "-m", mode); err != nil {
		c.tb.Fatalf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
}

// URL is the URL of database db on the cluster.
func (c *pgCluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// exec runs sql on database db.
func (c *pgCluster) exec(db, sql string, args ...any) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		c.tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		c.tb.Fatalf("%s: %v", sql, err)
	}
}

// shopProc is one shop process.
type shopProc struct {
	name       string
	url        string // http://127.0.0.1:port
	metricsURL string
	cmd        *exec.Cmd
	done       chan struct{} // closed when the process has exited
	logPath    string
}

// childCommand is this binary run as the shop with args and env (SHOP_* variables of the
// test's own environment are not passed on).
func childCommand(tb testing.TB, env map[string]string, args ...string) *exec.Cmd {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHOP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// startShopProc starts `shop serve` with env (plus its own ports) and waits until /readyz
// answers 200. A shop still running when the test ends is killed.
func startShopProc(tb testing.TB, name string, env map[string]string) *shopProc {
	tb.Helper()
	port, mport := testenv.FreePort(tb), testenv.FreePort(tb)
	e := map[string]string{
		"SHOP_ADDR":         fmt.Sprintf("127.0.0.1:%d", port),
		"SHOP_METRICS_ADDR": fmt.Sprintf("127.0.0.1:%d", mport),
		"SHOP_LOG_LEVEL":    "warn",
	}
	for k, v := range env {
		e[k] = v
	}
	s := &shopProc{name: name, url: fmt.Sprintf("http://127.0.0.1:%d", port),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", mport), done: make(chan struct{}),
		logPath: filepath.Join(tb.TempDir(), name+".log")}
	logf, err := os.Create(s.logPath)
	if err != nil {
		tb.Fatal(err)
	}
	s.cmd = childCommand(tb, e, "serve")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { s.cmd.Wait(); logf.Close(); close(s.done) }()
	tb.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case <-s.done:
			tb.Fatalf("shop %s exited at start:\n%s", name, s.logTail())
		default:
		}
		if code, _ := getStatus(s.url+"/readyz", time.Second); code == 200 {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("shop %s never became ready:\n%s", name, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *shopProc) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (s *shopProc) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the graceful stop (which flushes the pending views).
func (s *shopProc) stop(tb testing.TB) {
	tb.Helper()
	if !s.alive() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		tb.Errorf("shop %s did not stop within 2 min of SIGTERM", s.name)
		s.kill()
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		tb.Errorf("shop %s exited with %d after SIGTERM:\n%s", s.name, code, s.logTail())
	}
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (s *shopProc) kill() {
	if s.alive() {
		s.cmd.Process.Kill()
		<-s.done
	}
}

// metric reads a counter from the shop's /metrics (sum over its label sets whose labels
// contain every one of match); ok is false when the shop does not answer.
func (s *shopProc) metric(name string, match ...string) (float64, bool) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(s.metricsURL)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return 0, false
	}
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != ' ' && line[len(name)] != '{') {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(line, m)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, true
}

// getStatus GETs url and returns its status (0 and the error when there was no answer).
func getStatus(url string, timeout time.Duration) (int, error) {
	client := http.Client{Timeout: timeout, CheckRedirect: noRedirects}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// balancer stands for the load balancer in front of the instances: it asks each one's
// /readyz every 100 ms and sends requests round-robin to those that answered 200 (to all of
// them when none did, as an AWS load balancer does when every target is unhealthy).
type balancer struct {
	mu    sync.Mutex
	shops []*shopProc
	ready []bool
	next  atomic.Uint64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newBalancer(shops ...*shopProc) *balancer {
	b := &balancer{shops: shops, ready: make([]bool, len(shops)), stop: make(chan struct{})}
	for i := range b.ready {
		b.ready[i] = true
	}
	b.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
			}
			b.mu.Lock()
			shops := append([]*shopProc(nil), b.shops...)
			b.mu.Unlock()
			ready := make([]bool, len(shops))
			for i, s := range shops {
				code, _ := getStatus(s.url+"/readyz", 500*time.Millisecond)
				ready[i] = code == 200
			}
			b.mu.Lock()
			if len(b.shops) == len(ready) {
				b.ready = ready
			}
			b.mu.Unlock()
		}
	})
	return b
}

// replace puts s in place of instance i (an instance restarted after a crash).
func (b *balancer) replace(i int, s *shopProc) {
	b.mu.Lock()
	b.shops[i] = s
	b.mu.Unlock()
}

func (b *balancer) pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var up []string
	for i, s := range b.shops {
		if b.ready[i] {
			up = append(up, s.url)
		}
	}
	if len(up) == 0 {
		for _, s := range b.shops {
			up = append(up, s.url)
		}
	}
	return up[b.next.Add(1)%uint64(len(up))]
}

func (b *balancer) close() {
	close(b.stop)
	b.wg.Wait()
}

// shopper is a signed-in account: its session cookie and its user id (its cart is
// cart:u<id>).
type shopper struct {
	email  string
	id     int64
	cookie string
}

var chaosClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirects}

// register signs up a new shopper through base.
func register(tb testing.TB, base, email string) shopper {
	tb.Helper()
	form := url.Values{"email": {email}, "name": {"Chaos Shopper"}, "password": {"quiet-harbour-7431"}}
	resp, err := chaosClient.PostForm(base+"/register", form)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("register %s: %s", email, resp.Status)
	}
	var parts []string
	for _, c := range resp.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return shopper{email: email, cookie: strings.Join(parts, "; ")}
}

// post sends a form as sh and returns the status, the Location header and the body.
func (sh shopper) post(base, path string, form url.Values) (int, string, string, error) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", sh.cookie)
	return do(req)
}

func (sh shopper) get(base, path string) (int, string, string, error) {
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Cookie", sh.cookie)
	return do(req)
}

func do(req *http.Request) (int, string, string, error) {
	resp, err := chaosClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b), err
}

var (
	checkoutKeyField = regexp.MustCompile(`name="checkout_key" value="([^"]+)"`)
	cartDigestField  = regexp.MustCompile(`name="cart_digest" value="([^"]+)"`)
	orderLocation    = regexp.MustCompile(`^/orders/(\d+)$`)
)
