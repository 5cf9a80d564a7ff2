package terraform_test

// Checks of the bundled Terraform that need no AWS account and no provider:
// every module is parsed with hashicorp/hcl/v2 and the security properties
// are evaluated for both cluster modes. terraform fmt runs when terraform is
// on PATH; terraform validate and terraform test run only when a provider
// mirror holding hashicorp/aws and hashicorp/random is configured.

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

var moduleNames = []string{"network", "elasticache", "database", "app"}

func root(t *testing.T) *module { return loadModule(t, ".") }

func child(t *testing.T, name string) *module {
	return loadModule(t, filepath.Join("modules", name))
}

func allModules(t *testing.T) []*module {
	ms := []*module{root(t)}
	for _, n := range moduleNames {
		ms = append(ms, child(t, n))
	}
	return ms
}

// The two topologies every ElastiCache check runs for.
var clusterModes = []struct {
	name string
	vars map[string]cty.Value
}{
	{"cluster_mode_disabled", map[string]cty.Value{
		"cluster_mode_enabled": cty.False,
		"num_cache_clusters":   cty.NumberIntVal(2),
	}},
	{"cluster_mode_enabled", map[string]cty.Value{
		"cluster_mode_enabled":    cty.True,
		"num_node_groups":         cty.NumberIntVal(3),
		"replicas_per_node_group": cty.NumberIntVal(2),
	}},
}

// ---------------------------------------------------------------- layout

func TestEveryModuleHasTheStandardFiles(t *testing.T) {
	for _, dir := range append([]string{"."}, prefixed("modules/", moduleNames)...) {
		for _, f := range []string{"main.tf", "variables.tf", "outputs.tf", "versions.tf"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: missing %s", dir, f)
			}
		}
	}
	entries, err := os.ReadDir("modules")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if e.IsDir() {
			found = append(found, e.Name())
		}
	}
	want := slices.Clone(moduleNames)
	sort.Strings(want)
	if !reflect.DeepEqual(found, want) {
		t.Errorf("modules/ holds %v, the test knows %v: add new modules to moduleNames", found, want)
	}
}

func TestProvidersArePinnedAndConfiguredOnlyInTheRoot(t *testing.T) {
	for _, m := range allModules(t) {
		if len(m.terraform) != 1 {
			t.Fatalf("%s: want one terraform block, got %d", m.dir, len(m.terraform))
		}
		var req *hclsyntax.Block
		for _, b := range m.terraform[0].Body.Blocks {
			if b.Type == "required_providers" {
				req = b
			}
		}
		if req == nil {
			t.Fatalf("%s: no required_providers", m.dir)
		}
		if _, ok := m.terraform[0].Body.Attributes["required_version"]; !ok {
			t.Errorf("%s: no required_version", m.dir)
		}
		usesRandom := len(m.resourcesOfType("random_password")) > 0 || m.dir == "."
		want := map[string]string{"aws": "hashicorp/aws"}
		if usesRandom {
			want["random"] = "hashicorp/random"
		}
		s := m.scope(t, nil)
		for name, source := range want {
			a, ok := req.Body.Attributes[name]
			if !ok {
				t.Errorf("%s: required_providers lacks %s", m.dir, name)
				continue
			}
			v := goValue(t, s.eval(a.Expr, nil)).(map[string]any)
			if v["source"] != source {
				t.Errorf("%s: %s source = %v, want %s", m.dir, name, v["source"], source)
			}
			c, _ := v["version"].(string)
			// A lower bound only: a provider built locally reports 6.x, and a
			// ~> 5.x constraint would refuse it.
			if !regexp.MustCompile(`^>= ?[0-9]+(\.[0-9]+)*$`).MatchString(c) {
				t.Errorf("%s: %s version constraint %q: want a lower bound such as \">= 5.80\"", m.dir, name, c)
			}
		}
		if m.dir != "." && len(m.providers) > 0 {
			t.Errorf("%s: provider blocks belong in the root module only", m.dir)
		}
		// Modules are planned in tests with fake credentials: no look-ups.
		if m.dir != "." {
			for _, d := range m.data {
				t.Errorf("%s: data %v: pass the value in as a variable instead", m.dir, d.Labels)
			}
		}
	}
	if len(root(t).providers) != 1 {
		t.Errorf("the root module must configure provider \"aws\" once")
	}
	if _, err := os.Stat(".terraform.lock.hcl"); err == nil {
		t.Errorf(".terraform.lock.hcl is committed; one made from a local mirror has the wrong hashes")
	}
}

