package pgnotify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/app"
	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/testenv"
)

// TestTrackingPSQLUpdateReachesB: in the tracking mode, an operator's UPDATE in psql reaches
// an instance that has no Postgres listener and no pub/sub bus: a's listener deletes the
// Redis key, and Redis tells b (CLIENT TRACKING, broadcasting mode).
func TestTrackingPSQLUpdateReachesB(t *testing.T) {
	_, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	w.tracking = true
	w.start("a", nil)
	w.pubsubOnly = true // b: no Postgres listener, and tracking mode runs no bus subscriber
	b := w.start("b", nil)
	const id = 7
	untilL1(t, b, id)
	conn, err := pgx.Connect(context.Background(), w.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE products SET price = 4321 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "b serves the psql update", func() bool {
		p, _ := b.product(t, id)
		return p.Price == 4321
	})
	untilL1(t, b, id) // the near cache is in use again
}

// TestTrackingHandWrittenKeyEvicts: a SET or DEL of a product key by hand (redis-cli), which
// publishes nothing, evicts it from the near cache in the tracking mode.
func TestTrackingHandWrittenKeyEvicts(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	w := newWorld(t, testenv.RedisURL(), prefix)
	w.tracking, w.pubsubOnly = true, true
	b := w.start("b", nil)
	const id = 9
	p := untilL1(t, b, id)
	key := prefix + "product:9"
	rdb.Set(context.Background(), key, handEdited(t, rdb, key, "EDITED BY HAND"), redis.KeepTTL)
	waitFor(t, 20*time.Second, "b serves the hand-written value", func() bool {
		got, _ := b.product(t, id)
		return got.Name == "EDITED BY HAND"
	})
	rdb.Del(context.Background(), key)
	waitFor(t, 20*time.Second, "b serves the product again after the DEL", func() bool {
		got, _ := b.product(t, id)
		return got.Name == p.Name
	})
}

// untilL1 reads product id through in until it is answered from the near cache. In the
// tracking mode the fill of a miss is itself a write that Redis announces, so the value a
// miss put in the near cache may be evicted by its own fill's invalidation: a later read
// from Redis keeps it.
func untilL1(t *testing.T, in *instance, id int64) catalog.Product {
	t.Helper()
	var p catalog.Product
	waitFor(t, 20*time.Second, in.name+" answers from its near cache", func() bool {
		var r cache.Result
		p, r = in.product(t, id)
		return r == cache.HitL1
	})
	return p
}

// handEdited returns key's stored entry with the product's name replaced.
func handEdited(t *testing.T, rdb *redis.Client, key, name string) string {
	t.Helper()
	entry, err := rdb.Get(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(entry, "{")
	var m map[string]any
	if i < 0 || json.Unmarshal([]byte(entry[i:]), &m) != nil {
		t.Fatalf("unexpected entry %.40q", entry)
	}
	inner, ok := m["Product"].(map[string]any)
	if !ok {
		t.Fatalf("unexpected entry %.60q", entry)
	}
	inner["Name"] = name
	js, _ := json.Marshal(m)
	return entry[:i] + string(js)
}

// TestTrackingConnectionKilledFlushes: the tracking connection is killed and, in the same
// transaction, the product's key is rewritten — a change no invalidation announces. Once
// tracking is back, b must not serve its near copy (which would live another minute).
func TestTrackingConnectionKilledFlushes(t *testing.T) {
	srv := testenv.StartRedis(t) // of its own: the test kills every tracking connection
	w := newWorld(t, srv.URL(), "")
	w.tracking, w.pubsubOnly = true, true
	var logs bytes.Buffer
	var mu sync.Mutex
	b := w.start("b", lockedWriter{&logs, &mu})
	const id = 11
	untilL1(t, b, id)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2})
	defer rdb.Close()
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+cache.TrackingClientName+" ") {
			f := strings.Fields(line)
			ids = append(ids, strings.TrimPrefix(f[0], "id="))
		}
	}
	if len(ids) != 1 {
		t.Fatalf("tracking connections = %v, want one:\n%s", ids, list)
	}
	key := "product:11"
	edited := handEdited(t, rdb, key, "CHANGED WHILE UNTRACKED")
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "CLIENT", "KILL", "ID", ids[0])
		p.Set(ctx, key, edited, redis.KeepTTL)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "tracking back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), "subscribed again")
	})
	if got, r := b.product(t, id); got.Name != "CHANGED WHILE UNTRACKED" || r == cache.HitL1 {
		t.Errorf("b after the break = %q (%s), want the value written while untracked, not from its near cache", got.Name, r)
	}
	// And tracking works again.
	rdb.Set(ctx, key, handEdited(t, rdb, key, "AFTER"), redis.KeepTTL)
	waitFor(t, 20*time.Second, "b hears a hand-written change after the break", func() bool {
		got, _ := b.product(t, id)
		return got.Name == "AFTER"
	})
}

// TestTrackingRefusedOnCluster: the tracking mode needs a standalone Redis.
func TestTrackingRefusedOnCluster(t *testing.T) {
	cfg := app.Defaults("postgres://postgres@127.0.0.1:1/none", "redis://127.0.0.1:1")
	cfg.NearTracking, cfg.RedisCluster = true, true
	_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "SHOP_NEAR_CACHE") || !strings.Contains(err.Error(), "SHOP_REDIS_MODE") {
		t.Errorf("tracking on a cluster: %v, want an error naming SHOP_NEAR_CACHE and SHOP_REDIS_MODE", err)
	}
}

// TestNearModeLag measures, in each near-cache mode, the invalidation lag that matters to a
// reader: from an UPDATE committed in Postgres (through a's listener) to the moment b, which
// has no Postgres listener of its own, serves the new price. It is a measurement, not a
// check: SHOP_BENCH_NEAR=1 go test -run TestNearModeLag -v ./pgnotify (docs/benchmarks.md).
func TestNearModeLag(t *testing.T) {
	if os.Getenv("SHOP_BENCH_NEAR") == "" {
		t.Skip("a measurement: set SHOP_BENCH_NEAR=1")
	}
	const rounds = 300
	for _, tracking := range []bool{false, true} {
		_, prefix := testenv.Redis(t)
		w := newWorld(t, testenv.RedisURL(), prefix)
		w.tracking = tracking
		w.start("a", nil)
		w.pubsubOnly = true
		b := w.start("b", nil)
		const id = 3
		untilL1(t, b, id)
		lags := make([]time.Duration, 0, rounds)
		ctx := context.Background()
		for i := range rounds {
			price := int64(10_000 + i)
			start := time.Now()
			if _, err := w.pool.Exec(ctx, `UPDATE products SET price = $1 WHERE id = $2`, price, id); err != nil {
				t.Fatal(err)
			}
			for {
				p, err := b.catalog.FindProduct(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if p.Price == price {
					break
				}
				if time.Since(start) > 20*time.Second {
					t.Fatalf("round %d: b never served the new price", i)
				}
			}
			lags = append(lags, time.Since(start))
			untilL1(t, b, id) // back in b's near cache before the next round
		}
		slices.Sort(lags)
		mode := map[bool]string{false: "pubsub", true: "tracking"}[tracking]
		t.Logf("SHOP_NEAR_CACHE=%s: UPDATE commit → b serves it, %d rounds: p50 %v, p99 %v, max %v",
			mode, rounds, lags[rounds/2].Round(time.Microsecond), lags[rounds*99/100].Round(time.Microsecond), lags[rounds-1].Round(time.Microsecond))
	}
}
