-- A delivery with no callback URL (neither the order nor its merchant has one) is
-- `not_configured`, and so is the attempt that found it out: nothing was sent, and the
-- delivery waits for the operator instead of reading as a failed delivery.
--
-- SQLite cannot change a CHECK constraint: both tables are rebuilt, the attempts
-- (which reference the deliveries) pointing at the new deliveries table before the old
-- tables are dropped, children first, so no foreign key is ever left dangling.
CREATE TABLE callbacks_v4 (
    ordersn         TEXT    NOT NULL PRIMARY KEY REFERENCES orders (ordersn),
    appid           TEXT    NOT NULL,
    notify_url      TEXT,   -- NULL: the merchant's default at delivery time
    amount          INTEGER NOT NULL, -- scaled, as received
    state           TEXT    NOT NULL
                    CHECK (state IN ('pending', 'delivered', 'failed', 'not_configured')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO callbacks_v4 (ordersn, appid, notify_url, amount, state, attempts,
                          next_attempt_at, lease_owner, lease_until, last_error,
                          created_at, updated_at)
    SELECT ordersn, appid, notify_url, amount, state, attempts, next_attempt_at,
           lease_owner, lease_until, last_error, created_at, updated_at
    FROM callbacks;
CREATE TABLE callback_attempts_v4 (
    ordersn     TEXT    NOT NULL REFERENCES callbacks_v4 (ordersn),
    attempt     INTEGER NOT NULL, -- 1 = the first; a resend continues the count
    started_at  INTEGER NOT NULL,
    t           INTEGER NOT NULL, -- the signed `t` of this attempt
    status_code INTEGER,
    body_prefix TEXT,
    latency_ms  INTEGER NOT NULL,
    error       TEXT,
    outcome     TEXT    NOT NULL
                CHECK (outcome IN ('delivered', 'failed', 'refused', 'not_configured')),
    PRIMARY KEY (ordersn, attempt)
);
INSERT INTO callback_attempts_v4 (ordersn, attempt, started_at, t, status_code,
                                  body_prefix, latency_ms, error, outcome)
    SELECT ordersn, attempt, started_at, t, status_code, body_prefix, latency_ms, error,
           outcome
    FROM callback_attempts;
DROP TABLE callback_attempts;
DROP TABLE callbacks;
ALTER TABLE callbacks_v4 RENAME TO callbacks;
ALTER TABLE callback_attempts_v4 RENAME TO callback_attempts;
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_at);
