package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/keys"
)

// idList is a cached listing: the ids of one page and the total count; the products
// themselves come from the product cache, so a listing never shows a stale price for
// longer than the product cache would.
type idList struct {
	IDs   []int64
	Units []int64 `json:",omitempty"` // bestsellers only: net units of each
	Total int
	// Search only: SearchResult's fields of the same names.
	Suggestion string `json:",omitempty"`
	Corrected  bool   `json:",omitempty"`
	CommonOnly bool   `json:",omitempty"`
}

// Cached is the catalog behind the caches: product pages cache-aside and write-through
// under product:{id}, listings cache-aside under list:… (cache "list"), all in Redis. It
// has the methods of Store that the pages use.
type Cached struct {
	store      *Store
	pages      *cache.Aside[ProductPage]
	lists      *cache.Aside[idList]
	home       *cache.Aside[idList]
	categories *cache.Aside[[]Category]
	boards     listsForgetter
	log        *slog.Logger
}

// listsForgetter drops computed lists that carry product names and prices (the
// leaderboard's bestseller lists), so that they are computed again after a product edit.
type listsForgetter interface {
	ForgetLists(ctx context.Context) error
}

// NewCached returns the cached catalog over store, with the TTLs of policy, and a near
// cache (l1) in front of Redis for product pages, the home page's lists, listings, searches
// and the categories (a listing is only ever dropped by its TTL, so its near copy adds at
// most the near cache's TTL to that; during a Redis outage it spares Postgres the listings). A product update
// also drops the cached lists of boards (the bestseller boards); nil for none.
func NewCached(store *Store, c *cache.Cache, policy cache.Policy, l1 cache.L1Options, boards listsForgetter, log *slog.Logger) *Cached {
	return &Cached{
		store: store,
		pages: cache.NewAside[ProductPage](c, "product", cache.AsideOptions{
			TTL: policy.Product, NegativeTTL: policy.Negative, NotFound: ErrNotFound,
			L1: l1, KeyPrefixes: []string{"product:"},
		}),
		lists: cache.NewAside[idList](c, "list", cache.AsideOptions{
			TTL: policy.List, NegativeTTL: policy.Negative, NotFound: ErrNotFound, KeyPrefixes: []string{"list:"},
			L1: l1,
		}),
		home: cache.NewAside[idList](c, "home", cache.AsideOptions{
			TTL: policy.Home, L1: l1, KeyPrefixes: []string{"home:"},
		}),
		categories: cache.NewAside[[]Category](c, "categories", cache.AsideOptions{TTL: policy.List, L1: l1}),
		boards:     boards,
		log:        log,
	}
}

// FindProductPage returns product id with its reviews, or ErrNotFound (remembered for the
// negative TTL).
func (c *Cached) FindProductPage(ctx context.Context, id int64) (ProductPage, error) {
	return c.pages.Get(ctx, keys.Product(id), func(ctx context.Context) (ProductPage, int64, error) {
		p, err := c.store.FindProductPage(ctx, id)
		return p, p.Product.Version, err
	})
}

// FindProduct returns the product with id, or ErrNotFound.
func (c *Cached) FindProduct(ctx context.Context, id int64) (Product, error) {
	page, err := c.FindProductPage(ctx, id)
	return page.Product, err
}

