package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFitZipfExact(t *testing.T) {
	// Frequencies that follow a Zipf law exactly give back its exponent with no residual.
	var f []float64
	for r := 1; r <= 500; r++ {
		f = append(f, 1000*math.Pow(float64(r), -0.8))
	}
	fit := FitZipf(f)
	if math.Abs(fit.S-0.8) > 1e-9 || math.Abs(fit.C-1000) > 1e-6 || fit.Residual > 1e-9 || fit.Ranks != 500 {
		t.Errorf("FitZipf(1000·r^-0.8) = %+v, want s 0.8, c 1000, residual 0", fit)
	}
}

// TestRetailPopularity fits the real history and checks the fit against the data, not
// against a number written down: rank 1 is the most sold product, the ranks fitted carry
// 90 % of sale lines, the fitted line stays close to them, and draws follow the law.
func TestRetailPopularity(t *testing.T) {
	p, err := RetailPopularity()
	if err != nil {
		t.Fatal(err)
	}
	total, most, mostID := 0, 0, int64(0)
	for i, l := range p.Lines {
		total += l
		if l > most {
			most, mostID = l, p.IDs[i]
		}
		if i > 0 && l > p.Lines[i-1] {
			t.Fatalf("rank %d has %d lines, more than rank %d (%d)", i+1, l, i, p.Lines[i-1])
		}
	}
	if p.IDs[0] != mostID || p.Lines[0] != most {
		t.Errorf("rank 1 is product %d (%d lines), want the most sold, %d (%d lines)", p.IDs[0], p.Lines[0], mostID, most)
	}
	head := 0
	for _, l := range p.Lines[:p.Fit.Ranks] {
		head += l
	}
	if share := float64(head) / float64(total); share < headShare || float64(head-p.Lines[p.Fit.Ranks-1]) >= headShare*float64(total) {
		t.Errorf("fit over %d ranks carrying %.3f of lines, want the fewest carrying %.2f", p.Fit.Ranks, share, headShare)
	}
	// The fitted line: within a factor e^0.25 (±28 %) of the real counts on average, and
	// an exponent that makes popularity fall with rank but flatter than the whole-range fit.
	if p.Fit.Residual > 0.25 || p.Fit.S <= 0.3 || p.Fit.S >= 1.2 {
		t.Errorf("fit %+v: want 0.3 < s < 1.2 and residual ≤ 0.25", p.Fit)
	}
	var all []float64
	for _, l := range p.Lines {
		all = append(all, float64(l))
	}
	if whole := FitZipf(all); whole.Residual <= p.Fit.Residual {
		t.Errorf("whole-range residual %.3f ≤ head residual %.3f: the head fit buys nothing", whole.Residual, p.Fit.Residual)
	}
	t.Logf("fit %+v over %d products (%d lines)", p.Fit, len(p.IDs), total)

	// Draws: rank 1 about as often as the law says, and more often than any other rank.
	rnd := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	counts := make([]int, len(p.IDs)+1)
	for range n {
		counts[p.Draw(rnd)]++
	}
	if counts[0] != 0 {
		t.Fatalf("rank 0 drawn %d times", counts[0])
	}
	for _, r := range []int{1, 2, 10, 100} {
		want := p.Prob(r) * n
		if d := math.Abs(float64(counts[r]) - want); d > 5*math.Sqrt(want) {
			t.Errorf("rank %d drawn %d times in %d, want %.0f ± %.0f", r, counts[r], n, want, 5*math.Sqrt(want))
		}
	}
	for r := 2; r < len(counts); r++ {
		if counts[r] >= counts[1] {
			t.Errorf("rank %d drawn %d times, at least as often as rank 1 (%d)", r, counts[r], counts[1])
		}
	}
	sum := 0.0
	for r := 1; r <= len(p.IDs); r++ {
		sum += p.Prob(r)
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v", sum)
	}
}
