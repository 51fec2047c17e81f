-- Chain watching, deposits and callback delivery (SQLite). Amounts are integers in
-- scaled units (1 USDT = 10000); times are Unix milliseconds.

-- Where each chain's watcher goes on (the first block not yet scanned) and the head it
-- last saw (the query API counts confirmations from it).
CREATE TABLE chain_cursors (
    chain      TEXT    NOT NULL PRIMARY KEY,
    head       INTEGER NOT NULL,
    next_block INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Hashes of the blocks the watcher scanned near the head and of every block holding a
-- deposit: a stored hash that the chain no longer has is a reorg.
CREATE TABLE chain_blocks (
    chain  TEXT    NOT NULL,
    number INTEGER NOT NULL,
    hash   TEXT    NOT NULL,
    PRIMARY KEY (chain, number)
);

-- Every token transfer to a watched address, credited at most once.
CREATE TABLE deposits (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    chain         TEXT    NOT NULL,
    txid          TEXT    NOT NULL,
    log_index     INTEGER NOT NULL,
    address       TEXT    NOT NULL, -- canonical
    raw_value     TEXT    NOT NULL, -- the on-chain integer as the chain reported it
    amount        INTEGER NOT NULL CHECK (amount >= 0), -- scaled, rounded down
    dust          TEXT    NOT NULL, -- base units below 1/10000 USDT, never credited
    block_number  INTEGER NOT NULL,
    block_hash    TEXT    NOT NULL,
    ordersn       TEXT    REFERENCES orders (ordersn), -- NULL: unmatched
    required_confirmations INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('confirming', 'confirmed', 'orphaned')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (chain, txid, log_index)
);
CREATE INDEX deposits_open ON deposits (chain, state);
CREATE INDEX deposits_by_order ON deposits (ordersn);

-- The callback outbox: one delivery per confirmed order, written in the transaction
-- that confirms it.
CREATE TABLE callbacks (
    ordersn         TEXT    NOT NULL PRIMARY KEY REFERENCES orders (ordersn),
    appid           TEXT    NOT NULL,
    notify_url      TEXT,   -- NULL: the merchant's default at delivery time
    amount          INTEGER NOT NULL, -- scaled, as received
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_at);

-- Every attempt, as it went.
CREATE TABLE callback_attempts (
    ordersn     TEXT    NOT NULL REFERENCES callbacks (ordersn),
    attempt     INTEGER NOT NULL, -- 1 = the first; a resend continues the count
    started_at  INTEGER NOT NULL,
    t           INTEGER NOT NULL, -- the signed `t` of this attempt
    status_code INTEGER,
    body_prefix TEXT,
    latency_ms  INTEGER NOT NULL,
    error       TEXT,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('delivered', 'failed', 'refused')),
    PRIMARY KEY (ordersn, attempt)
);

-- The embedded dev chain's ledgers (dev mode only): blocks and the transfers in them.
CREATE TABLE dev_blocks (
    chain  TEXT    NOT NULL,
    number INTEGER NOT NULL,
    hash   TEXT    NOT NULL,
    PRIMARY KEY (chain, number)
);
CREATE TABLE dev_transfers (
    chain      TEXT    NOT NULL,
    number     INTEGER NOT NULL,
    txid       TEXT    NOT NULL,
    log_index  INTEGER NOT NULL,
    to_address TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (chain, txid, log_index)
);
CREATE INDEX dev_transfers_by_block ON dev_transfers (chain, number);
