package shop_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeFile loads docker-compose.yml with the Compose Specification's reference loader
// (no Docker engine on the build machine runs it) and checks the wiring a newcomer relies on.
func TestComposeFile(t *testing.T) {
	ctx := context.Background()
	opts, err := cli.NewProjectOptions([]string{"docker-compose.yml"}, cli.WithName("shop-test"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
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
}
