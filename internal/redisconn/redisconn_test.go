package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopcache/shop/internal/redisconn"
	"github.com/shopcache/shop/internal/testenv"
)

func check(t *testing.T, url, caFile string) error {
	t.Helper()
	s, err := redisconn.Parse(url, caFile)
	if err != nil {
		t.Fatalf("Parse(%s): %v", url, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return s.Check(ctx, false)
}

func TestCheckTellsMistakesFromAbsence(t *testing.T) {
	files := testenv.NewTLSFiles(t)
	srv, tlsPort := testenv.StartRedisTLS(t, files, "s3cret-token")
	plain := testenv.StartRedis(t)
	tlsURL := func(password string) string { return fmt.Sprintf("rediss://:%s@127.0.0.1:%d/0", password, tlsPort) }

	if err := check(t, tlsURL("s3cret-token"), files.CA); err != nil {
		t.Fatalf("TLS with the right token and CA: %v", err)
	}
	tests := []struct {
		name, url, ca string
		want          error
	}{
		{"wrong token", tlsURL("wrong"), files.CA, redisconn.ErrAuth},
		{"no token", fmt.Sprintf("rediss://127.0.0.1:%d/0", tlsPort), files.CA, redisconn.ErrAuth},
		{"plain to a TLS port", fmt.Sprintf("redis://:s3cret-token@127.0.0.1:%d/0", tlsPort), "", redisconn.ErrTLSRequired},
		{"untrusted certificate", tlsURL("s3cret-token"), "", redisconn.ErrCertificate},
		{"TLS to a plain port", "rediss://" + plain.Addr() + "/0", files.CA, redisconn.ErrNotTLS},
		{"nothing listening", fmt.Sprintf("redis://127.0.0.1:%d/0", testenv.FreePort(t)), "", redisconn.ErrUnreachable},
		{"no such database", "redis://" + plain.Addr() + "/99", "", redisconn.ErrDatabase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := check(t, tt.url, tt.ca); !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	_ = srv
}

func TestCheckWantsTheConfiguredMode(t *testing.T) {
	plain := testenv.StartRedis(t)
	node := testenv.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", t.TempDir()+"/nodes.conf")
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		addr    string
		cluster bool
		want    error
	}{
		{"cluster mode on a single Redis", plain.Addr(), true, redisconn.ErrMode},
		{"standalone on a cluster node", node.Addr(), false, redisconn.ErrMode},
		{"cluster mode on a cluster node", node.Addr(), true, nil},
	} {
		s, _ := redisconn.Parse("redis://"+tc.addr+"/0", "")
		if err := s.Check(ctx, tc.cluster); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestSessionPoolOverTLS: the redigo pool under the session store gets the same TLS, CA and
// token as the go-redis client.
func TestSessionPoolOverTLS(t *testing.T) {
	files := testenv.NewTLSFiles(t)
	_, tlsPort := testenv.StartRedisTLS(t, files, "s3cret-token")
	s, err := redisconn.Parse(fmt.Sprintf("rediss://:s3cret-token@127.0.0.1:%d/0", tlsPort), files.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := s.Pool()
	defer pool.Close()
	conn := pool.Get()
	defer conn.Close()
	if reply, err := conn.Do("PING"); err != nil || reply != "PONG" {
		t.Errorf("PING over the session pool = %v, %v", reply, err)
	}
}

// TestSessionPoolRetiresReadOnlyConnections demotes the server under an open pooled
// connection: the connection that answers READONLY must not be handed out again.
func TestSessionPoolRetiresReadOnlyConnections(t *testing.T) {
	primary := testenv.StartRedis(t)
	other := testenv.StartRedis(t)
	s, err := redisconn.Parse(primary.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	pool := s.Pool()
	defer pool.Close()
	c1, c2 := pool.Get(), pool.Get() // two connections, both open
	for _, c := range []interface {
		Do(string, ...any) (any, error)
	}{c1, c2} {
		if _, err := c.Do("SET", "k", "v"); err != nil {
			t.Fatal(err)
		}
	}
	c1.Close()
	c2.Close() // both back in the pool, idle
	admin := pool.Get()
	if _, err := admin.Do("REPLICAOF", "127.0.0.1", fmt.Sprint(other.Port)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Do("SET", "k", "w"); err == nil {
		t.Fatal("a write on a replica succeeded")
	}
	if err := admin.Err(); err == nil {
		t.Error("a connection that answered READONLY still reports itself usable")
	}
	admin.Close()
	if n := pool.Stats().IdleCount; n != 1 {
		t.Errorf("idle connections after a READONLY = %d, want 1 (the other one; the READONLY one closed)", n)
	}
}
