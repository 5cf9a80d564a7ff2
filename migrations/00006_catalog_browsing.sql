-- +goose Up
-- Browsing and forgiving search (issue 16):
-- * pg_trgm, whose similarity() finds the catalog word nearest a misspelt one ("did you
--   mean": hart -> heart, lantren -> lantern). pg_trgm ships with Postgres (contrib) and is
--   a trusted extension: the database owner may create it.
-- * products.search weighs the name (A) over category, brand and code (B) and the
--   description (C), which it now includes; the default parser skips HTML tags.
-- * an index for the listing sorted by price.
-- * the rows of the default data set written under older loading rules are brought to the
--   new ones: no per-product boilerplate description (the product page says once what the
--   data is) and the services that products.csv called merchandise never listed. Their
--   categories are filled in right after the migrations by app.Migrate (dataset.FillCategories,
--   a Go rule).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

DROP INDEX products_search_idx;
ALTER TABLE products DROP COLUMN search;
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', category || ' ' || brand || ' ' || sku), 'B') ||
    setweight(to_tsvector('english', description), 'C')
) STORED;
CREATE INDEX products_search_idx ON products USING gin (search);

CREATE INDEX products_price_idx ON products (price, id) WHERE merchandise;

UPDATE products SET description = ''
    WHERE currency = 'GBP' AND description LIKE 'Sold by a UK gift retailer from % to %, to % customers.';
UPDATE products SET merchandise = false, stock = 0
    WHERE merchandise AND (upper(name) IN ('NEXT DAY CARRIAGE', 'PACKING CHARGE', 'HIGH RESOLUTION IMAGE')
        OR upper(name) LIKE '%GIFT VOUCHER%' OR price = 0);

-- +goose Down
DROP INDEX products_price_idx;
DROP INDEX products_search_idx;
ALTER TABLE products DROP COLUMN search;
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', name || ' ' || category || ' ' || brand || ' ' || sku)
) STORED;
CREATE INDEX products_search_idx ON products USING gin (search);
