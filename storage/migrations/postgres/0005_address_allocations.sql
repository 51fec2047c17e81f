-- Deposit addresses allocated from the merchants' account keys (xpub), by
-- POST /api/merchant/v2/TraderRechargeAddress. Index i of (appid, chain) is the address
-- …/0/i of the merchant's key for the chain; it goes to one username, for good. The
-- allocation also writes the address binding (address_bindings), in the same
-- transaction, so the watchers watch it at once and no other user can order on it.
-- Two replicas allocating at once cannot hand out one index twice, give one user two
-- addresses of a chain, or one address to two users: each is a unique key here.
CREATE TABLE address_allocations (
    appid             TEXT    NOT NULL,
    chain             TEXT    NOT NULL,
    derivation_index  BIGINT NOT NULL
                      CHECK (derivation_index >= 0 AND derivation_index < 2147483648),
    username          TEXT    NOT NULL,
    address           TEXT    NOT NULL, -- as handed out (ERC20: EIP-55)
    canonical_address TEXT    NOT NULL, -- as bound and watched
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (appid, chain, derivation_index),
    UNIQUE (appid, chain, username),
    UNIQUE (chain, canonical_address)
);