// ---------------------------------------------------------------- variables and outputs

func TestEveryVariableIsTypedDescribedAndSecretsAreNotVariables(t *testing.T) {
	for _, m := range allModules(t) {
		for name, v := range m.variables {
			m.varType(t, name) // fails the test when missing or malformed
			if !describedBy(t, m, v) {
				t.Errorf("%s: variable %q has no description", m.dir, name)
			}
			// A number that must stay in a range, or an ID, should say so early.
			if ty := m.varType(t, name); (ty == cty.Number || strings.HasSuffix(name, "_id")) && !hasValidation(v) && m.dir != "." {
				t.Errorf("%s: variable %q has no validation", m.dir, name)
			}
			if isSecretValueName(name) {
				if sens, ok := v.Body.Attributes["sensitive"]; !ok || !m.scope(t, nil).eval(sens.Expr, nil).True() {
					t.Errorf("%s: variable %q looks like a secret but is not sensitive = true", m.dir, name)
				}
				if _, ok := v.Body.Attributes["default"]; ok {
					t.Errorf("%s: variable %q looks like a secret and has a default", m.dir, name)
				}
			}
		}
		for name, o := range m.outputs {
			if !describedBy(t, m, o) {
				t.Errorf("%s: output %q has no description", m.dir, name)
			}
		}
	}
}

