-- The shared-state change feed: one row per record of alerts, silences, acks or plugin_state
-- that a transaction wrote, filled by triggers, read by every replica (cluster/sync.rs) to
-- bring what the others wrote into its memory. A row names the record, not its value: readers
-- fetch the record as committed now, so replicas converge on the latest state.
CREATE TABLE campanile.changes (
    -- Identifies a row (a reader remembers which it has applied); not the order of commits.
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction's id (pg_current_xact_id, 64 bits with the epoch). Readers keep
    -- their place by it, against their snapshot's xmin: every transaction below the xmin has
    -- ended, so no row below it can appear later. A sequence alone cannot say that (a value
    -- taken by a transaction that commits after a higher one shows up behind the reader).
    xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The replica whose transaction wrote it (its writer sets campanile.replica with SET
    -- LOCAL), which skips its own rows.
    replica text NOT NULL DEFAULT current_setting('campanile.replica', true),
    kind text NOT NULL CHECK (kind IN ('alerts', 'silences', 'acks', 'plugin_state')),
    -- The record's key: alerts' fingerprint; silences' id or plugin_state's plugin; acks' group
    -- key or plugin_state's key.
    fingerprint bigint,
    name text,
    key bytea
);
CREATE INDEX changes_by_xid ON campanile.changes (xid);

-- Rows with an xid below `below` may have been deleted (trimmed): a reader whose place is
-- below it has missed changes and reads the shared tables whole instead.
CREATE TABLE campanile.changes_trimmed (
    below bigint NOT NULL DEFAULT 0,
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
INSERT INTO campanile.changes_trimmed DEFAULT VALUES;

-- One function per table; each runs once per statement over its transition table, so a batch
-- of 4,096 alerts is one INSERT here, not 4,096. The triggers fire only for a transaction
-- that names its replica: a single campanile (no [cluster]) pays nothing and leaves nothing to
-- trim. A change made by hand reaches the replicas if its session names one, e.g.
-- SET campanile.replica = 'psql'.
CREATE FUNCTION campanile.alerts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campanile.changes (kind, fingerprint) SELECT 'alerts', fingerprint FROM changed;
    RETURN NULL;
END $$;
CREATE FUNCTION campanile.silences_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campanile.changes (kind, name) SELECT 'silences', id FROM changed;
    RETURN NULL;
END $$;
CREATE FUNCTION campanile.acks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campanile.changes (kind, key) SELECT 'acks', group_key FROM changed;
    RETURN NULL;
END $$;
CREATE FUNCTION campanile.plugin_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campanile.changes (kind, name, key) SELECT 'plugin_state', plugin, key FROM changed;
    RETURN NULL;
END $$;

-- A trigger with a transition table fires on one event only: three per table. An upsert
-- (INSERT … ON CONFLICT DO UPDATE) fires the INSERT trigger for the rows it inserted and the
-- UPDATE trigger for those it updated.
CREATE TRIGGER alerts_inserted AFTER INSERT ON campanile.alerts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.alerts_changed();
CREATE TRIGGER alerts_updated AFTER UPDATE ON campanile.alerts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.alerts_changed();
CREATE TRIGGER alerts_deleted AFTER DELETE ON campanile.alerts
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.alerts_changed();

CREATE TRIGGER silences_inserted AFTER INSERT ON campanile.silences
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.silences_changed();
CREATE TRIGGER silences_updated AFTER UPDATE ON campanile.silences
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.silences_changed();
CREATE TRIGGER silences_deleted AFTER DELETE ON campanile.silences
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.silences_changed();

CREATE TRIGGER acks_inserted AFTER INSERT ON campanile.acks
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.acks_changed();
CREATE TRIGGER acks_updated AFTER UPDATE ON campanile.acks
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.acks_changed();
CREATE TRIGGER acks_deleted AFTER DELETE ON campanile.acks
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.acks_changed();

CREATE TRIGGER plugin_state_inserted AFTER INSERT ON campanile.plugin_state
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.plugin_state_changed();
CREATE TRIGGER plugin_state_updated AFTER UPDATE ON campanile.plugin_state
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.plugin_state_changed();
CREATE TRIGGER plugin_state_deleted AFTER DELETE ON campanile.plugin_state
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    WHEN (current_setting('campanile.replica', true) <> '') EXECUTE FUNCTION campanile.plugin_state_changed();
