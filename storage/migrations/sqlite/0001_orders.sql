-- Orders and address bindings (SQLite). Amounts are integers in scaled units
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
    amount                 INTEGER NOT NULL CHECK (amount > 0),
    notify_url             TEXT,
    required_confirmations INTEGER NOT NULL CHECK (required_confirmations >= 1),
    status                 TEXT    NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'confirming', 'confirmed')),
    received_amount        INTEGER NOT NULL DEFAULT 0 CHECK (received_amount >= 0),
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
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
    created_at INTEGER NOT NULL,
    PRIMARY KEY (chain, address)
);