// isSecretValueName: a name that would hold a secret value. References to
// secrets (…_arn) and settings about them (…_days) don't.
func isSecretValueName(name string) bool {
	for _, suffix := range []string{"_arn", "_arns", "_id", "_ids", "_days", "_version", "_strategy"} {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return secretLikeName.MatchString(name)
}

func TestSecretNameDetectorCatchesTokens(t *testing.T) {
	for _, n := range []string{"auth_token", "db_password", "redis_auth", "api_secret"} {
		if !isSecretValueName(n) {
			t.Errorf("%q should count as a secret", n)
		}
	}
	for _, n := range []string{"elasticache_secret_arn", "secret_recovery_window_days", "node_type", "auth_token_version", "db_password_version"} {
		if isSecretValueName(n) {
			t.Errorf("%q should not count as a secret", n)
		}
	}
}

func describedBy(t *testing.T, m *module, b *hclsyntax.Block) bool {
	a, ok := b.Body.Attributes["description"]
	if !ok {
		return false
	}
	v := m.scope(t, nil).eval(a.Expr, nil)
	return v.Type() == cty.String && len(strings.TrimSpace(v.AsString())) > 10
}

// ---------------------------------------------------------------- ElastiCache

func TestReplicationGroupIsEncryptedHighlyAvailableAndAuthenticated(t *testing.T) {
	m := child(t, "elasticache")
	if _, ok := m.variables["auth_token"]; ok {
		t.Fatalf("the AUTH token must not be a variable")
	}
	for _, mode := range clusterModes {
		t.Run(mode.name, func(t *testing.T) {
			s := m.scope(t, with(appSG, mode.vars))
			rg := m.resource(t, "aws_elasticache_replication_group.this")

			for _, a := range []string{"transit_encryption_enabled", "at_rest_encryption_enabled", "automatic_failover_enabled", "multi_az_enabled", "auto_minor_version_upgrade"} {
				if v := s.mustAttr(rg, a); !v.RawEquals(cty.True) {
					t.Errorf("%s = %#v, want true", a, v)
				}
			}
			if v := s.mustAttr(rg, "engine"); v.AsString() != "redis" {
				t.Errorf("engine = %s", v.AsString())
			}

			enabled := mode.vars["cluster_mode_enabled"].True()
			ncc, nng, rpn := s.mustAttr(rg, "num_cache_clusters"), s.mustAttr(rg, "num_node_groups"), s.mustAttr(rg, "replicas_per_node_group")
			nodes := 0
			if enabled {
				if !ncc.IsNull() {
					t.Errorf("cluster mode enabled: num_cache_clusters must be null (it conflicts with the shard arguments), got %#v", ncc)
				}
				if !nng.RawEquals(cty.NumberIntVal(3)) || !rpn.RawEquals(cty.NumberIntVal(2)) {
					t.Errorf("num_node_groups, replicas_per_node_group = %#v, %#v; want 3, 2 from the variables", nng, rpn)
				}
				if v := s.mustAttr(rg, "cluster_mode"); v.AsString() != "enabled" {
					t.Errorf("cluster_mode = %s", v.AsString())
				}
				nodes = 3 * (2 + 1)
			} else {
				if !nng.IsNull() || !rpn.IsNull() {
					t.Errorf("cluster mode disabled: the shard arguments must be null, got %#v, %#v", nng, rpn)
				}
				if !ncc.RawEquals(cty.NumberIntVal(2)) {
					t.Errorf("num_cache_clusters = %#v, want 2 from the variable", ncc)
				}
				if v := s.mustAttr(rg, "cluster_mode"); v.AsString() != "disabled" {
					t.Errorf("cluster_mode = %s", v.AsString())
				}
				nodes = 2
			}

			// The AUTH token comes from random_password and from nothing else.
			auth := rg.Body.Attributes["auth_token"]
			if auth == nil {
				t.Fatalf("no auth_token")
			}
			if refs := references(auth.Expr); !reflect.DeepEqual(refs, []string{"random_password.auth.result"}) {
				t.Errorf("auth_token refers to %v, want only random_password.auth.result", refs)
			}

			if v := s.mustAttr(rg, "security_group_ids"); len(v.AsValueSlice()) != 1 || v.AsValueSlice()[0].AsString() != "aws_security_group.this.id" {
				t.Errorf("security_group_ids = %#v, want only the module's own group", v)
			}
			if v := s.mustAttr(rg, "parameter_group_name"); v.AsString() != "aws_elasticache_parameter_group.this.name" {
				t.Errorf("parameter_group_name = %s, want the module's parameter group", v.AsString())
			}

			for attr, re := range map[string]string{
				"maintenance_window": `^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$`,
				"snapshot_window":    `^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$`,
			} {
				if v := s.mustAttr(rg, attr); !regexp.MustCompile(re).MatchString(v.AsString()) {
					t.Errorf("%s = %q does not match %s", attr, v.AsString(), re)
				}
			}
			if v := s.mustAttr(rg, "snapshot_retention_limit"); v.LessThan(cty.NumberIntVal(1)).True() {
				t.Errorf("snapshot_retention_limit = %#v, want ≥ 1", v)
			}

			logs := map[string]string{}
			for _, b := range rg.Body.Blocks {
				if b.Type == "log_delivery_configuration" {
					logs[s.mustAttr(b, "log_type").AsString()] = s.mustAttr(b, "destination_type").AsString()
				}
			}
			if !reflect.DeepEqual(logs, map[string]string{"slow-log": "cloudwatch-logs", "engine-log": "cloudwatch-logs"}) {
				t.Errorf("log delivery = %v, want slow-log and engine-log to CloudWatch Logs", logs)
			}

			// Six alarms per node, each notifying alarm_actions.
			metrics := map[string]bool{}
			for _, a := range goValue(t, s.locals["node_alarms"]).(map[string]any) {
				metrics[a.(map[string]any)["metric"].(string)] = true
			}
			want := map[string]bool{"EngineCPUUtilization": true, "CPUUtilization": true, "DatabaseMemoryUsagePercentage": true, "Evictions": true, "CurrConnections": true, "ReplicationLag": true}
			if !reflect.DeepEqual(metrics, want) {
				t.Errorf("node alarms watch %v, want %v", metrics, want)
			}
			a := m.resource(t, "aws_cloudwatch_metric_alarm.node")
			if n := s.mustAttr(a, "for_each").LengthInt(); n != nodes*len(want) {
				t.Errorf("%d node alarms, want %d per node × %d nodes", n, len(want), nodes)
			}
			for _, attr := range []string{"alarm_actions", "ok_actions"} {
				if refs := references(a.Body.Attributes[attr].Expr); !reflect.DeepEqual(refs, []string{"var.alarm_actions"}) {
					t.Errorf("node alarms' %s = %v, want var.alarm_actions", attr, refs)
				}
			}
		})
	}
}

func TestAuthTokenIsAcceptedByElastiCache(t *testing.T) {
	m := child(t, "elasticache")
	s := m.scope(t, appSG)
	p := m.resource(t, "random_password.auth")
	length, _ := s.mustAttr(p, "length").AsBigFloat().Int64()
	if length < 16 || length > 128 {
		t.Errorf("AUTH token length %d, ElastiCache accepts 16-128", length)
	}
	if !s.mustAttr(p, "special").True() {
		t.Errorf("want special characters in the AUTH token")
	}
	special := s.mustAttr(p, "override_special").AsString()
	if strings.ContainsAny(special, "@\"/ ") || special == "" {
		t.Errorf("override_special %q: ElastiCache refuses @, \", / and space", special)
	}
}

func TestNodeCountValidationForbidsFewerThanTwoNodes(t *testing.T) {
	m := child(t, "elasticache")
	for n, ok := range map[int64]bool{0: false, 1: false, 2: true, 3: true, 6: true, 7: false} {
		s := m.scope(t, with(appSG, map[string]cty.Value{"num_cache_clusters": cty.NumberIntVal(n)}))
		if got := s.validates("num_cache_clusters"); got != ok {
			t.Errorf("num_cache_clusters = %d: accepted = %v, want %v", n, got, ok)
		}
	}
	for n, ok := range map[int64]bool{0: false, 1: true, 5: true, 6: false} {
		s := m.scope(t, with(appSG, map[string]cty.Value{"replicas_per_node_group": cty.NumberIntVal(n)}))
		if got := s.validates("replicas_per_node_group"); got != ok {
			t.Errorf("replicas_per_node_group = %d: accepted = %v, want %v", n, got, ok)
		}
	}
	one := m.scope(t, with(appSG, map[string]cty.Value{"subnet_ids": cty.ListVal([]cty.Value{cty.StringVal("subnet-1")})}))
	if one.validates("subnet_ids") {
		t.Errorf("one subnet accepted: Multi-AZ needs two")
	}
	none := m.scope(t, map[string]cty.Value{"allowed_security_group_ids": cty.ListValEmpty(cty.String)})
	if none.validates("allowed_security_group_ids") {
		t.Errorf("no app security group accepted")
	}
	bad := m.scope(t, with(appSG, map[string]cty.Value{"maintenance_window": cty.StringVal("sunday 5am")}))
	if bad.validates("maintenance_window") {
		t.Errorf("a malformed maintenance window accepted")
	}
}

func TestParameterGroup(t *testing.T) {
	m := child(t, "elasticache")
	pg := m.resource(t, "aws_elasticache_parameter_group.this")
	if !lifecycleSays(t, m, pg, "create_before_destroy") {
		t.Errorf("parameter group needs lifecycle { create_before_destroy = true }")
	}
	for _, mode := range clusterModes {
		t.Run(mode.name, func(t *testing.T) {
			s := m.scope(t, with(appSG, mode.vars))
			params := map[string]string{}
			for _, b := range pg.Body.Blocks {
				if b.Type == "parameter" {
					params[s.mustAttr(b, "name").AsString()] = s.mustAttr(b, "value").AsString()
				}
			}
			want := map[string]string{
				"maxmemory-policy":       "volatile-lru",
				"notify-keyspace-events": "Ex",
				"cluster-enabled":        "no",
			}
			if mode.vars["cluster_mode_enabled"].True() {
				want["cluster-enabled"] = "yes"
			}
			if !reflect.DeepEqual(params, want) {
				t.Errorf("parameters = %v, want %v", params, want)
			}
			if f := s.mustAttr(pg, "family").AsString(); f != "redis7" {
				t.Errorf("family = %s, want redis7", f)
			}
		})
	}
	// The name follows the family, so a new family means a new group.
	n7 := m.scope(t, appSG).mustAttr(pg, "name").AsString()
	n6 := m.scope(t, with(appSG, map[string]cty.Value{"parameter_group_family": cty.StringVal("redis6.x")})).mustAttr(pg, "name").AsString()
	if n7 == n6 || !strings.Contains(n7, "redis7") {
		t.Errorf("parameter group names %q (redis7) and %q (redis6.x): the name must change with the family", n7, n6)
	}
}

func TestCacheAndDatabaseAcceptOnlyTheAppSecurityGroup(t *testing.T) {
	for _, tc := range []struct{ module, port string }{{"elasticache", "6379"}, {"database", "5432"}} {
		t.Run(tc.module, func(t *testing.T) {
			m := child(t, tc.module)
			s := m.scope(t, appSG)
			sg := m.resource(t, "aws_security_group.this")
			for _, b := range sg.Body.Blocks {
				if b.Type == "ingress" || b.Type == "egress" {
					t.Errorf("inline %s rule in the security group", b.Type)
				}
			}
			if len(m.resourcesOfType("aws_security_group_rule")) > 0 || len(m.resourcesOfType("aws_vpc_security_group_egress_rule")) > 0 {
				t.Errorf("only ingress rules from the app are expected")
			}
			rules := m.resourcesOfType("aws_vpc_security_group_ingress_rule")
			if len(rules) != 1 {
				t.Fatalf("want exactly one ingress rule resource, got %d", len(rules))
			}
			r := rules[0]
			for _, forbidden := range []string{"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} {
				if _, ok := r.Body.Attributes[forbidden]; ok {
					t.Errorf("ingress rule sets %s: only the app's security group may connect", forbidden)
				}
			}
			src, ok := r.Body.Attributes["referenced_security_group_id"]
			if !ok {
				t.Fatalf("ingress rule has no referenced_security_group_id")
			}
			if refs := references(src.Expr); !reflect.DeepEqual(refs, []string{"count.index", "var.allowed_security_group_ids"}) {
				t.Errorf("ingress source refers to %v, want var.allowed_security_group_ids[count.index]", refs)
			}
			if v := s.mustAttr(r, "security_group_id"); v.AsString() != "aws_security_group.this.id" {
				t.Errorf("rule attaches to %s", v.AsString())
			}
			if n := s.mustAttr(r, "count"); !n.RawEquals(cty.NumberIntVal(1)) {
				t.Errorf("one app security group gives %#v rules, want 1", n)
			}
			from := s.eval(r.Body.Attributes["from_port"].Expr, nil)
			to := s.eval(r.Body.Attributes["to_port"].Expr, nil)
			if from.AsBigFloat().String() != tc.port || to.AsBigFloat().String() != tc.port {
				t.Errorf("ports %s-%s, want %s only", from.AsBigFloat(), to.AsBigFloat(), tc.port)
			}
		})
	}

	// In the root, that group is the app's tasks' group and nothing else.
	r := root(t)
	rs := r.scope(t, nil)
	for _, name := range []string{"elasticache", "database"} {
		v := goValue(t, rs.mustAttr(r.modules[name], "allowed_security_group_ids"))
		if !reflect.DeepEqual(v, []any{"module.app.security_group_id"}) {
			t.Errorf("module.%s gets ingress sources %v, want only module.app.security_group_id", name, v)
		}
	}
	app := child(t, "app")
	if refs := references(app.outputs["security_group_id"].Body.Attributes["value"].Expr); !reflect.DeepEqual(refs, []string{"aws_security_group.app.id"}) {
		t.Errorf("app's security_group_id output is %v, want the tasks' group", refs)
	}
	// The tasks' group itself accepts traffic only from the load balancer.
	for _, rule := range app.resourcesOfType("aws_vpc_security_group_ingress_rule") {
		s := app.scope(t, nil)
		if v := s.mustAttr(rule, "security_group_id"); v.AsString() == "aws_security_group.app.id" {
			if _, cidr := rule.Body.Attributes["cidr_ipv4"]; cidr {
				t.Errorf("the tasks accept a CIDR range: only the load balancer may reach them")
			}
			if v := s.mustAttr(rule, "referenced_security_group_id"); v.AsString() != "aws_security_group.alb.id" {
				t.Errorf("the tasks accept traffic from %s", v.AsString())
			}
		}
	}
}

func TestElastiCacheSecretHasTheShapeTheShopReads(t *testing.T) {
	m := child(t, "elasticache")
	v := m.resource(t, "aws_secretsmanager_secret_version.this")
	for _, mode := range clusterModes {
		t.Run(mode.name, func(t *testing.T) {
			s := m.scope(t, with(appSG, mode.vars))
			secret := jsonOf(t, s.mustAttr(v, "secret_string"))
			want := map[string]any{
				"host":   "aws_elasticache_replication_group.this.primary_endpoint_address",
				"port":   float64(6379),
				"auth":   "random_password.auth.result",
				"reader": "aws_elasticache_replication_group.this.reader_endpoint_address",
			}
			if mode.vars["cluster_mode_enabled"].True() {
				want["host"] = "aws_elasticache_replication_group.this.configuration_endpoint_address"
				want["reader"] = ""
			}
			if !reflect.DeepEqual(secret, want) {
				t.Errorf("secret = %v\nwant     %v", secret, want)
			}
			if got := s.mustAttr(v, "secret_id").AsString(); got != "aws_secretsmanager_secret.this.id" {
				t.Errorf("secret version belongs to %s", got)
			}
		})
	}
}

// ---------------------------------------------------------------- database and app

func TestDatabaseIsPrivateEncryptedAndItsPasswordGenerated(t *testing.T) {
	m := child(t, "database")
	s := m.scope(t, appSG)
	db := m.resource(t, "aws_db_instance.this")
	for attr, want := range map[string]cty.Value{
		"storage_encrypted":   cty.True,
		"publicly_accessible": cty.False,
		"multi_az":            cty.True, // the default; db_multi_az switches it
		"engine":              cty.StringVal("postgres"),
	} {
		if v := s.mustAttr(db, attr); !v.RawEquals(want) {
			t.Errorf("%s = %#v, want %#v", attr, v, want)
		}
	}
	if v := m.scope(t, with(appSG, map[string]cty.Value{"multi_az": cty.False})).mustAttr(db, "multi_az"); !v.RawEquals(cty.False) {
		t.Errorf("multi_az does not follow the variable")
	}
	if _, ok := db.Body.Attributes["password"]; ok {
		t.Errorf("password is set: it would be stored in the state; use password_wo")
	}
	if refs := references(db.Body.Attributes["password_wo"].Expr); !reflect.DeepEqual(refs, []string{"ephemeral.random_password.master.result"}) {
		t.Errorf("password_wo comes from %v, want ephemeral.random_password.master.result", refs)
	}
	if len(m.resourcesOfType("random_password")) != 0 {
		t.Errorf("a managed random_password in the database module keeps its result in the state")
	}
	// The port is a number in the URL; give the instance a known one.
	instance := map[string]cty.Value{"aws_db_instance": cty.ObjectVal(map[string]cty.Value{"this": cty.ObjectVal(map[string]cty.Value{
		"address": cty.StringVal("aws_db_instance.this.address"),
		"port":    cty.NumberIntVal(5432),
	})})}
	svb := m.resource(t, "aws_secretsmanager_secret_version.this")
	if _, ok := svb.Body.Attributes["secret_string"]; ok {
		t.Errorf("secret_string is set: it would be stored in the state; use secret_string_wo")
	}
	sv := svb.Body.Attributes["secret_string_wo"]
	secret := jsonOf(t, s.eval(sv.Expr, instance))
	url, _ := secret["url"].(string)
	if url != "postgres://shop:ephemeral.random_password.master.result@aws_db_instance.this.address:5432/shop?sslmode=require" {
		t.Errorf("url = %q: want postgres://user:password@host:port/db?sslmode=require", url)
	}
	for _, k := range []string{"host", "port", "username", "password", "dbname"} {
		if _, ok := secret[k]; !ok {
			t.Errorf("database secret lacks %q", k)
		}
	}
}

func TestAppGetsItsConnectionsFromSecretsManager(t *testing.T) {
	m := child(t, "app")
	for _, tc := range []struct {
		mode, admin string
		https       bool
	}{{"standalone", "", false}, {"cluster", "admin@example.com", true}} {
		t.Run(tc.mode, func(t *testing.T) {
			set := map[string]cty.Value{"redis_mode": cty.StringVal(tc.mode)}
			if tc.admin != "" {
				set["admin_email"] = cty.StringVal(tc.admin)
			}
			if tc.https {
				set["certificate_arn"] = cty.StringVal("arn:aws:acm:eu-west-1:123456789012:certificate/x")
			}
			s := m.scope(t, set)
			td := m.resource(t, "aws_ecs_task_definition.this")
			var defs []map[string]any
			if err := jsonUnmarshal(s.mustAttr(td, "container_definitions").AsString(), &defs); err != nil || len(defs) != 1 {
				t.Fatalf("container_definitions: %v (%d containers)", err, len(defs))
			}
			c := defs[0]
			env := map[string]string{}
			for _, e := range c["environment"].([]any) {
				e := e.(map[string]any)
				env[e["name"].(string)] = e["value"].(string)
			}
			secrets := map[string]string{}
			for _, e := range c["secrets"].([]any) {
				e := e.(map[string]any)
				secrets[e["name"].(string)] = e["valueFrom"].(string)
			}
			if secrets["SHOP_DATABASE_URL"] != "var.database_secret_arn:url::" {
				t.Errorf("SHOP_DATABASE_URL from %q, want the url key of the database secret", secrets["SHOP_DATABASE_URL"])
			}
			if secrets["SHOP_ELASTICACHE_SECRET"] != "var.elasticache_secret_arn" {
				t.Errorf("SHOP_ELASTICACHE_SECRET from %q, want the ElastiCache secret", secrets["SHOP_ELASTICACHE_SECRET"])
			}
			if tc.admin != "" && secrets["SHOP_ADMIN_PASSWORD"] != "aws_secretsmanager_secret.admin[0].arn" {
				t.Errorf("SHOP_ADMIN_PASSWORD from %q", secrets["SHOP_ADMIN_PASSWORD"])
			}
			for name := range env {
				if secretLikeName.MatchString(name) || strings.Contains(name, "URL") {
					t.Errorf("%s is plain environment: secrets and connection strings come from Secrets Manager", name)
				}
			}
			wantSecure := map[bool]string{true: "true", false: "false"}[tc.https]
			if env["SHOP_REDIS_MODE"] != tc.mode || env["SHOP_ADDR"] != ":8080" || env["SHOP_SESSION_SECURE"] != wantSecure {
				t.Errorf("environment = %v", env)
			}
			if c["readonlyRootFilesystem"] != true {
				t.Errorf("container root file system should be read-only")
			}
			pm := c["portMappings"].([]any)[0].(map[string]any)
			if pm["containerPort"] != float64(8080) {
				t.Errorf("container port %v, want 8080", pm["containerPort"])
			}
		})
	}

	tg := m.resource(t, "aws_lb_target_group.this")
	var hc *hclsyntax.Block
	for _, b := range tg.Body.Blocks {
		if b.Type == "health_check" {
			hc = b
		}
	}
	s := m.scope(t, map[string]cty.Value{"redis_mode": cty.StringVal("standalone")})
	if hc == nil || s.mustAttr(hc, "path").AsString() != "/readyz" {
		t.Errorf("the target group must check /readyz")
	}
	svc := m.resource(t, "aws_ecs_service.this")
	for _, b := range svc.Body.Blocks {
		if b.Type == "network_configuration" && !s.mustAttr(b, "assign_public_ip").RawEquals(cty.False) {
			t.Errorf("tasks must not get public IPs")
		}
	}
	// The task role (the shop process) has no policy unless ECS Exec is on.
	if n := s.mustAttr(m.resource(t, "aws_iam_role_policy.task_exec"), "count"); !n.RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("the task role gets a policy by default")
	}
	// A secret can't sneak in as plain environment.
	bad := m.scope(t, map[string]cty.Value{"redis_mode": cty.StringVal("standalone"), "environment": cty.MapVal(map[string]cty.Value{"SHOP_ADMIN_PASSWORD": cty.StringVal("x")})})
	if bad.validates("environment") {
		t.Errorf("environment accepted SHOP_ADMIN_PASSWORD")
	}
}

