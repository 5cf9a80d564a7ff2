package main

import (
	"strings"
	"testing"
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
