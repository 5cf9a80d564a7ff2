package loadgen

import (
	"fmt"
	"math/rand/v2"
)

// Kind names one kind of request the shoppers make; it is how results are grouped.
type Kind string

// The kinds of request, in the order reports list them.
const (
	Browse   Kind = "browse"   // GET /products?page=N: the listing, page 1 most often
	Search   Kind = "search"   // GET /search?q=WORD: a word of a product's name
	Product  Kind = "product"  // GET /products/{id}: a product page, id drawn by popularity
	SignIn   Kind = "signin"   // POST /login: a load shopper signs in (a new session)
	CartAdd  Kind = "cart"     // POST /cart/items: a signed-in shopper adds one of a product
	CartView Kind = "cartview" // GET /cart: a shopper with a full cart looks at it before paying
	Checkout Kind = "checkout" // POST /checkout: a shopper who has seen the cart places the order
)

// Kinds lists every Kind in report order.
var Kinds = []Kind{Browse, Search, Product, SignIn, CartAdd, CartView, Checkout}

// Mix is the relative weight of each step a shopper takes; only ratios matter. A checkout
// step is two requests on the same shopper's turns: first the cart page (CartView, where the
// form's checkout key and cart digest are), then the order (Checkout); a checkout step when
// no shopper has anything in the cart adds to a cart instead.
type Mix struct {
	Browse, Search, Product, SignIn, CartAdd, Checkout float64
}

// DefaultMix is a storefront where most visits read: product pages lead, then listings and
// search; a few shoppers sign in, fill carts and pay. (A rough funnel, not a measured one.)
var DefaultMix = Mix{Browse: 25, Search: 15, Product: 45, SignIn: 3, CartAdd: 8, Checkout: 4}

func (m Mix) weights() []float64 {
	return []float64{m.Browse, m.Search, m.Product, m.SignIn, m.CartAdd, m.Checkout}
}

var mixKinds = []Kind{Browse, Search, Product, SignIn, CartAdd, Checkout}

// Validate returns an error unless every weight is ≥ 0 and finite and one is > 0.
func (m Mix) Validate() error {
	sum := 0.0
	for i, w := range m.weights() {
		if !(w >= 0) || w > 1e9 {
			return fmt.Errorf("mix weight %s = %v: want a number ≥ 0", mixKinds[i], w)
		}
		sum += w
	}
	if sum == 0 {
		return fmt.Errorf("mix: every weight is 0")
	}
	return nil
}

// Map returns the weights by kind, for reports.
func (m Mix) Map() map[Kind]float64 {
	out := map[Kind]float64{}
	for i, w := range m.weights() {
		out[mixKinds[i]] = w
	}
	return out
}

// draw returns the kind of the next step (Checkout standing for the checkout step).
func (m Mix) draw(rnd *rand.Rand) Kind {
	w := m.weights()
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	u := rnd.Float64() * sum
	last := 0
	for i, x := range w {
		if x == 0 {
			continue
		}
		if u < x {
			return mixKinds[i]
		}
		u, last = u-x, i
	}
	return mixKinds[last] // rounding: the last kind with a weight
}
