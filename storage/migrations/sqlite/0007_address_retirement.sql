-- Retiring idle addresses (`usdt-gateway address retire`, an opt-in operator command):
-- a retired binding stays (the address still belongs to its user: nobody else can order
-- on it) but the watchers stop looking for it. The next order, allocation request or
-- deposit on it revives it: `retired_at` goes back to NULL and the binding takes a new
-- `seq`, so the watchers read it again like a new binding.
ALTER TABLE address_bindings ADD COLUMN retired_at INTEGER;

-- The last time the user asked for the allocated address (kept to within a day): an
-- address asked for lately is not idle.
ALTER TABLE address_allocations ADD COLUMN requested_at INTEGER NOT NULL DEFAULT 0;
UPDATE address_allocations SET requested_at = created_at;

-- Bumped by each retirement: a watcher that sees it change reloads its watch list
-- without the retired addresses.
CREATE TABLE watch_epochs (
    chain TEXT   NOT NULL PRIMARY KEY,
    epoch INTEGER NOT NULL
);

-- The audit trail: every retirement, and what revived it.
CREATE TABLE address_retirements (
    chain      TEXT   NOT NULL,
    address    TEXT   NOT NULL,
    appid      TEXT   NOT NULL,
    username   TEXT   NOT NULL,
    retired_at INTEGER NOT NULL,
    idle_for_ms INTEGER NOT NULL,
    revived_at INTEGER,
    revived_by TEXT CHECK (revived_by IN ('order', 'allocation', 'deposit')),
    PRIMARY KEY (chain, address, retired_at)
);

-- The retirement's checks look for recent deposits by address.
CREATE INDEX deposits_by_address ON deposits (chain, address, created_at);
