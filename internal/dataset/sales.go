package dataset

import "strings"

// ProductSales is one product of the online-retail catalogue with what its order history
// sold of it.
type ProductSales struct {
	// ID is the product's id in a database that the online-retail data set was seeded into
	// first (the default of shop serve and shop seed): products are inserted in
	// products.csv's order, so the n-th row gets id n.
	ID          int64
	SKU         string
	Name        string
	Merchandise bool // listed and for sale (the package doc's rule)
	// Lines counts sale lines: not on a cancellation ("C…" invoice), quantity > 0, unit
	// price ≥ 1p (the four lines priced £0.001, all on fee codes, round to 0 and are not
	// counted).
	Lines int
	Units int // units on those lines
}

// RetailSales reads the online-retail order history (541,909 lines) and returns every product
// of products.csv in its file order, with its sale lines and units counted from the order
// lines. It takes about a second: it reads the whole embedded history.
func RetailSales() ([]ProductSales, error) {
	rows, err := readRetailProducts()
	if err != nil {
		return nil, err
	}
	_, lines, err := readRetailOrders()
	if err != nil {
		return nil, err
	}
	out := make([]ProductSales, len(rows))
	index := make(map[string]int, len(rows))
	for i, r := range rows {
		out[i] = ProductSales{ID: int64(i + 1), SKU: r.sku, Name: r.name, Merchandise: r.merchandise}
		index[r.sku] = i
	}
	for _, l := range lines {
		if strings.HasPrefix(l.invoiceNo, "C") || l.quantity <= 0 || l.unitPrice <= 0 {
			continue
		}
		if i, ok := index[l.sku]; ok {
			out[i].Lines++
			out[i].Units += l.quantity
		}
	}
	return out, nil
}
