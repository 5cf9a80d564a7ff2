package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMixDraw(t *testing.T) {
	m := Mix{Browse: 1, Search: 0, Product: 3, SignIn: 0, CartAdd: 0, Checkout: 0}
	rnd := rand.New(rand.NewPCG(1, 1))
	const n = 40_000
	got := map[Kind]int{}
	for range n {
		got[m.draw(rnd)]++
	}
	if len(got) != 2 {
		t.Fatalf("drew %v, want only browse and product (the others weigh 0)", got)
	}
	if want := n / 4.0; math.Abs(float64(got[Browse])-want) > 5*math.Sqrt(want) {
		t.Errorf("browse drawn %d times in %d, want about %.0f", got[Browse], n, want)
	}
}

func TestMixValidate(t *testing.T) {
	for _, m := range []Mix{{}, {Browse: -1, Product: 1}, {Product: math.NaN()}, {Product: math.Inf(1)}} {
		if m.Validate() == nil {
			t.Errorf("Mix %+v: valid, want an error", m)
		}
	}
	if err := DefaultMix.Validate(); err != nil {
		t.Errorf("DefaultMix: %v", err)
	}
}
