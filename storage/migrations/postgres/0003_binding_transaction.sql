-- Chain watchers read new address bindings in commit order, never by timestamp: a
-- binding whose `created_at` is older than one already read (a batch committed late, a
-- replica whose clock is behind) must still be read. PostgreSQL gives ids out before
-- commit, so neither a timestamp nor a sequence is commit-ordered. Each binding keeps
-- the id of the transaction that wrote it; a watcher remembers the oldest transaction
-- still running when it last read (`pg_snapshot_xmin`) and next reads every binding
-- from that transaction on: whatever committed since is among them.
ALTER TABLE address_bindings
    ADD COLUMN tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX address_bindings_by_chain_tx ON address_bindings (chain, tx);