func TestRootWiresTheClusterModeThrough(t *testing.T) {
	r := root(t)
	for _, mode := range []bool{false, true} {
		s := r.scope(t, map[string]cty.Value{
			"cluster_mode_enabled": cty.BoolVal(mode),
			"availability_zones":   cty.ListVal([]cty.Value{cty.StringVal("eu-west-1a"), cty.StringVal("eu-west-1b")}),
		})
		if v := s.mustAttr(r.modules["elasticache"], "cluster_mode_enabled"); !v.RawEquals(cty.BoolVal(mode)) {
			t.Errorf("cluster_mode_enabled not passed to the elasticache module")
		}
		want := map[bool]string{false: "standalone", true: "cluster"}[mode]
		if v := s.mustAttr(r.modules["app"], "redis_mode"); v.AsString() != want {
			t.Errorf("cluster_mode_enabled = %v runs the shop with SHOP_REDIS_MODE=%s, want %s", mode, v.AsString(), want)
		}
		if refs := references(r.modules["app"].Body.Attributes["elasticache_secret_arn"].Expr); !reflect.DeepEqual(refs, []string{"module.elasticache.secret_arn"}) {
			t.Errorf("the app reads the ElastiCache secret from %v", refs)
		}
	}
	for _, o := range []string{"shop_url", "redis_primary_endpoint", "redis_reader_endpoint", "redis_configuration_endpoint", "elasticache_secret_arn", "database_secret_arn"} {
		if _, ok := r.outputs[o]; !ok {
			t.Errorf("root output %q missing", o)
		}
	}
}

