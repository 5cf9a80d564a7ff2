package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/keys"
)

// env is what an experiment runs with: the Runner's parts and its run's progress.
type env struct {
	*Runner
	p  *progress
	id string
}

// logf adds a step to the run's log.
func (e *env) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.p.update(func(r *Run) { r.Log = append(r.Log, msg) })
}

// set changes the run's state (charts, results) and saves it soon.
func (e *env) set(f func(*Run)) { e.p.update(f) }

// product picks the product the experiments read: the first of the home page's featured
// products (a real, listed one).
func (e *env) product(ctx context.Context) (catalog.Product, error) {
	ps, err := e.deps.Store.ListFeatured(ctx, 1)
	if err != nil {
		return catalog.Product{}, fmt.Errorf("pick a product: %w", err)
	}
	if len(ps) == 0 {
		return catalog.Product{}, errors.New("the catalog has no product to experiment on")
	}
	return ps[0], nil
}

// page requests path from the shop's own handler, in process, as a visitor without a
// session would: it returns the status, the X-Cache header and how long it took.
func (e *env) page(ctx context.Context, path string) (int, string, time.Duration) {
	h := e.handler()
	if h == nil {
		return 0, "", 0
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("X-Cache"), time.Since(start)
}

// setPrice commits price on product id, keeping its other fields as they are now (a
// checkout may have changed the stock: the version check makes the edit try again), through
// the shop's write-through path when through is set, or Postgres alone. It returns the
// product as committed and the time the write took.
func (r *Runner) setPrice(ctx context.Context, id, price int64, through bool) (catalog.Product, time.Duration, error) {
	for range 5 {
		cur, err := r.deps.Store.FindProduct(ctx, id)
		if err != nil {
			return catalog.Product{}, 0, err
		}
		u := catalog.ProductUpdate{Name: cur.Name, Description: cur.Description, Price: price, Stock: cur.Stock, Version: cur.Version}
		start := time.Now()
		var p catalog.Product
		if through {
			p, err = r.deps.Catalog.UpdateProduct(ctx, id, u)
		} else {
			p, err = r.deps.Store.UpdateProduct(ctx, id, u)
		}
		took := time.Since(start)
		if errors.Is(err, catalog.ErrConflict) {
			continue
		}
		return p, took, err
	}
	return catalog.Product{}, 0, fmt.Errorf("product %d kept changing under the edit", id)
}

// keepPrice notes in Redis (keys.LabRestore) that product id's price is to be put back to
// price, before an experiment changes it, so that a run that dies midway is undone by the
// next (Runner.restoreLeft). An error means nothing may be changed.
func (e *env) keepPrice(ctx context.Context, id, price int64) error {
	err := e.rdb.HSet(context.WithoutCancel(ctx), e.prefix+keys.LabRestore, strconv.FormatInt(id, 10), price).Err()
	if err != nil {
		return fmt.Errorf("lab: note the price to restore: %w", err)
	}
	return nil
}

// restorePrice puts the price back through the write-through path, on a context that the
// experiment's end does not cancel, and then forgets the note keepPrice made.
func (e *env) restorePrice(ctx context.Context, id, price int64) {
	if err := e.Runner.restorePrice(context.WithoutCancel(ctx), id, price); err != nil {
		e.logf("the price of product %d could NOT be restored (%v); the next run or start will", id, err)
		return
	}
	e.logf("price of product %d restored", id)
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile returns the nearest-rank q-quantile of values (sorted in place).
func quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sort.Float64s(values)
	i := int(float64(len(values))*q+0.999999) - 1
	return values[min(max(i, 0), len(values)-1)]
}

// labCaches are the experiments' own caches, on the shop's Redis under lab:data:… keys
// (their names start with "lab-", which the dashboard leaves out).
type labCaches struct {
	lazy                   *cache.Aside[catalog.Product]
	stampedeOn, stampedeOf *cache.Aside[catalog.Product]
	staleOn, staleOff      *cache.Aside[staleRow]
	// nearOn has a near cache in front of Redis, nearOff reads Redis every time; both
	// read the near-cache experiment's copy of a product (keys.LabKey("near", run id)).
	nearOn, nearOff *cache.Aside[catalog.Product]
}

// lazyTTL is the TTL of the lazy-loading side of the write-through experiment.
const lazyTTL = 2 * time.Second

func newLabCaches(c *cache.Cache, l1 cache.L1Options) *labCaches {
	if c == nil {
		return &labCaches{}
	}
	long := cache.TTL{Base: 30 * time.Second}
	return &labCaches{
		lazy:       cache.NewAside[catalog.Product](c, "lab-lazy", cache.AsideOptions{TTL: cache.TTL{Base: lazyTTL, Jitter: cache.DefaultJitter}}),
		stampedeOn: cache.NewAside[catalog.Product](c, "lab-stampede", cache.AsideOptions{TTL: long}),
		stampedeOf: cache.NewAside[catalog.Product](c, "lab-stampede-off", cache.AsideOptions{TTL: long, Unprotected: true}),
		staleOn:    cache.NewAside[staleRow](c, "lab-staleset", cache.AsideOptions{TTL: long}),
		staleOff:   cache.NewAside[staleRow](c, "lab-staleset-off", cache.AsideOptions{TTL: long, Unprotected: true}),
		nearOn:     cache.NewAside[catalog.Product](c, "lab-near", cache.AsideOptions{TTL: long, L1: nearL1(l1)}),
		nearOff:    cache.NewAside[catalog.Product](c, "lab-near-off", cache.AsideOptions{TTL: long}),
	}
}