// FindProducts returns the products with the given ids, by id, reading them all from the
// product cache in one round trip and loading the misses in one query.
func (c *Cached) FindProducts(ctx context.Context, ids []int64) (map[int64]Product, error) {
	ks := make([]string, len(ids))
	for i, id := range ids {
		ks[i] = keys.Product(id)
	}
	pages, found, err := c.pages.GetMany(ctx, ks, func(ctx context.Context, missing []int) (map[int]cache.Versioned[ProductPage], error) {
		want := make([]int64, len(missing))
		for j, i := range missing {
			want[j] = ids[i]
		}
		loaded, err := c.store.FindProductPages(ctx, want)
		if err != nil {
			return nil, err
		}
		out := make(map[int]cache.Versioned[ProductPage], len(loaded))
		for _, i := range missing {
			if p, ok := loaded[ids[i]]; ok {
				out[i] = cache.Versioned[ProductPage]{Value: p, Version: p.Product.Version}
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	m := make(map[int64]Product, len(ids))
	for i, ok := range found {
		if ok {
			m[ids[i]] = pages[i].Product
		}
	}
	return m, nil
}

// inOrder returns the products of ids that exist, in the order of ids.
func (c *Cached) inOrder(ctx context.Context, ids []int64) ([]Product, error) {
	m, err := c.FindProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Product, 0, len(ids))
	for _, id := range ids {
		if p, ok := m[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func idsOf(ps []Product) []int64 {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// ListProducts is Store.ListProducts through the list cache.
func (c *Cached) ListProducts(ctx context.Context, f Filter) ([]Product, int, error) {
	l, err := c.lists.Get(ctx, keys.ProductList(keys.Listing{Category: f.Category, Sort: string(f.Sort), MinPrice: f.MinPrice, MaxPrice: f.MaxPrice}, f.Page.Number), func(ctx context.Context) (idList, int64, error) {
		ps, total, err := c.store.ListProducts(ctx, f)
		return idList{IDs: idsOf(ps), Total: total}, 1, err
	})
	if err != nil {
		return nil, 0, err
	}
	ps, err := c.inOrder(ctx, l.IDs)
	return listed(ps), l.Total, err
}

// listed drops the products that may no longer be listed: a cached list holds ids, and a
// product may since have become non-merchandise or been priced at zero (the products
// themselves come fresh from the product cache). The list's order and total catch up when
// the list expires.
func listed(ps []Product) []Product {
	out := ps[:0]
	for _, p := range ps {
		if p.Merchandise && p.Price > 0 {
			out = append(out, p)
		}
	}
	return out
}

// SearchProducts is Store.SearchProducts through the list cache.
func (c *Cached) SearchProducts(ctx context.Context, query string, page Page) (SearchResult, error) {
	l, err := c.lists.Get(ctx, keys.Search(query, page.Number), func(ctx context.Context) (idList, int64, error) {
		res, err := c.store.SearchProducts(ctx, query, page)
		return idList{IDs: idsOf(res.Products), Total: res.Total, Suggestion: res.Suggestion,
			Corrected: res.Corrected, CommonOnly: res.CommonOnly}, 1, err
	})
	if err != nil {
		return SearchResult{}, err
	}
	ps, err := c.inOrder(ctx, l.IDs)
	return SearchResult{Products: listed(ps), Total: l.Total, Suggestion: l.Suggestion, Corrected: l.Corrected, CommonOnly: l.CommonOnly}, err
}

// ListCategories is Store.ListCategories through the list cache.
func (c *Cached) ListCategories(ctx context.Context) ([]Category, error) {
	return c.categories.Get(ctx, keys.Categories, func(ctx context.Context) ([]Category, int64, error) {
		names, err := c.store.ListCategories(ctx)
		return names, 1, err
	})
}

// ListFeatured is Store.ListFeatured through the list cache, with the home page's TTL.
func (c *Cached) ListFeatured(ctx context.Context, n int) ([]Product, error) {
	l, err := c.home.Get(ctx, fmt.Sprintf("%s:%d", keys.Featured, n), func(ctx context.Context) (idList, int64, error) {
		ps, err := c.store.ListFeatured(ctx, n)
		return idList{IDs: idsOf(ps), Total: len(ps)}, 1, err
	})
	if err != nil {
		return nil, err
	}
	return c.inOrder(ctx, l.IDs)
}

// ListBestsellers is Store.ListBestsellers through the list cache, with the home page's TTL.
func (c *Cached) ListBestsellers(ctx context.Context, n int) ([]Bestseller, error) {
	l, err := c.home.Get(ctx, fmt.Sprintf("%s:%d", keys.Bestsellers, n), func(ctx context.Context) (idList, int64, error) {
		bs, err := c.store.ListBestsellers(ctx, n)
		l := idList{Total: len(bs)}
		for _, b := range bs {
			l.IDs, l.Units = append(l.IDs, b.ID), append(l.Units, b.Units)
		}
		return l, 1, err
	})
	if err != nil {
		return nil, err
	}
	m, err := c.FindProducts(ctx, l.IDs)
	if err != nil {
		return nil, err
	}
	out := make([]Bestseller, 0, len(l.IDs))
	for i, id := range l.IDs {
		if p, ok := m[id]; ok && i < len(l.Units) {
			out = append(out, Bestseller{Product: p, Units: l.Units[i]})
		}
	}
	return out, nil
}

// UpdateProduct is the product update workflow, with write-through: it commits u in
// Postgres (Store.UpdateProduct), then — after the commit, never before — writes the new
// page to Redis with its TTL (which also publishes the change to every instance's near
// cache), and drops the bestseller lists, which carry names and prices. A cache failure does
// not fail the update: the key is deleted instead, or at worst the old value lives out its
// TTL, and the failure is logged. It returns ErrNotFound, ErrConflict (u.Version is not the
// stored one) or Postgres's error, and then nothing changed.
func (c *Cached) UpdateProduct(ctx context.Context, id int64, u ProductUpdate) (Product, error) {
	p, err := c.store.UpdateProduct(ctx, id, u)
	if err != nil {
		return Product{}, err
	}
	if c.boards != nil {
		if err := c.boards.ForgetLists(ctx); err != nil {
			c.log.Warn("bestseller lists not dropped; they catch up within their TTL", "err", err)
		}
	}
	reviews, err := c.store.ListReviews(ctx, id, ReviewsPerPage)
	if err != nil {
		// The update stands; without the reviews, evict rather than write a partial page.
		c.invalidate(ctx, id, p.Version)
		return p, nil
	}
	if err := c.pages.Set(ctx, keys.Product(id), ProductPage{Product: p, Reviews: reviews}, p.Version); err != nil {
		c.log.Error("write-through failed; the old value lives at most its TTL", "key", keys.Product(id), "err", err)
	}
	return p, nil
}

// ProductsChanged evicts the cached pages of products whose rows changed outside the
// catalog (a checkout took stock), unless the cache already holds their new versions.
func (c *Cached) ProductsChanged(ctx context.Context, versions map[int64]int64) {
	for id, v := range versions {
		c.invalidate(ctx, id, v)
	}
}

func (c *Cached) invalidate(ctx context.Context, id, version int64) {
	if err := c.pages.Invalidate(ctx, keys.Product(id), version); err != nil && !errors.Is(err, cache.ErrBypass) {
		c.log.Error("invalidation failed; the old value lives at most its TTL", "key", keys.Product(id), "err", err)
	}
}
