package cache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/internal/testenv"
)

// Run: go test -run '^$' -bench . -benchmem ./cache

func BenchmarkGet(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	src := &source{}
	src.write("lantern")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		l1   cache.L1Options
	}{
		{"hit-redis", cache.L1Options{}},
		{"hit-l1", cache.L1Options{Size: 1000, TTL: time.Minute}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := cache.New(rdb, cache.Options{Prefix: prefix})
			a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute}, L1: tc.l1})
			if _, err := a.Get(ctx, "thing:bench", src.load); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Get(ctx, "thing:bench", src.load); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("miss-fill", func(b *testing.B) {
		c := cache.New(rdb, cache.Options{Prefix: prefix})
		a := cache.NewAside[item](c, "thing", cache.AsideOptions{TTL: cache.TTL{Base: time.Minute}})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := a.Get(ctx, "thing:miss:"+strconv.Itoa(i), src.load); err != nil {
				b.Fatal(err)
			}
		}
	})
}
