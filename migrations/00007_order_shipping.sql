-- +goose Up
-- What the stepped checkout (address, review, place) stores with an order placed in the
-- shop: where it goes, what delivery cost, and where it stands. Imported history keeps the
-- defaults ('' address, 0 delivery, status 'placed').
ALTER TABLE orders
    -- shipping_address: the address the shopper confirmed at checkout, as typed (free text).
    ADD COLUMN shipping_address text   NOT NULL DEFAULT '' CHECK (length(shipping_address) <= 1000),
    -- delivery: the delivery charge in minor units of the order's currency, VAT included
    -- (orders.DeliveryCharge). The order's total is its lines plus this.
    ADD COLUMN delivery         bigint NOT NULL DEFAULT 0 CHECK (delivery >= 0),
    -- status: 'placed' when the checkout commits; 'dispatched', 'delivered' and 'cancelled'
    -- are the states fulfilment moves it to.
    ADD COLUMN status           text   NOT NULL DEFAULT 'placed'
        CHECK (status IN ('placed', 'dispatched', 'delivered', 'cancelled'));

-- +goose Down
ALTER TABLE orders DROP COLUMN status, DROP COLUMN delivery, DROP COLUMN shipping_address;
