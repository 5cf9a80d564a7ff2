package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func parse(t *testing.T, s string) plan {
	t.Helper()
	var p plan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       string // a substring of the findings; "" for none
	}{
		{"http listener forwarding", `{"resource_changes":[{"address":"module.app.aws_lb_listener.http","type":"aws_lb_listener","mode":"managed","change":{"actions":["create"],"after":{"protocol":"HTTP","default_action":[{"type":"forward","redirect":[]}]},"after_unknown":{}}}]}`, "forward action"},
		{"http listener redirecting to https", `{"resource_changes":[{"address":"module.app.aws_lb_listener.http","type":"aws_lb_listener","mode":"managed","change":{"actions":["create"],"after":{"protocol":"HTTP","default_action":[{"type":"redirect","redirect":[{"protocol":"HTTPS","port":"443"}]}]},"after_unknown":{}}}]}`, ""},
		{"https listener forwarding", `{"resource_changes":[{"address":"module.app.aws_lb_listener.https[0]","type":"aws_lb_listener","mode":"managed","change":{"actions":["create"],"after":{"protocol":"HTTPS","default_action":[{"type":"forward"}]},"after_unknown":{}}}]}`, ""},
		{"database password in state", `{"resource_changes":[{"address":"module.database.aws_db_instance.this","type":"aws_db_instance","mode":"managed","change":{"actions":["create"],"after":{"password":null},"after_unknown":{"password":true}}}]}`, "password will be stored"},
		{"generated admin password", `{"resource_changes":[{"address":"module.app.random_password.admin[0]","type":"random_password","mode":"managed","change":{"actions":["create"],"after":{"length":24},"after_unknown":{"result":true}}}]}`, "result will be stored"},
		{"secret string set", `{"resource_changes":[{"address":"module.app.aws_secretsmanager_secret_version.admin[0]","type":"aws_secretsmanager_secret_version","mode":"managed","change":{"actions":["create"],"after":{"secret_string":"hunter2"},"after_unknown":{}}}]}`, "secret_string is stored"},
		{"auth token allowed", `{"resource_changes":[{"address":"module.elasticache.random_password.auth","type":"random_password","mode":"managed","change":{"actions":["create"],"after":{},"after_unknown":{"result":true}}},{"address":"module.elasticache.aws_elasticache_replication_group.this","type":"aws_elasticache_replication_group","mode":"managed","change":{"actions":["create"],"after":{},"after_unknown":{"auth_token":true}}}]}`, ""},
		{"write-only password", `{"resource_changes":[{"address":"module.database.aws_db_instance.this","type":"aws_db_instance","mode":"managed","change":{"actions":["create"],"after":{"password":null,"password_wo":null,"password_wo_version":1},"after_unknown":{}}}]}`, ""},
		{"result of a non-secret resource", `{"resource_changes":[{"address":"terraform_data.x","type":"terraform_data","mode":"managed","change":{"actions":["create"],"after":{"result":"x"},"after_unknown":{}}}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(Check(parse(t, tc.json)), "\n")
			if tc.want == "" && got != "" {
				t.Errorf("want no findings, got %s", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("want a finding with %q, got %q", tc.want, got)
			}
		})
	}
}
