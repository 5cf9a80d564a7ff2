package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/testenv"
)

// TestConfigAdminPassword: SHOP_ADMIN_PASSWORD obeys the rules every password does, and the
// message never shows it.
func TestConfigAdminPassword(t *testing.T) {
	tests := []struct{ password, want string }{
		{"short", "SHOP_ADMIN_PASSWORD: want at least 8 characters"},
		{strings.Repeat("p", 73), "SHOP_ADMIN_PASSWORD: want at most 72 bytes"},
		{"12345678", "SHOP_ADMIN_PASSWORD: it is among the 10,000 most common passwords"},
		{"password", "SHOP_ADMIN_PASSWORD: it is among the 10,000 most common passwords"},
		{"rootadmin@example.com", "SHOP_ADMIN_PASSWORD: it is SHOP_ADMIN_EMAIL"},
		{"ROOTADMIN", "SHOP_ADMIN_PASSWORD: it is SHOP_ADMIN_EMAIL"},
	}
	for _, tt := range tests {
		_, err := loadConfig(envFrom(map[string]string{"SHOP_ADMIN_EMAIL": "rootadmin@example.com", "SHOP_ADMIN_PASSWORD": tt.password}))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SHOP_ADMIN_PASSWORD=%q: error %v, want one containing %q", tt.password, err, tt.want)
		}
		if err != nil && tt.password != "password" && strings.Contains(strings.ReplaceAll(err.Error(), "rootadmin@example.com", ""), tt.password) {
			t.Errorf("SHOP_ADMIN_PASSWORD=%q: the error shows the password: %v", tt.password, err)
		}
	}
	if _, err := loadConfig(envFrom(map[string]string{"SHOP_ADMIN_EMAIL": "rootadmin@example.com", "SHOP_ADMIN_PASSWORD": "a long admin phrase"})); err != nil {
		t.Errorf("a good admin password: %v", err)
	}
}

func TestConfigRateLimits(t *testing.T) {
	cfg, err := loadConfig(envFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LoginLimitAccount.String() != "10/min" || cfg.LoginLimitIP.String() != "50/min" || cfg.SignupLimitIP.String() != "20/h" || len(cfg.TrustedProxies) != 0 {
		t.Errorf("defaults: account %s, ip %s, signup %s, proxies %v; want 10/min, 50/min, 20/h, none",
			cfg.LoginLimitAccount, cfg.LoginLimitIP, cfg.SignupLimitIP, cfg.TrustedProxies)
	}
	cfg, err = loadConfig(envFrom(map[string]string{
		"SHOP_LOGIN_LIMIT_ACCOUNT": "5/30s", "SHOP_LOGIN_LIMIT_IP": "off", "SHOP_SIGNUP_LIMIT_IP": "3/day",
		"SHOP_TRUSTED_PROXIES": "10.0.0.0/16, 192.0.2.7,2001:db8::/32",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LoginLimitAccount.String() != "5/30s" || !cfg.LoginLimitIP.Off() || cfg.SignupLimitIP.String() != "3/day" ||
		fmt.Sprint(cfg.TrustedProxies) != "[10.0.0.0/16 192.0.2.7/32 2001:db8::/32]" {
		t.Errorf("set: account %s, ip %s, signup %s, proxies %v", cfg.LoginLimitAccount, cfg.LoginLimitIP, cfg.SignupLimitIP, cfg.TrustedProxies)
	}
	for name, value := range map[string]string{
		"SHOP_LOGIN_LIMIT_ACCOUNT": "10", "SHOP_LOGIN_LIMIT_IP": "lots/min", "SHOP_SIGNUP_LIMIT_IP": "5/fortnight",
		"SHOP_TRUSTED_PROXIES": "10.0.0.0/16,load-balancer",
	} {
		_, err := loadConfig(envFrom(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name+": want") {
			t.Errorf("%s=%q: error %v, want one naming %s", name, value, err, name)
		}
	}
}

// TestRunLimitsSignIn: the served shop limits sign-in attempts per account as configured.
func TestRunLimitsSignIn(t *testing.T) {
	base := startShop(t, map[string]string{
		"SHOP_DATABASE_URL": testenv.SeededDBURL(t), "SHOP_REDIS_URL": testenv.RedisURL(), "SHOP_SEED": "false",
		"SHOP_LOGIN_LIMIT_ACCOUNT": "2/min",
	})
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/register", url.Values{"email": {"ruth@example.com"}, "name": {"Ruth"}, "password": {"a fine long password"}}); r.StatusCode != 303 {
		t.Fatalf("register = %d, want 303", r.StatusCode)
	}
	wrong := url.Values{"email": {"ruth@example.com"}, "password": {"not her password"}}
	for i := range 2 {
		if r := post("/login", wrong); r.StatusCode != 422 {
			t.Fatalf("wrong password %d = %d, want 422", i+1, r.StatusCode)
		}
	}
	if r := post("/login", wrong); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("3rd wrong password = %d with Retry-After %q, want 429 with one", r.StatusCode, r.Header.Get("Retry-After"))
	}
}
