package terraform_test

// Security properties over every module, by resource type rather than by
// name, so that a rule or a policy added next to the existing ones is seen
// too (terraform test asserts on resources it knows by name only).

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// Actions that AWS only grants on "*".
var actionsWithoutResource = map[string]bool{
	"ecr:GetAuthorizationToken":        true,
	"ssmmessages:CreateControlChannel": true,
	"ssmmessages:CreateDataChannel":    true,
	"ssmmessages:OpenControlChannel":   true,
	"ssmmessages:OpenDataChannel":      true,
}

func TestIAMIsLeastPrivilege(t *testing.T) {
	for _, m := range allModules(t) {
		s := m.scope(t, nil)
		for _, typ := range []string{"aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_role_policies_exclusive", "aws_iam_role_policy_attachments_exclusive", "aws_iam_policy"} {
			for _, r := range m.resourcesOfType(typ) {
				t.Errorf("%s: %s %v: roles get inline, scoped policies only (no managed or shared policies)", m.dir, r.Type, r.Labels)
			}
		}
		for _, role := range m.resourcesOfType("aws_iam_role") {
			for _, b := range role.Body.Blocks {
				if b.Type == "inline_policy" {
					t.Errorf("%s: role %v has an inline_policy block", m.dir, role.Labels)
				}
			}
			if _, ok := role.Body.Attributes["managed_policy_arns"]; ok {
				t.Errorf("%s: role %v has managed_policy_arns", m.dir, role.Labels)
			}
			trust := jsonOf(t, s.mustAttr(role, "assume_role_policy"))
			for _, st := range trust["Statement"].([]any) {
				st := st.(map[string]any)
				cond, _ := st["Condition"].(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				if eq["aws:SourceAccount"] != "var.account_id" {
					t.Errorf("%s: role %v may be assumed without aws:SourceAccount = var.account_id (condition %v)", m.dir, role.Labels, cond)
				}
			}
		}
		for _, p := range m.resourcesOfType("aws_iam_role_policy") {
			policy := jsonOf(t, s.mustAttr(p, "policy"))
			for _, st := range policy["Statement"].([]any) {
				st := st.(map[string]any)
				for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
					if _, ok := st[k]; ok {
						t.Errorf("%s: policy %v uses %s", m.dir, p.Labels, k)
					}
				}
				actions := strings1(st["Action"])
				for _, a := range actions {
					if a == "*" || strings.HasSuffix(a, ":*") || strings.Contains(a, "*") {
						t.Errorf("%s: policy %v allows the wildcard action %q", m.dir, p.Labels, a)
					}
				}
				if slices.Contains(strings1(st["Resource"]), "*") {
					for _, a := range actions {
						if !actionsWithoutResource[a] {
							t.Errorf("%s: policy %v allows %s on every resource", m.dir, p.Labels, a)
						}
					}
				}
			}
		}
	}

	// The shop process's role gets a policy only for ECS Exec, off by default.
	app := child(t, "app")
	s := app.scope(t, nil)
	for _, p := range app.resourcesOfType("aws_iam_role_policy") {
		if s.mustAttr(p, "role").AsString() != "aws_iam_role.task.id" {
			continue
		}
		if refs := references(p.Body.Attributes["count"].Expr); !reflect.DeepEqual(refs, []string{"var.enable_execute_command"}) {
			t.Errorf("policy %v on the task role does not depend on enable_execute_command only (%v)", p.Labels, refs)
		}
		if n := s.mustAttr(p, "count"); !n.RawEquals(cty.NumberIntVal(0)) {
			t.Errorf("policy %v is on the task role by default", p.Labels)
		}
	}
}

