-- +goose Up
-- idempotency_key is the key of the checkout that placed the order (orders.Checkout): the
-- checkout form carries one, and any number of submissions of it place one order. Null for
-- imported history and for orders placed before this column.
ALTER TABLE orders ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 16 AND 64);
CREATE UNIQUE INDEX orders_idempotency_idx ON orders (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX orders_idempotency_idx;
ALTER TABLE orders DROP COLUMN idempotency_key;
