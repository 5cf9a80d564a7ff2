-- +goose Up
-- Product page views, written behind: counted in Redis at once, moved here in batches by the
-- views flusher (see the views package). view_batches is the ledger that makes a batch
-- apply at most once: a batch's id is inserted in the same transaction as its counts.

CREATE TABLE product_views (
    product_id bigint      PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    -- views is the number of product page views flushed from Redis so far.
    views      bigint      NOT NULL CHECK (views >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE view_batches (
    -- id is the batch id the flusher gave the batch when it claimed it: "<unix ms>-<random hex>".
    id         text        PRIMARY KEY,
    -- views and products count what the batch held: total views, distinct products.
    views      bigint      NOT NULL,
    products   integer     NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX view_batches_applied_idx ON view_batches (applied_at);

-- +goose Down
DROP TABLE view_batches;
DROP TABLE product_views;