// strings1 turns a policy's "Action" or "Resource" (a string or a list) into a list.
func strings1(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func TestNoWideNetworkRules(t *testing.T) {
	// The CIDR-based rules there are, and where each may take its range from.
	allowedCIDR := map[string][]string{
		"modules/app/aws_vpc_security_group_ingress_rule.alb_http":            {"each.value"},
		"modules/app/aws_vpc_security_group_ingress_rule.alb_https":           {"each.value"},
		"modules/network/aws_vpc_security_group_ingress_rule.endpoints_https": {"var.cidr_block"},
	}
	for _, m := range allModules(t) {
		for _, typ := range []string{"aws_security_group", "aws_default_security_group"} {
			for _, sg := range m.resourcesOfType(typ) {
				for _, b := range sg.Body.Blocks {
					if b.Type == "ingress" || b.Type == "egress" {
						t.Errorf("%s: %s %v has an inline %s rule: rules are separate resources, checked here", m.dir, typ, sg.Labels, b.Type)
					}
				}
			}
		}
		if rs := m.resourcesOfType("aws_security_group_rule"); len(rs) > 0 {
			t.Errorf("%s: aws_security_group_rule %v: use aws_vpc_security_group_{ingress,egress}_rule", m.dir, rs[0].Labels)
		}
		for _, typ := range []string{"aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"} {
			for _, r := range m.resourcesOfType(typ) {
				key := m.dir + "/" + typ + "." + r.Labels[1]
				if _, ok := r.Body.Attributes["cidr_ipv6"]; ok {
					t.Errorf("%s: an IPv6 CIDR rule", key)
				}
				c, ok := r.Body.Attributes["cidr_ipv4"]
				if !ok {
					continue
				}
				want, allowed := allowedCIDR[key]
				if !allowed {
					t.Errorf("%s: a CIDR-based rule (%s): only the load balancer's listeners and the VPC endpoints take CIDRs", key, exprText(m, c.Expr))
					continue
				}
				if refs := references(c.Expr); !reflect.DeepEqual(refs, want) {
					t.Errorf("%s: cidr_ipv4 from %v, want %v", key, refs, want)
				}
				if want[0] == "each.value" {
					if refs := references(r.Body.Attributes["for_each"].Expr); !slices.Contains(refs, "var.allowed_ingress_cidrs") {
						t.Errorf("%s: for_each over %v, want var.allowed_ingress_cidrs", key, refs)
					}
				}
			}
		}
	}
}

func TestHTTPSIsTheDefault(t *testing.T) {
	app := child(t, "app")
	cert := map[string]cty.Value{"certificate_arn": cty.StringVal("arn:aws:acm:eu-west-1:123456789012:certificate/abc")}
	for _, tc := range []struct {
		name string
		set  map[string]cty.Value
		ok   bool
	}{
		{"no certificate", nil, false},
		{"certificate", cert, true},
		{"explicit plain-HTTP demo", map[string]cty.Value{"allow_plain_http": cty.True}, true},
	} {
		if got := app.scope(t, tc.set).validates("certificate_arn"); got != tc.ok {
			t.Errorf("%s: accepted = %v, want %v", tc.name, got, tc.ok)
		}
	}
	s := app.scope(t, cert)
	http := app.resource(t, "aws_lb_listener.http")
	for _, b := range http.Body.Blocks {
		if b.Type == "default_action" {
			if v := s.mustAttr(b, "type"); v.AsString() != "redirect" {
				t.Errorf("with a certificate port 80 %ss, want redirect", v.AsString())
			}
		}
	}
	https := app.resource(t, "aws_lb_listener.https")
	if refs := references(https.Body.Attributes["ssl_policy"].Expr); !reflect.DeepEqual(refs, []string{"var.ssl_policy"}) {
		t.Errorf("ssl_policy from %v", refs)
	}
	for policy, ok := range map[string]bool{
		"ELBSecurityPolicy-TLS13-1-2-2021-06": true,
		"ELBSecurityPolicy-2016-08":           false,
		"ELBSecurityPolicy-TLS-1-1-2017-01":   false,
		"ELBSecurityPolicy-FS-1-2-2019-08":    false,
	} {
		if got := app.scope(t, with(cert, map[string]cty.Value{"ssl_policy": cty.StringVal(policy)})).validates("ssl_policy"); got != ok {
			t.Errorf("ssl_policy %s: accepted = %v, want %v", policy, got, ok)
		}
	}
	if v := s.vars["ssl_policy"]; v.AsString() != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("default ssl_policy %s", v.AsString())
	}
	if v, ok := s.attr(https, "routing_http_response_strict_transport_security_header_value"); !ok || !strings.HasPrefix(v.AsString(), "max-age=31536000") {
		t.Errorf("the HTTPS listener sends no HSTS header of a year")
	}
}
