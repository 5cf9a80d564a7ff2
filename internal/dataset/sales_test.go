package dataset

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"
)

// TestRetailSales checks the counts against products.csv's order_lines and units_sold
// columns, which were derived from the same history by another program (see
// data/online-retail/README.md).
func TestRetailSales(t *testing.T) {
	sales, err := RetailSales()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("data/online-retail/products.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	recs = recs[1:]
	if len(sales) != len(recs) {
		t.Fatalf("RetailSales: %d products, products.csv has %d", len(sales), len(recs))
	}
	withSales, missed := 0, 0
	for i, rec := range recs {
		s := sales[i]
		lines, _ := strconv.Atoi(rec[col["order_lines"]])
		units, _ := strconv.Atoi(rec[col["units_sold"]])
		if s.ID != int64(i+1) || s.SKU != rec[col["stock_code"]] {
			t.Fatalf("row %d: got id %d sku %s, want id %d sku %s", i+1, s.ID, s.SKU, i+1, rec[col["stock_code"]])
		}
		// The only difference allowed: the four lines priced £0.001, which count as sales
		// in the file (price > 0) and round to 0p here, all on non-merchandise codes.
		if s.Lines != lines || s.Units != units {
			if s.Merchandise || lines-s.Lines != units-s.Units || s.Lines > lines {
				t.Errorf("row %d (%s): %d lines, %d units; products.csv says %d and %d", i+1, s.SKU, s.Lines, s.Units, lines, units)
			}
			missed += lines - s.Lines
		}
		if s.Lines > 0 {
			withSales++
		}
	}
	if missed > 4 {
		t.Errorf("%d sale lines not counted, want at most the 4 priced £0.001", missed)
	}
	if withSales < 3900 { // the README: 3,922 codes have sales, one of them only at £0.001
		t.Errorf("%d products with sales, want about 3,922", withSales)
	}
}
