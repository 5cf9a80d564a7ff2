package catalog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/testenv"
)

func newCached(t *testing.T, rdb *redis.Client, prefix string) (*catalog.Store, *catalog.Cached) {
	t.Helper()
	store := catalog.NewStore(testenv.SeededDB(t))
	cache.NewGuard(cache.GuardOptions{CallTimeout: 3 * time.Second}).Install(rdb) // not about timeouts
	c := cache.New(rdb, cache.Options{Prefix: prefix})
	return store, catalog.NewCached(store, c, cache.DefaultPolicy(), cache.L1Options{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestWriteThroughAfterCommitOnly(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	store, cached := newCached(t, rdb, prefix)
	ctx := context.Background()
	before, err := cached.FindProduct(ctx, 1) // fills product:1
	if err != nil {
		t.Fatal(err)
	}
	var duringTx string
	store.SetBeforeCommit(func(int64) { duringTx = rdb.Get(ctx, prefix+"product:1").Val() })
	p, err := cached.UpdateProduct(ctx, 1, catalog.ProductUpdate{
		Name: "RENAMED HEART", Description: before.Description, Price: 399, Stock: 7, Version: before.Version,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(duringTx, before.Name) || strings.Contains(duringTx, "RENAMED") {
		t.Errorf("cache before commit = %.80q, want the old value: the write-through must wait for the commit", duringTx)
	}
	after := rdb.Get(ctx, prefix+"product:1").Val()
	if !strings.HasPrefix(after, "2:") || !strings.Contains(after, "RENAMED HEART") {
		t.Errorf("cache after commit = %.80q, want version 2 with the new name", after)
	}
	if p.Version != before.Version+1 || p.Price != 399 {
		t.Errorf("updated product = version %d, price %d", p.Version, p.Price)
	}
}

func TestRolledBackUpdateLeavesTheCacheAlone(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	_, cached := newCached(t, rdb, prefix)
	ctx := context.Background()
	before, err := cached.FindProduct(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	cachedBefore := rdb.Get(ctx, prefix+"product:1").Val()
	// Stock -1 breaks the CHECK: the transaction rolls back.
	_, err = cached.UpdateProduct(ctx, 1, catalog.ProductUpdate{Name: "X", Price: 1, Stock: -1, Version: before.Version})
	if err == nil {
		t.Fatal("an update with stock -1 succeeded")
	}
	// A stale version is a conflict: nothing is written.
	_, err = cached.UpdateProduct(ctx, 1, catalog.ProductUpdate{Name: "X", Price: 1, Stock: 1, Version: before.Version - 1})
	if !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("update from an old version = %v, want ErrConflict", err)
	}
	if got := rdb.Get(ctx, prefix+"product:1").Val(); got != cachedBefore {
		t.Errorf("cache after failed updates = %.60q, want it untouched", got)
	}
}

// TestWriteThroughFailureDeletes makes Redis refuse the write-through for real — the cache
// connects as an ACL user that may not run scripts but may delete — and checks that the
// update stands and the old value is gone rather than left stale.
func TestWriteThroughFailureDeletes(t *testing.T) {
	srv := testenv.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	ctx := context.Background()
	err := admin.Do(ctx, "ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "&*", "+@all", "-@scripting").Err()
	if err != nil {
		t.Fatal(err)
	}
	limited := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "noscripts", Password: "pw"})
	t.Cleanup(func() { limited.Close() })

	store := catalog.NewStore(testenv.SeededDB(t))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	warm := catalog.NewCached(store, cache.New(admin, cache.Options{}), cache.DefaultPolicy(), cache.L1Options{}, nil, logger)
	before, err := warm.FindProduct(ctx, 1) // product:1 now holds the current version
	if err != nil {
		t.Fatal(err)
	}
	cached := catalog.NewCached(store, cache.New(limited, cache.Options{}), cache.DefaultPolicy(), cache.L1Options{}, nil, logger)
	p, err := cached.UpdateProduct(ctx, 1, catalog.ProductUpdate{Name: "REFUSED HEART", Price: 100, Stock: 3, Version: before.Version})
	if err != nil {
		t.Fatalf("update while the cache refuses the write = %v, want success", err)
	}
	if n := admin.Exists(ctx, "product:1").Val(); n != 0 {
		t.Errorf("the old value stayed in the cache after a refused write-through: %.60q", admin.Get(ctx, "product:1").Val())
	}
	got, err := warm.FindProduct(ctx, 1)
	if err != nil || got.Name != "REFUSED HEART" || got.Version != p.Version {
		t.Errorf("read after = %q v%d (%v), want the committed update", got.Name, got.Version, err)
	}
}

func TestListingsHydrateFromTheProductCache(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	_, cached := newCached(t, rdb, prefix)
	ctx := context.Background()
	page1, total, err := cached.ListProducts(ctx, catalog.Filter{Page: catalog.Page{Number: 1, Size: 24}})
	if err != nil || len(page1) != 24 || total < 3000 {
		t.Fatalf("ListProducts = %d items of %d (%v)", len(page1), total, err)
	}
	// A write-through shows in the cached listing at once: the listing holds ids only.
	p := page1[0]
	if _, err := cached.UpdateProduct(ctx, p.ID, catalog.ProductUpdate{Name: "NEW NAME", Price: p.Price, Stock: p.Stock, Version: p.Version}); err != nil {
		t.Fatal(err)
	}
	again, _, err := cached.ListProducts(ctx, catalog.Filter{Page: catalog.Page{Number: 1, Size: 24}})
	if err != nil || again[0].Name != "NEW NAME" {
		t.Errorf("cached listing after the update shows %q (%v), want NEW NAME", again[0].Name, err)
	}
	if _, _, err := cached.ListProducts(ctx, catalog.Filter{Category: "nope", Page: catalog.Page{Number: 1, Size: 24}}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown category = %v, want ErrNotFound", err)
	}
}
