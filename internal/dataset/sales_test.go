package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRetailSales counts every product's sale lines and units again from the order
// history's 541,909 lines, with code of its own, and compares them with RetailSales.
func TestRetailSales(t *testing.T) {
	f, err := os.Open("data/online-retail/online_retail.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bufio.NewReaderSize(gz, 1<<16))
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil { // InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
		t.Fatal(err)
	}
	lines, units := map[string]int{}, map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		q, _ := strconv.Atoi(rec[3])
		price, _ := strconv.ParseFloat(rec[5], 64)
		if strings.HasPrefix(rec[0], "C") || q <= 0 || price <= 0 {
			continue
		}
		lines[rec[1]]++
		units[rec[1]] += q
	}

	sales, err := RetailSales()
	if err != nil {
		t.Fatal(err)
	}
	if len(sales) != 4070 {
		t.Fatalf("RetailSales: %d products, want the 4,070 stock codes", len(sales))
	}
	withSales := 0
	for i, s := range sales {
		if s.ID != int64(i+1) {
			t.Fatalf("row %d has id %d", i+1, s.ID)
		}
		if s.Lines != lines[s.SKU] || s.Units != units[s.SKU] {
			t.Errorf("%s: %d lines, %d units; the history has %d and %d", s.SKU, s.Lines, s.Units, lines[s.SKU], units[s.SKU])
		}
		if s.Lines > 0 {
			withSales++
		}
	}
	if withSales != len(lines) {
		t.Errorf("%d products with sales, the history has %d", withSales, len(lines))
	}
}
