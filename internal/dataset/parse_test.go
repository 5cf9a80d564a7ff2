package dataset

import "testing"

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"2.55", 255}, {"0.001", 0}, {"0.005", 1}, {"3", 300}, {"1.5", 150}, {"-11062.06", -1106206},
		{"0.42", 42}, {".5", 50}, {"0.999", 100},
	}
	for _, tt := range tests {
		got, err := parseMinor(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseMinor(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "-", "abc", "1.2x", "1e5", "99999999999999999999"} {
		if got, err := parseMinor(bad); err == nil {
			t.Errorf("parseMinor(%q) = %d, want an error", bad, got)
		}
	}
}