// ---------------------------------------------------------------- example variable files

func TestExampleVariableFiles(t *testing.T) {
	r := root(t)
	ec := child(t, "elasticache")
	for file, enabled := range map[string]bool{"cluster-mode-disabled.tfvars": false, "cluster-mode-enabled.tfvars": true} {
		t.Run(file, func(t *testing.T) {
			f, diags := hclparse.NewParser().ParseHCLFile(file)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			attrs, diags := f.Body.JustAttributes()
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			set := map[string]cty.Value{}
			for name, a := range attrs {
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("%s: %s", name, diags.Error())
				}
				set[name] = v
			}
			s := r.scope(t, set) // fails on an undeclared variable
			for name := range r.variables {
				if !s.validates(name) {
					t.Errorf("%s fails the validation of %s", file, name)
				}
			}
			if got := s.vars["cluster_mode_enabled"]; !got.RawEquals(cty.BoolVal(enabled)) {
				t.Errorf("cluster_mode_enabled = %#v, want %v", got, enabled)
			}
			// The values the root hands the elasticache module pass its validations.
			mod := map[string]cty.Value{}
			for name, a := range r.modules["elasticache"].Body.Attributes {
				if name == "source" {
					continue
				}
				v := s.eval(a.Expr, nil)
				if strings.HasPrefix(name, "allowed_") || name == "vpc_id" || name == "subnet_ids" || name == "alarm_actions" || name == "notification_topic_arn" {
					continue // resource attributes, known after apply
				}
				mod[name] = v
			}
			es := ec.scope(t, with(mod, appSG))
			for name := range ec.variables {
				if _, ok := mod[name]; ok && !es.validates(name) {
					t.Errorf("%s: elasticache module refuses %s = %#v", file, name, mod[name])
				}
			}
		})
	}
}

