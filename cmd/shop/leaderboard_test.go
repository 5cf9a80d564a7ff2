package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/testenv"
)

func TestLeaderboardRebuildCommand(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	env := envFrom(map[string]string{
		"SHOP_DATABASE_URL":     testenv.SeededDBURL(t),
		"SHOP_REDIS_URL":        testenv.RedisURL(),
		"SHOP_REDIS_KEY_PREFIX": prefix,
	})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"shop", "leaderboard", "rebuild"}, env, &out, io.Discard); err != nil {
		t.Fatalf("shop leaderboard rebuild: %v", err)
	}
	if !strings.Contains(out.String(), "4070 products") {
		t.Errorf("shop leaderboard rebuild printed %q, want 4070 products", out.String())
	}
	if n := rdb.ZCard(context.Background(), prefix+"lb:{bestsellers}:all").Val(); n != 4070 {
		t.Errorf("ZCARD lb:{bestsellers}:all = %d, want 4070", n)
	}
}

func TestServeBuildsTheBoardAndFlushesViewsOnShutdown(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	dbURL := testenv.SeededDBURL(t)
	t.Run("serve", func(t *testing.T) {
		url := startShop(t, map[string]string{
			"SHOP_DATABASE_URL":         dbURL,
			"SHOP_REDIS_URL":            testenv.RedisURL(),
			"SHOP_REDIS_KEY_PREFIX":     prefix,
			"SHOP_SEED":                 "false",
			"SHOP_VIEWS_FLUSH_INTERVAL": "1h", // only the shutdown flushes
		})
		if n := rdb.ZCard(context.Background(), prefix+"lb:{bestsellers}:all").Val(); n != 4070 {
			t.Errorf("ZCARD of the board after start = %d, want 4070 (rebuilt because missing)", n)
		}
		for range 3 {
			if status, page := body(t, url+"/products/1"); status != 200 || !strings.Contains(page, "#4 bestseller") {
				t.Errorf("GET /products/1 = %d, want 200 with its rank #4", status)
			}
		}
	}) // the shop has shut down here
	var views int64
	pool := testenv.Pool(t, dbURL)
	if err := pool.QueryRow(context.Background(), `SELECT views FROM product_views WHERE product_id = 1`).Scan(&views); err != nil || views != 3 {
		t.Errorf("views of product 1 in Postgres after shutdown = %d (%v), want 3", views, err)
	}
}
