-- Chain watchers read new address bindings in commit order, never by timestamp: a
-- binding whose `created_at` is older than one already read (a batch committed late, a
-- replica whose clock is behind) must still be read. `seq` grows with every binding,
-- and SQLite has one writer at a time, so every binding with a smaller `seq` is
-- committed before a larger one is given out: a watcher that has read up to `seq` n
-- only needs the bindings above n.
CREATE TABLE address_bindings_by_seq (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    chain      TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    appid      TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (chain, address)
);
INSERT INTO address_bindings_by_seq (chain, address, appid, username, created_at)
    SELECT chain, address, appid, username, created_at FROM address_bindings
    ORDER BY created_at, chain, address;
DROP TABLE address_bindings;
ALTER TABLE address_bindings_by_seq RENAME TO address_bindings;
CREATE INDEX address_bindings_by_chain_seq ON address_bindings (chain, seq);
