-- campanile's durable state, one table per kind of record (as the embedded store has).
-- Records are campanile's own JSON encoding, stored as bytea: label values may hold any
-- character, NUL included, which PostgreSQL's text and jsonb cannot.
CREATE TABLE campanile.alerts (
    fingerprint bigint PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE campanile.notified (
    group_key bytea PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE campanile.outbox (
    id bigint PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE campanile.silences (
    id text PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE campanile.acks (
    group_key bytea PRIMARY KEY,
    record bytea NOT NULL
);
CREATE TABLE campanile.plugin_state (
    plugin text NOT NULL,
    key bytea NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (plugin, key)
);
