package money

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{295, "GBP", "£2.95"}, {5, "USD", "$0.05"}, {-1106206, "GBP", "-£11,062.06"},
		{0, "EUR", "€0.00"}, {123456, "CHF", "CHF 1,234.56"}, {100000000, "GBP", "£1,000,000.00"}, {99999, "USD", "$999.99"},
	}
	for _, tt := range tests {
		if got := Format(tt.minor, tt.currency); got != tt.want {
			t.Errorf("Format(%d, %q) = %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}
