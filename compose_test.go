package shop_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/keys"
)

// TestComposeFile loads docker-compose.yml with the Compose Specification's reference loader
// (no Docker engine on the build machine runs it) and checks the wiring a newcomer relies on.
func TestComposeFile(t *testing.T) {
	project := loadCompose(t)
	want := []string{"lb", "postgres", "redis", "seed", "shop"}
	names := project.ServiceNames()
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("services = %v, want %v", names, want)
	}
	svc := func(name string) types.ServiceConfig {
		s, err := project.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, name := range []string{"postgres", "redis", "shop"} {
		if hc := svc(name).HealthCheck; hc == nil || len(hc.Test) == 0 {
			t.Errorf("service %s has no healthcheck", name)
		}
	}
	shop := svc("shop")
	conditions := map[string]string{
		"postgres": types.ServiceConditionHealthy,
		"redis":    types.ServiceConditionHealthy,
		"seed":     types.ServiceConditionCompletedSuccessfully,
	}
	for dep, cond := range conditions {
		if got := shop.DependsOn[dep].Condition; got != cond {
			t.Errorf("shop depends_on %s: condition %q, want %q", dep, got, cond)
		}
	}
	if shop.Deploy == nil || shop.Deploy.Replicas == nil || *shop.Deploy.Replicas < 2 {
		t.Error("the shop must run as two instances or more (deploy.replicas)")
	}
	if len(shop.Ports) != 0 {
		t.Errorf("shop publishes ports %+v; only the load balancer should", shop.Ports)
	}
	lb := svc("lb")
	if len(lb.Ports) != 1 || lb.Ports[0].Target != 8080 || lb.Ports[0].Published != "8080" {
		t.Errorf("lb ports = %+v, want 8080:8080", lb.Ports)
	}
	if lb.DependsOn["shop"].Condition != types.ServiceConditionHealthy {
		t.Error("the load balancer must wait for healthy shops")
	}
	conf, err := os.ReadFile("deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server shop:8080", "proxy_pass http://shop", "proxy_buffering off"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("deploy/nginx.conf lacks %q", want)
		}
	}
	var directives strings.Builder // the configuration without its comments
	for _, line := range strings.Split(string(conf), "\n") {
		line, _, _ = strings.Cut(line, "#")
		directives.WriteString(line + "\n")
	}
	for _, sticky := range []string{"ip_hash", "sticky", "hash "} {
		if strings.Contains(directives.String(), sticky) {
			t.Errorf("deploy/nginx.conf uses %q: the balancer must not pin sessions", sticky)
		}
	}
	if len(lb.Volumes) != 1 || !strings.HasSuffix(lb.Volumes[0].Source, "deploy/nginx.conf") {
		t.Errorf("lb volumes = %+v, want deploy/nginx.conf mounted", lb.Volumes)
	}
	if shop.Build == nil || svc("seed").Build == nil {
		t.Error("shop and seed must build the image from the Dockerfile")
	}
	if got := svc("seed").Command; !slices.Equal(got, types.ShellCommand{"seed", "--dataset", "online-retail", "--orders"}) {
		t.Errorf("seed command = %v", got)
	}
	for _, name := range []string{"seed", "shop"} {
		env := svc(name).Environment
		for _, key := range []string{"SHOP_DATABASE_URL", "SHOP_REDIS_URL"} {
			if v := env[key]; v == nil || *v == "" {
				t.Errorf("service %s: %s not set", name, key)
			}
		}
	}
	if v := shop.Environment["SHOP_SEED"]; v == nil || *v != "false" {
		t.Error("shop must leave seeding to the seed service (SHOP_SEED=false)")
	}
	// The balancer's headers are believed, and only from the compose network it is on.
	subnet := project.Networks["default"].Ipam.Config
	if v := shop.Environment["SHOP_TRUSTED_PROXIES"]; v == nil || len(subnet) != 1 || *v != subnet[0].Subnet {
		t.Errorf("SHOP_TRUSTED_PROXIES = %v, want the default network's subnet %+v", v, subnet)
	}
	if v := shop.Environment["SHOP_METRICS_ADDR"]; v == nil || *v != ":9090" || !slices.Contains(shop.Expose, "9090") {
		t.Errorf("metrics: SHOP_METRICS_ADDR = %v, expose = %v; want :9090 exposed to the network only", v, shop.Expose)
	}
	for _, p := range shop.Ports {
		if p.Target == 9090 {
			t.Error("the metrics port is published on the host")
		}
	}
	// Redis keeps sessions, carts and pending views through a restart: an append-only file,
	// fsynced every second, on a named volume at the image's working directory.
	redisSvc := svc("redis")
	args := strings.Join(redisSvc.Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync everysec"} {
		if !strings.Contains(args, want) {
			t.Errorf("redis command %q lacks %q", args, want)
		}
	}
	var persisted bool
	for _, v := range redisSvc.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == "/data" {
			_, declared := project.Volumes[v.Source]
			persisted = declared
		}
	}
	if !persisted {
		t.Errorf("redis volumes = %+v: want a named volume at /data, where the AOF is written", redisSvc.Volumes)
	}
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"docker-compose.yml"}, cli.WithName("shop-test"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return project
}

