-- How many addresses each merchant has allocated on each chain, kept in the allocation's
-- own transaction: the total of `addresses.max_per_chain` is enforced by one guarded
-- upsert of this row (`… DO UPDATE … WHERE allocated < limit`), which also serializes
-- two replicas allocating for one merchant and chain at once (the row is locked until
-- the allocation commits). The metrics read it instead of counting the allocations.
CREATE TABLE address_allocation_counts (
    appid     TEXT   NOT NULL,
    chain     TEXT   NOT NULL,
    allocated INTEGER NOT NULL CHECK (allocated >= 0),
    PRIMARY KEY (appid, chain)
);
INSERT INTO address_allocation_counts (appid, chain, allocated)
    SELECT appid, chain, COUNT(*) FROM address_allocations GROUP BY appid, chain;
