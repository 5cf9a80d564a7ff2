-- +goose Up
-- Event-driven invalidation: every change of a cached row bumps its version in the database
-- itself, so changes made outside the shop (psql, a bulk import) are versioned too, and
-- announces the key and version on the channel cache_invalidation once the transaction
-- commits (NOTIFY is delivered at commit, and not at all on rollback). The shop listens and
-- evicts. The key names here match package keys: product:{id}, user:{id}.

-- +goose StatementBegin
CREATE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The shop bumps versions itself; anyone else's UPDATE is bumped here.
    IF NEW.version <= OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_cache_invalidation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id  bigint;
    version bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_id := OLD.id;
        version := OLD.version + 1;
    ELSE
        row_id := NEW.id;
        version := NEW.version;
    END IF;
    PERFORM pg_notify('cache_invalidation', json_build_object(
        'key', TG_ARGV[0] || row_id,
        'version', version,
        'at', floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint
    )::text);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION bump_product_for_review() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A product page shows its reviews: a review changes the page.
    IF TG_OP = 'DELETE' THEN
        UPDATE products SET version = version + 1 WHERE id = OLD.product_id;
    ELSE
        UPDATE products SET version = version + 1 WHERE id = NEW.product_id;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER products_bump_version BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER users_bump_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER products_notify AFTER UPDATE OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION notify_cache_invalidation('product:');
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_cache_invalidation('user:');
CREATE TRIGGER reviews_bump_product AFTER INSERT OR UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION bump_product_for_review();

-- +goose Down
DROP TRIGGER reviews_bump_product ON reviews;
DROP TRIGGER users_notify ON users;
DROP TRIGGER products_notify ON products;
DROP TRIGGER users_bump_version ON users;
DROP TRIGGER products_bump_version ON products;
DROP FUNCTION bump_product_for_review();
DROP FUNCTION notify_cache_invalidation();
DROP FUNCTION bump_version();
