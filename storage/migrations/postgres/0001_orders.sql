-- Orders and address bindings (PostgreSQL). Amounts are integers in scaled units
-- (1 USDT = 10000); times are Unix milliseconds.
CREATE TABLE orders (
    ordersn                TEXT    NOT NULL PRIMARY KEY,
    appid                  TEXT    NOT NULL,
    orderid                TEXT    NOT NULL,
    username               TEXT    NOT NULL,
    localusermark          TEXT    NOT NULL,
    address                TEXT    NOT NULL, -- exactly as sent and signed
    canonical_address      TEXT    NOT NULL, -- what bindings and watchers use
    chain                  TEXT    NOT NULL,
    amount                 BIGINT  NOT NULL CHECK (amount > 0),
    notify_url             TEXT,
    required_confirmations BIGINT  NOT NULL CHECK (required_confirmations >= 1),
    status                 TEXT    NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'confirming', 'confirmed')),
    received_amount        BIGINT  NOT NULL DEFAULT 0 CHECK (received_amount >= 0),
    created_at             BIGINT  NOT NULL,
    expires_at             BIGINT  NOT NULL,
    UNIQUE (appid, orderid)
);

-- Pending orders of an address, oldest first: what deposit matching reads.
CREATE INDEX orders_by_address ON orders (chain, canonical_address, status, created_at);

-- Each deposit address belongs to one (appid, username), forever.
CREATE TABLE address_bindings (
    chain      TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    appid      TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (chain, address)
);
