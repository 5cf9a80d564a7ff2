package dataset

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
	Lines       int  // sale lines: not on a cancellation ("C…" invoice), quantity > 0, unit price > 0
	Units       int  // units on those lines
}

// RetailSales returns every product of the online-retail data set in products.csv's order,
// with its sale lines and units in the order history (541,909 lines). The counts are the
// ones products.csv was built with (its order_lines and units_sold columns), so that
// reading them takes milliseconds, not the second the whole history takes; TestRetailSales
// counts them again from the history's lines and finds the same numbers.
func RetailSales() ([]ProductSales, error) {
	rows, err := readRetailProducts()
	if err != nil {
		return nil, err
	}
	out := make([]ProductSales, len(rows))
	for i, r := range rows {
		out[i] = ProductSales{ID: int64(i + 1), SKU: r.sku, Name: r.name, Merchandise: r.merchandise, Lines: r.lines, Units: r.units}
	}
	return out, nil
}
