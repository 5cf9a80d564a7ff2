package dataset

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopcache/shop/internal/richtext"
)

const (
	retailProductsFile = "data/online-retail/products.csv"
	retailOrdersFile   = "data/online-retail/online_retail.csv.gz"
)

func loadOnlineRetailProducts(ctx context.Context, tx pgx.Tx, progress io.Writer) (Result, error) {
	rows, err := readRetailProducts()
	if err != nil {
		return Result{}, err
	}
	_, inserted, err := insertProducts(ctx, tx, rows)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(progress, "online-retail: %d products, %d new\n", len(rows), inserted)
	return Result{Products: len(rows), ProductsInserted: inserted}, nil
}

func loadOnlineRetailWithOrders(ctx context.Context, tx pgx.Tx, progress io.Writer) (Result, error) {
	products, err := readRetailProducts()
	if err != nil {
		return Result{}, err
	}
	ids, inserted, err := insertProducts(ctx, tx, products)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(progress, "online-retail: %d products, %d new\n", len(products), inserted)
	res := Result{Products: len(products), ProductsInserted: inserted}

	fmt.Fprintf(progress, "online-retail: reading %s\n", retailOrdersFile)
	invoices, lines, err := readRetailOrders()
	if err != nil {
		return Result{}, err
	}
	res.Orders, res.OrderLines = len(invoices), len(lines)

	var imported bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE invoice_no IS NOT NULL)`).Scan(&imported)
	if err != nil {
		return Result{}, err
	}
	if imported {
		fmt.Fprintf(progress, "online-retail: order history already imported, nothing to do\n")
		return res, nil
	}

	fmt.Fprintf(progress, "online-retail: copying %d invoices\n", len(invoices))
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"orders"},
		[]string{"invoice_no", "kind", "customer_ref", "country", "created_at"},
		pgx.CopyFromSlice(len(invoices), func(i int) ([]any, error) {
			o := invoices[i]
			return []any{o.invoiceNo, o.kind, o.customerRef, o.country, o.createdAt}, nil
		}))
	if err != nil {
		return Result{}, fmt.Errorf("copy orders: %w", err)
	}
	orderIDs := make(map[string]int64, len(invoices))
	dbRows, _ := tx.Query(ctx, `SELECT invoice_no, id FROM orders WHERE invoice_no IS NOT NULL`)
	var invoiceNo string
	var id int64
	if _, err := pgx.ForEachRow(dbRows, []any{&invoiceNo, &id}, func() error { orderIDs[invoiceNo] = id; return nil }); err != nil {
		return Result{}, fmt.Errorf("read order ids: %w", err)
	}

	fmt.Fprintf(progress, "online-retail: copying %d order lines\n", len(lines))
	i := -1
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"order_items"},
		[]string{"order_id", "line_no", "product_id", "quantity", "unit_price"},
		pgx.CopyFromFunc(func() ([]any, error) {
			i++
			if i == len(lines) {
				return nil, nil
			}
			l := lines[i]
			if i > 0 && i%100_000 == 0 {
				fmt.Fprintf(progress, "online-retail: %d order lines\n", i)
			}
			productID, ok := ids[l.sku]
			if !ok {
				return nil, fmt.Errorf("order line %d: stock code %q is not in %s", i+1, l.sku, retailProductsFile)
			}
			return []any{orderIDs[l.invoiceNo], l.lineNo, productID, l.quantity, l.unitPrice}, nil
		}))
	if err != nil {
		return Result{}, fmt.Errorf("copy order lines: %w", err)
	}
	res.OrdersInserted, res.OrderLinesInserted = len(invoices), int(n)
	return res, nil
}

// readRetailProducts reads products.csv; see the package doc for the rules it applies.
func readRetailProducts() ([]productRow, error) {
	f, err := files.Open(retailProductsFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", retailProductsFile, err)
	}
	col, err := columns(header, "stock_code", "name", "price_gbp", "is_merchandise",
		"customers", "units_sold", "first_sold", "last_sold", "order_lines")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", retailProductsFile, err)
	}
	var rows []productRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", retailProductsFile, err)
		}
		line, _ := r.FieldPos(0)
		get := func(name string) string { return rec[col[name]] }
		p := productRow{sku: get("stock_code"), name: richtext.PlainName(get("name")), currency: "GBP"}
		sold := get("price_gbp") != ""
		if sold {
			if p.price, err = parseMinor(get("price_gbp")); err != nil {
				return nil, fmt.Errorf("%s:%d: price_gbp: %w", retailProductsFile, line, err)
			}
		}
		if p.name == "" {
			p.name = p.sku
		}
		p.merchandise = get("is_merchandise") == "true" && sold && p.price > 0 && !NotMerchandise(p.name)
		units, err := strconv.Atoi(get("units_sold"))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: units_sold: %w", retailProductsFile, line, err)
		}
		if p.merchandise {
			p.stock = max(units/12, 10)
		}
		p.category = Categorize(p.name)
		if p.lines, err = strconv.Atoi(get("order_lines")); err != nil {
			return nil, fmt.Errorf("%s:%d: order_lines: %w", retailProductsFile, line, err)
		}
		p.units = units
		rows = append(rows, p)
	}
}

type retailInvoice struct {
	invoiceNo, kind, country string
	customerRef              *string
	createdAt                time.Time
}

type retailLine struct {
	invoiceNo, sku string
	lineNo         int
	quantity       int
	unitPrice      int64
}

// readRetailOrders reads online_retail.csv.gz into invoices, in order of first appearance,
// and lines, in file order.
func readRetailOrders() ([]retailInvoice, []retailLine, error) {
	f, err := files.Open(retailOrdersFile)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", retailOrdersFile, err)
	}
	r := csv.NewReader(bufio.NewReaderSize(gz, 1<<16))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", retailOrdersFile, err)
	}
	col, err := columns(header, "InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", retailOrdersFile, err)
	}
	var (
		invoices []retailInvoice
		lines    = make([]retailLine, 0, 541_909)
		index    = make(map[string]int, 26_000) // invoice number -> place in invoices
		lineNos  = make(map[string]int, 26_000)
	)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return invoices, lines, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", retailOrdersFile, err)
		}
		line, _ := r.FieldPos(0)
		fail := func(field string, err error) error {
			return fmt.Errorf("%s:%d: %s: %w", retailOrdersFile, line, field, err)
		}
		l := retailLine{invoiceNo: rec[col["InvoiceNo"]], sku: rec[col["StockCode"]]}
		if l.quantity, err = strconv.Atoi(rec[col["Quantity"]]); err != nil {
			return nil, nil, fail("Quantity", err)
		}
		if l.unitPrice, err = parseMinor(rec[col["UnitPrice"]]); err != nil {
			return nil, nil, fail("UnitPrice", err)
		}
		at, err := time.Parse(time.DateTime, rec[col["InvoiceDate"]])
		if err != nil {
			return nil, nil, fail("InvoiceDate", err)
		}
		i, seen := index[l.invoiceNo]
		if !seen {
			inv := retailInvoice{invoiceNo: l.invoiceNo, kind: "sale", country: rec[col["Country"]], createdAt: at}
			switch {
			case strings.HasPrefix(l.invoiceNo, "C"):
				inv.kind = "cancellation"
			case strings.HasPrefix(l.invoiceNo, "A"):
				inv.kind = "adjustment"
			}
			if c := rec[col["CustomerID"]]; c != "" {
				inv.customerRef = &c
			}
			i = len(invoices)
			index[l.invoiceNo] = i
			invoices = append(invoices, inv)
		}
		if at.Before(invoices[i].createdAt) {
			invoices[i].createdAt = at
		}
		lineNos[l.invoiceNo]++
		l.lineNo = lineNos[l.invoiceNo]
		lines = append(lines, l)
	}
}

// notMerchandiseNames are the names of the stock codes that products.csv marks as
// merchandise (their codes look like products') but that are services, fees or
// bookkeeping lines: found by reading every name of the real file.
var notMerchandiseNames = map[string]bool{
	"NEXT DAY CARRIAGE":     true, // 23444, £15: a delivery charge
	"PACKING CHARGE":        true, // 23574
	"HIGH RESOLUTION IMAGE": true, // 23702, a licence for a photo
}

// NotMerchandise reports whether a product name of the default data set names a service, fee,
// voucher or bookkeeping line rather than goods: postage, carriage, charges, fees, manual
// adjustments, samples, discounts, commissions and gift vouchers. Such products are never
// listed, searched or sold, whatever products.csv says.
func NotMerchandise(name string) bool {
	n := strings.ToUpper(strings.Join(strings.Fields(name), " "))
	if notMerchandiseNames[n] || strings.Contains(n, "GIFT VOUCHER") {
		return true
	}
	switch n {
	case "POSTAGE", "DOTCOM POSTAGE", "CARRIAGE", "MANUAL", "BANK CHARGES", "AMAZON FEE",
		"SAMPLES", "DISCOUNT", "ADJUST BAD DEBT", "CRUK COMMISSION", "ADJUSTMENT":
		return true
	}
	return false
}

// columns maps each wanted column name to its index in header.
func columns(header []string, want ...string) (map[string]int, error) {
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[h] = i
	}
	for _, w := range want {
		if _, ok := col[w]; !ok {
			return nil, fmt.Errorf("missing column %q", w)
		}
	}
	return col, nil
}

// parseMinor parses a decimal amount such as "2.55", "-11062.06" or "0.001" into minor units
// (hundredths), rounding half away from zero.
func parseMinor(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("amount %q: empty", s)
	}
	w, err := strconv.ParseInt("0"+whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q: not a decimal number", s)
		}
	}
	frac += "000"
	cents := int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	if frac[2] >= '5' {
		cents++
	}
	if w > (1<<62)/100 {
		return 0, fmt.Errorf("amount %q: too large", s)
	}
	minor := w*100 + cents
	if neg {
		minor = -minor
	}
	return minor, nil
}
