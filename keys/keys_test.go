package keys_test

import (
	"testing"

	"github.com/shopcache/shop/keys"
)

// TestProductListKeys: the plain listing keeps the key it always had, and every sort, price
// range and category has a key of its own.
func TestProductListKeys(t *testing.T) {
	if got := keys.ProductList(keys.Listing{}, 1); got != "list:products::1" {
		t.Errorf("plain listing key = %q, want list:products::1", got)
	}
	if got := keys.ProductList(keys.Listing{Category: "home decor"}, 3); got != "list:products:home+decor:3" {
		t.Errorf("category key = %q", got)
	}
	listings := []keys.Listing{
		{}, {Sort: "price_asc"}, {Sort: "price_desc"}, {MinPrice: 500}, {MaxPrice: 500},
		{MinPrice: 500, MaxPrice: 1000}, {Sort: "price_asc", MinPrice: 500}, {Category: "garden"},
		{Category: "garden", Sort: "name"}, {Category: "a:1", Sort: "b"}, {Category: "a", Sort: "1:b"},
	}
	seen := map[string]keys.Listing{}
	for _, l := range listings {
		for page := 1; page <= 2; page++ {
			k := keys.ProductList(l, page)
			if other, dup := seen[k]; dup {
				t.Errorf("%+v and %+v share the key %q", l, other, k)
			}
			seen[k] = l
		}
	}
}
