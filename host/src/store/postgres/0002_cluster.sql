-- Several replicas on one database: who is alive, and who holds which shard of the groups.
-- The cluster's fixed settings: the number of shards may never differ between replicas.
CREATE TABLE campanile.cluster (
    shards integer NOT NULL CHECK (shards > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
-- Each replica's heartbeat: live while seen_at is within the lease TTL.
CREATE TABLE campanile.replicas (
    name text PRIMARY KEY,
    -- A random id per process: two processes that share a name are refused.
    instance text NOT NULL,
    address text NOT NULL,
    version text NOT NULL,
    started_at timestamptz NOT NULL,
    seen_at timestamptz NOT NULL
);
-- One row per shard. A replica holds a shard while it is `holder` and `expires_at` (the
-- database's clock) is ahead; every taking of a shard increments `epoch`, the fencing token
-- that each write of a flush carries.
CREATE TABLE campanile.leases (
    shard integer PRIMARY KEY,
    holder text,
    epoch bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    taken_at timestamptz
);