func TestTerraformTestFilesMockTheAWSProvider(t *testing.T) {
	files, _ := filepath.Glob("tests/*.tftest.hcl")
	more, _ := filepath.Glob("modules/*/tests/*.tftest.hcl")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("want .tftest.hcl files for the root and the modules, found %v", files)
	}
	var modes []string
	for _, path := range files {
		f, diags := hclparse.NewParser().ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", path, diags.Error())
		}
		mocked, runs := false, 0
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type == "mock_provider" && b.Labels[0] == "aws" {
				mocked = true
			}
			if b.Type == "run" {
				runs++
			}
		}
		if !mocked || runs == 0 {
			t.Errorf("%s: want mock_provider \"aws\" and at least one run (mocked %v, %d runs)", path, mocked, runs)
		}
		modes = append(modes, filepath.Base(path))
	}
	for _, want := range []string{"cluster_mode_disabled.tftest.hcl", "cluster_mode_enabled.tftest.hcl"} {
		if !slices.Contains(modes, want) {
			t.Errorf("missing tests/%s", want)
		}
	}
}

// ---------------------------------------------------------------- helpers

var appSG = map[string]cty.Value{
	"allowed_security_group_ids": cty.ListVal([]cty.Value{cty.StringVal("sg-0123456789abcdef0")}),
	"vpc_id":                     cty.StringVal("vpc-0123456789abcdef0"),
	"subnet_ids":                 cty.ListVal([]cty.Value{cty.StringVal("subnet-0aaaaaaaaaaaaaaa1"), cty.StringVal("subnet-0bbbbbbbbbbbbbbb2")}),
}

// with merges variable sets; later ones win.
func with(maps ...map[string]cty.Value) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

func lifecycleSays(t *testing.T, m *module, b *hclsyntax.Block, attr string) bool {
	for _, l := range b.Body.Blocks {
		if l.Type == "lifecycle" {
			if v, ok := m.scope(t, appSG).attr(l, attr); ok && v.True() {
				return true
			}
		}
	}
	return false
}
