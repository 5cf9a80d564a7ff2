package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

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

// TestCheckAcceptsTheInProcessRedis: the embedded mode's miniredis answers PING but has no
// INFO cluster section; it is a standalone Redis, not an unreachable one (no false warning).
func TestCheckAcceptsTheInProcessRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	s, _ := redisconn.Parse("redis://"+mr.Addr()+"/0", "")
	ctx := context.Background()
	if err := s.Check(ctx, false); err != nil {
		t.Errorf("Check of miniredis = %v, want nil", err)
	}
	if err := s.Check(ctx, true); !errors.Is(err, redisconn.ErrMode) {
		t.Errorf("Check of miniredis in cluster mode = %v, want ErrMode", err)
	}
}
