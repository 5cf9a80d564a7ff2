package dataset

import (
	"sort"
	"testing"
)

// TestCategoriesOfTheRealNames places every listed product of the default data set in one
// category, keeps "other" under 8 % of them, and checks well-known products land where a
// shopper looks for them.
func TestCategoriesOfTheRealNames(t *testing.T) {
	rows, err := readRetailProducts()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	listed := 0
	var others []string
	for _, r := range rows {
		if !r.merchandise {
			continue
		}
		listed++
		if r.category == "" {
			t.Fatalf("%s %q has no category", r.sku, r.name)
		}
		counts[r.category]++
		if r.category == Other {
			others = append(others, r.name)
		}
	}
	var names []string
	for c := range counts {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		t.Logf("%-22s %4d", c, counts[c])
	}
	if len(counts) < 10 {
		t.Errorf("%d categories, want at least 10", len(counts))
	}
	if max := listed * 8 / 100; counts[Other] > max {
		t.Errorf("%d of %d products are %q, want at most %d; e.g. %q", counts[Other], listed, Other, max, others[:min(40, len(others))])
	}
	for name, want := range map[string]string{
		"WHITE HANGING HEART T-LIGHT HOLDER": "candles and lights",
		"JUMBO BAG RED RETROSPOT":            "bags",
		"LUNCH BAG RED RETROSPOT":            "bags",
		"REGENCY CAKESTAND 3 TIER":           "kitchen and dining",
		"PAPER CHAIN KIT 50'S CHRISTMAS":     "christmas",
		"PLEASE ONE PERSON METAL SIGN":       "signs",
		"GARDENERS KNEELING PAD KEEP CALM":   "garden",
		"SPACEBOY LUNCH BOX":                 "kitchen and dining",
		"VINTAGE SNAP CARDS":                 "toys and games",
		"WOODEN PICTURE FRAME WHITE FINISH":  "home decor",
		"SET OF 4 KNICK KNACK TINS DOILY":    "kitchen and dining",
		"PINK DRAWER KNOB ACRYLIC EDWARDIAN": "home decor",
		"DIAMANTE NECKLACE":                  "jewellery",
		"PACK OF 12 PINK PAISLEY TISSUES":    "home decor",
		"60 CAKE CASES VINTAGE CHRISTMAS":    "christmas",
		"SKETCHBOOK MAGNETIC SHOPPING LIST":  "stationery and cards",
	} {
		if got := Categorize(name); got != want {
			t.Errorf("Categorize(%q) = %q, want %q", name, got, want)
		}
	}
}