// TestComposeRedisSurvivesACrash runs a real redis-server with the compose file's own
// arguments, writes sessions, carts and pending views in the shop's key shapes, kills it
// (SIGKILL, as a crash) and starts it again on the same directory: with the compose
// settings (AOF) every key is back; with persistence off (as before, and as
// internal/testenv's servers run) none is. The counts are the figures of
// docs/operations.md: go test -run TestComposeRedisSurvivesACrash -v .
func TestComposeRedisSurvivesACrash(t *testing.T) {
	redisSvc, err := loadCompose(t).GetService("redis")
	if err != nil {
		t.Fatal(err)
	}
	composeArgs := []string(redisSvc.Command[1:]) // after "redis-server"
	for _, tc := range []struct {
		name    string
		args    []string
		survive bool
	}{
		{"compose (AOF everysec)", composeArgs, true},
		{"no persistence", []string{"--save", "", "--appendonly", "no"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 100
			srv := testenv.StartRedis(t, tc.args...)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			t.Cleanup(func() { rdb.Close() })
			ctx := context.Background()
			for i := range n {
				token := fmt.Sprintf("tok%03d", i)
				if err := rdb.Set(ctx, keys.Session(token), "session data", 30*time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
				if err := rdb.HSet(ctx, keys.Cart(token), "1", 2, "7", 1).Err(); err != nil {
					t.Fatal(err)
				}
				if err := rdb.HIncrBy(ctx, keys.ViewsPending, fmt.Sprint(i+1), 3).Err(); err != nil {
					t.Fatal(err)
				}
			}
			srv.Stop() // SIGKILL
			srv.Start()
			count := func() (sessions, carts, views int) {
				for _, pattern := range []string{keys.SessionPrefix + "*", "cart:*"} {
					found, err := rdb.Keys(ctx, pattern).Result()
					if err != nil {
						return -1, -1, -1 // LOADING: asked again
					}
					if pattern == "cart:*" {
						carts = len(found)
					} else {
						sessions = len(found)
					}
				}
				v, err := rdb.HLen(ctx, keys.ViewsPending).Result()
				if err != nil {
					return -1, -1, -1
				}
				return sessions, carts, int(v)
			}
			var sessions, carts, views int
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if sessions, carts, views = count(); sessions >= 0 || time.Now().After(deadline) {
					break
				}
			}
			t.Logf("after kill -9 and restart: %d of %d sessions, %d of %d carts, %d of %d pending view counts",
				sessions, n, carts, n, views, n)
			want := 0
			if tc.survive {
				want = n
			}
			if sessions != want || carts != want || views != want {
				t.Errorf("sessions, carts, views after a crash = %d, %d, %d; want %d each", sessions, carts, views, want)
			}
		})
	}
}
