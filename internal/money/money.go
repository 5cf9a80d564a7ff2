// Package money formats amounts held in minor units (pence, cents) for people to read.
package money

import (
	"fmt"
	"strconv"
)

// symbols are shown before an amount; other currencies are shown by code, "CHF 1.00".
var symbols = map[string]string{"GBP": "£", "USD": "$", "EUR": "€"}

// Format formats an amount in minor units of currency (ISO 4217), with thousands separators,
// e.g. Format(295, "GBP") = "£2.95", Format(123456789, "USD") = "$1,234,567.89". Every currency is shown with two decimals: ISO 4217 gives GBP, USD and EUR an
// exponent of 2, and the shop's data sets hold no other currency.
func Format(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	whole := strconv.FormatInt(minor/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	amount := fmt.Sprintf("%s.%02d", whole, minor%100)
	if sym, ok := symbols[currency]; ok {
		return sign + sym + amount
	}
	return sign + currency + " " + amount
}
