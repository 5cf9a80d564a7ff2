// Command plancheck reads the JSON of a Terraform plan of infra/terraform
// (terraform show -json PLAN) and fails when the plan
//
//   - has a plain-HTTP load balancer listener whose default action is anything
//     but a redirect to HTTPS, or
//   - puts a secret into the state other than the ElastiCache AUTH token
//     (which aws_elasticache_replication_group can only take as a normal,
//     stored argument): a password, secret string or generated password
//     attribute that is set or will be known after apply.
//
// Write-only arguments (password_wo, secret_string_wo) and ephemeral
// resources never appear in a plan, so a configuration that uses them passes.
//
// Usage: plancheck plan.json [more.json…]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
)

type plan struct {
	ResourceChanges []resourceChange `json:"resource_changes"`
}

type resourceChange struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Mode    string `json:"mode"`
	Change  struct {
		Actions      []string       `json:"actions"`
		After        map[string]any `json:"after"`
		AfterUnknown map[string]any `json:"after_unknown"`
	} `json:"change"`
}

// The only places a secret may sit in state: the AUTH token, the argument
// that sets it, and the connection secret that hands it to the shop.
var allowedSecrets = map[string]bool{
	"module.elasticache.random_password.auth":                      true,
	"module.elasticache.aws_elasticache_replication_group.this":    true,
	"module.elasticache.aws_secretsmanager_secret_version.this":    true,
	"module.elasticache.aws_elasticache_replication_group.this[0]": true,
}

// Attribute names that hold secret values (not ARNs, versions or flags).
var secretAttr = regexp.MustCompile(`^(password|master_password|auth_token|secret_string|secret_binary|result|bcrypt_hash)$`)

// Check returns what is wrong with the plan, one line per finding.
func Check(p plan) []string {
	var problems []string
	for _, rc := range p.ResourceChanges {
		if rc.Mode != "managed" || isDelete(rc.Change.Actions) {
			continue
		}
		after, unknown := rc.Change.After, rc.Change.AfterUnknown
		if rc.Type == "aws_lb_listener" {
			problems = append(problems, checkListener(rc.Address, after, unknown)...)
		}
		if allowedSecrets[rc.Address] {
			continue
		}
		var names []string
		for name := range after {
			names = append(names, name)
		}
		for name := range unknown {
			if _, ok := after[name]; !ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			if rc.Type != "random_password" && rc.Type != "random_string" && (name == "result" || name == "bcrypt_hash") {
				continue // "result" is only a secret on the random resources
			}
			if !secretAttr.MatchString(name) {
				continue
			}
			if v := after[name]; v != nil && v != "" {
				problems = append(problems, fmt.Sprintf("%s: %s is stored in the state (%s)", rc.Address, name, describe(v)))
			} else if unknown[name] == true {
				problems = append(problems, fmt.Sprintf("%s: %s will be stored in the state (known after apply)", rc.Address, name))
			}
		}
	}
	return problems
}

func checkListener(addr string, after, unknown map[string]any) []string {
	if after["protocol"] != "HTTP" {
		return nil
	}
	actions, _ := after["default_action"].([]any)
	if len(actions) == 0 {
		return []string{addr + ": plain-HTTP listener without a default action in the plan"}
	}
	var problems []string
	for _, a := range actions {
		m, _ := a.(map[string]any)
		if m["type"] != "redirect" {
			problems = append(problems, fmt.Sprintf("%s: plain-HTTP listener with a %v action (only a redirect to HTTPS is allowed)", addr, m["type"]))
			continue
		}
		rs, _ := m["redirect"].([]any)
		if len(rs) != 1 {
			problems = append(problems, addr+": redirect without a redirect block")
			continue
		}
		r, _ := rs[0].(map[string]any)
		if r["protocol"] != "HTTPS" {
			problems = append(problems, fmt.Sprintf("%s: plain-HTTP listener redirects to %v, not HTTPS", addr, r["protocol"]))
		}
	}
	return problems
}

func isDelete(actions []string) bool {
	return len(actions) == 1 && actions[0] == "delete"
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string value"
	default:
		return fmt.Sprintf("a %T value", v)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: plancheck plan.json [more.json…]")
		os.Exit(2)
	}
	bad := false
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var p plan
		if err := json.Unmarshal(b, &p); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(2)
		}
		if len(p.ResourceChanges) == 0 {
			fmt.Fprintf(os.Stderr, "%s: no resource changes: not a plan of infra/terraform\n", path)
			os.Exit(2)
		}
		for _, problem := range Check(p) {
			fmt.Fprintf(os.Stderr, "plancheck: %s: %s\n", path, problem)
			bad = true
		}
	}
	if bad {
		os.Exit(1)
	}
}
