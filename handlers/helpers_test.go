package handlers_test

import (
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopcache/shop/internal/dataset"
)

func loadDummyJSON(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := dataset.Load(context.Background(), pool, dataset.DummyJSON, false, io.Discard); err != nil {
		t.Fatal(err)
	}
}
