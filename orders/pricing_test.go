package orders

import "testing"

func TestDeliveryCharge(t *testing.T) {
	for _, c := range []struct{ lines, want int64 }{
		{0, 0}, {1, DeliveryFee}, {4999, DeliveryFee}, {5000, 0}, {123456, 0},
	} {
		if got := DeliveryCharge(c.lines); got != c.want {
			t.Errorf("DeliveryCharge(%d) = %d, want %d", c.lines, got, c.want)
		}
	}
}

func TestVATIncluded(t *testing.T) {
	// 20 % included is one sixth of the gross, rounded to the nearest penny, halves up.
	for _, c := range []struct{ gross, want int64 }{
		{0, 0}, {600, 100}, {1200, 200}, {495, 83}, {3, 1}, {2, 0}, {9, 2}, {1000, 167}, {5495, 916},
	} {
		if got := VATIncluded(c.gross); got != c.want {
			t.Errorf("VATIncluded(%d) = %d, want %d", c.gross, got, c.want)
		}
	}
}
