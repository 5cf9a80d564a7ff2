package orders

// The money rules of a checkout, in minor units of the order's currency. The shop sells
// from the UK and its prices include VAT, so the review page and the order show the VAT
// included rather than adding it.
const (
	// DeliveryFee is the delivery charge of an order whose lines total less than
	// FreeDeliveryFrom: 4.95 (pence, or cents for the USD data set), VAT included.
	DeliveryFee = 495
	// FreeDeliveryFrom is the lines' total from which delivery is free: 50.00.
	FreeDeliveryFrom = 5000
	// VATRatePercent is the UK standard rate of VAT, 20 % since 4 January 2011 (VAT Act
	// 1994 s. 2(1) as amended by the Finance (No. 2) Act 2010; HMRC, "VAT rates",
	// https://www.gov.uk/vat-rates). The shop's goods and its delivery are standard-rated.
	VATRatePercent = 20
)

// DeliveryCharge is the delivery charge of an order whose lines total linesTotal minor
// units: DeliveryFee below FreeDeliveryFrom, nothing from it on, nothing for no lines.
func DeliveryCharge(linesTotal int64) int64 {
	if linesTotal <= 0 || linesTotal >= FreeDeliveryFrom {
		return 0
	}
	return DeliveryFee
}

// VATIncluded is the VAT contained in a VAT-inclusive amount gross (minor units) at
// VATRatePercent: gross × rate / (100 + rate) — the "VAT fraction", 1/6 at 20 % (HMRC VAT
// Notice 700, section 4) — rounded to the nearest minor unit, halves up (Notice 700,
// section 17.5 allows rounding the invoice total to the nearest penny).
func VATIncluded(gross int64) int64 {
	if gross <= 0 {
		return 0
	}
	num, den := gross*VATRatePercent, int64(100+VATRatePercent)
	return (2*num + den) / (2 * den)
}
