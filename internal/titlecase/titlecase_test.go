package titlecase_test

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/shopcache/shop/internal/titlecase"
)

func TestNameOnExamples(t *testing.T) {
	for in, want := range map[string]string{
		"WHITE HANGING HEART T-LIGHT HOLDER": "White Hanging Heart T-Light Holder",
		"S/4 VALENTINE DECOUPAGE HEART BOX":  "S/4 Valentine Decoupage Heart Box",
		"SET/6 PINK  BUTTERFLY T-LIGHTS":     "Set/6 Pink Butterfly T-Lights",
		"PACK OF 12 50'S CHRISTMAS TISSUES":  "Pack of 12 50's Christmas Tissues",
		"RED TOADSTOOL LED NIGHT LIGHT":      "Red Toadstool LED Night Light",
		"SET OF 6 3D KIT CARDS FOR KIDS":     "Set of 6 3D Kit Cards for Kids",
		"PLAYING CARDS KEEP CALM & CARRY ON": "Playing Cards Keep Calm & Carry On",
		"LUNCH BAG  BLACK SKULL.":            "Lunch Bag Black Skull",
		"MOTHER'S KITCHEN SPOON REST":        "Mother's Kitchen Spoon Rest",
		"BAG 125g SWIRLY MARBLES":            "Bag 125g Swirly Marbles",
		"POLYESTER FILLER PAD 40x40cm":       "Polyester Filler Pad 40x40cm",
		"SET 3 RETROSPOT TEA,COFFEE,SUGAR":   "Set 3 Retrospot Tea,Coffee,Sugar",
		"3 TRADITIONAl BISCUIT CUTTERS  SET": "3 Traditional Biscuit Cutters Set",
		"RETROSPOT TEA SET CERAMIC 11 PC":    "Retrospot Tea Set Ceramic 11 PC",
		"Dr. Jam's Arouzer Stress Ball":      "Dr. Jam's Arouzer Stress Ball",
		"Essence Mascara Lash Princess":      "Essence Mascara Lash Princess",
		"PINK":                               "Pink",
		"OF":                                 "Of",
		"Fish &amp; Chips &trade;":           "Fish & Chips ™",
		"CHARLIE+LOLA PINK HOT WATER BOTTLE": "Charlie+Lola Pink Hot Water Bottle",
		"":                                   "",
	} {
		if got := titlecase.Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNameOnTheRealNames runs over every name of the default data set: the result is the
// source text but for letter case and white space (nothing added, dropped or reordered but
// trailing dots and commas), no shouted word is left unless it is kept, and sizes and codes
// are untouched.
func TestNameOnTheRealNames(t *testing.T) {
	f, err := os.Open("../dataset/data/online-retail/products.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 4000 {
		t.Fatalf("%d rows, want the 4,070 products", len(rows))
	}
	squash := func(s string) string {
		return strings.ToLower(strings.Join(strings.Fields(strings.TrimRight(s, " .,")), " "))
	}
	for _, row := range rows[1:] {
		name := row[1]
		got := titlecase.Name(name)
		if squash(got) != squash(name) {
			t.Errorf("Name(%q) = %q: more than the case changed", name, got)
		}
		for _, w := range strings.FieldsFunc(got, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
			letters, upper := 0, 0
			for _, r := range w {
				if unicode.IsLetter(r) {
					letters++
				}
				if unicode.IsUpper(r) {
					upper++
				}
			}
			if letters >= 2 && upper == letters && !unicode.IsDigit([]rune(w)[0]) && !titlecase.Kept[w] {
				t.Errorf("Name(%q) = %q: %q is still shouted", name, got, w)
			}
		}
	}
	for _, code := range []string{"T-Light", "S/4", "12", "LED", "3D", "Set/6"} {
		found := false
		for _, row := range rows[1:] {
			if strings.Contains(" "+titlecase.Name(row[1])+" ", " "+code+" ") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no real name shows %q", code)
		}
	}
}
