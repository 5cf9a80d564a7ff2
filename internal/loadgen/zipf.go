package loadgen

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shopcache/shop/internal/dataset"
)

// Fit is a Zipf law fitted to frequencies ranked from the highest: f(r) ≈ C·r^(−S).
type Fit struct {
	S        float64 `json:"s"`        // the exponent
	C        float64 `json:"c"`        // the fitted frequency of rank 1
	Ranks    int     `json:"ranks"`    // the fit used ranks 1..Ranks
	Residual float64 `json:"residual"` // root mean square of ln f(r) − ln(C·r^(−S)) over those ranks
}

// FitZipf fits a Zipf law to freqs (sorted from the highest, every one > 0) by ordinary
// least squares of ln f on ln r over ranks 1..len(freqs). It panics on fewer than two.
func FitZipf(freqs []float64) Fit {
	n := float64(len(freqs))
	if len(freqs) < 2 {
		panic("loadgen: FitZipf needs at least two frequencies")
	}
	var sx, sy, sxx, sxy float64
	for i, f := range freqs {
		x, y := math.Log(float64(i+1)), math.Log(f)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	icept := (sy - slope*sx) / n
	var ss float64
	for i, f := range freqs {
		d := math.Log(f) - (icept + slope*math.Log(float64(i+1)))
		ss += d * d
	}
	return Fit{S: -slope, C: math.Exp(icept), Ranks: len(freqs), Residual: math.Sqrt(ss / n)}
}

// headShare is the share of the real sale lines that the fit's ranks carry.
const headShare = 0.9

// Popularity says which products shoppers look at, and how often: the products of the
// online-retail data set that are for sale and sold at least once, ranked by the sale lines
// of the real order history (dataset.RetailSales), rank r drawn with probability
// ∝ r^(−S) (a Zipf law).
//
// S is fitted by least squares on ln(rank)/ln(sale lines) over the products that carry 90 %
// of the sale lines. On the real history that is s ≈ 0.65 over the top 1,813 of 3,900
// products, with a root-mean-square residual of 0.18 in ln units (±20 %). Beyond those
// ranks the real tail falls faster than any power law (products sold a handful of times),
// and one exponent fitted to all ranks (≈ 1.4, residual 0.95) would describe neither part.
// With s ≈ 0.65 over every rank, the top 10 products draw about 8 % of product views (3.2 %
// of real sale lines), the top 100 24 % (18.8 %), the top 1,000 60 % (72 %).
// (TestRetailPopularity recomputes these from the data.)
type Popularity struct {
	Fit   Fit
	IDs   []int64  // product ids by rank, rank 1 first
	Names []string // their names, same order
	Lines []int    // their real sale lines, same order
	cdf   []float64
}

// RetailPopularity builds the Popularity of the online-retail order history.
func RetailPopularity() (*Popularity, error) {
	sales, err := dataset.RetailSales()
	if err != nil {
		return nil, fmt.Errorf("loadgen: product popularity: %w", err)
	}
	sales = slices.DeleteFunc(sales, func(s dataset.ProductSales) bool { return !s.Merchandise || s.Lines == 0 })
	slices.SortStableFunc(sales, func(a, b dataset.ProductSales) int { return cmp.Compare(b.Lines, a.Lines) })
	p := &Popularity{}
	total := 0
	for _, s := range sales {
		p.IDs, p.Names, p.Lines = append(p.IDs, s.ID), append(p.Names, s.Name), append(p.Lines, s.Lines)
		total += s.Lines
	}
	var head []float64
	for i, acc := 0, 0; i < len(sales) && float64(acc) < headShare*float64(total); i++ {
		acc += sales[i].Lines
		head = append(head, float64(sales[i].Lines))
	}
	if len(head) < 2 {
		return nil, fmt.Errorf("loadgen: product popularity: %d products with sales", len(sales))
	}
	p.Fit = FitZipf(head)
	p.cdf = zipfCDF(len(p.IDs), p.Fit.S)
	return p, nil
}

// zipfCDF returns the cumulative probabilities of ranks 1..n under a Zipf law of exponent s.
func zipfCDF(n int, s float64) []float64 {
	cdf := make([]float64, n)
	acc := 0.0
	for r := range n {
		acc += math.Pow(float64(r+1), -s)
		cdf[r] = acc
	}
	for r := range cdf {
		cdf[r] /= acc
	}
	return cdf
}

// Prob returns the probability of the product of the given rank (from 1).
func (p *Popularity) Prob(rank int) float64 {
	if rank == 1 {
		return p.cdf[0]
	}
	return p.cdf[rank-1] - p.cdf[rank-2]
}

// Draw returns a rank from 1 to len(p.IDs), drawn with the fitted Zipf law.
func (p *Popularity) Draw(rnd *rand.Rand) int {
	u := rnd.Float64()
	i, _ := slices.BinarySearch(p.cdf, u)
	return min(i, len(p.cdf)-1) + 1
}
