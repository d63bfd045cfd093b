//! Leases on shards, in PostgreSQL: which replica may flush which groups.
//!
//! Every `lease_ttl / 3` a replica's [`Leases::tick`] makes one round:
//! 1. **heartbeat** — its row in `campanile.replicas` is seen now (a second process with the
//!    same name is refused);
//! 2. **renew** — every lease it holds that has not expired moves to `now() + ttl` on the
//!    database's clock; a lease not renewed is lost, and dropped here at once;
//! 3. **balance** — its fair share is ⌈shards / live replicas⌉: past it, it gives leases back
//!    (dropping them here *before* the database hears of it); short of it, it takes leases that
//!    are free or expired, each taking incrementing the shard's `epoch`.
//!
//! The next round comes `lease_ttl / 3` later, or just after the first lease of another replica
//! runs out if that is sooner ([`Round::next_expiry`]): a dead replica's shards are taken within
//! a few milliseconds of the TTL, not up to a third of it later (a dead replica stops counting
//! as live at the same moment, as its last heartbeat came just before its last renewal).
//!
//! **Why two replicas never flush one shard at once.** A replica takes a shard only once its
//! lease has expired on the database's clock, and a holder believes in its lease only until
//! `t0 + ttl - margin`, with `t0` its own monotonic time taken *before* the statement that set
//! the expiry: the database's expiry is later than that by the statement's round trip and the
//! margin. So the holder's belief ends before anyone may take over, however long it was paused,
//! as long as the two clocks run at the same rate (the margin covers a drift of 20 %). The epoch
//! is the fencing token: a write of a flush names its shard and epoch and is refused by the
//! database if the lease has moved on, so even a holder whose belief outlived its lease cannot
//! commit a flush.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::shard_of;
use crate::config::{ClusterConfig, PostgresConfig};
use crate::store::postgres::{connect_pool, describe, describe_pool, migrate, read_groups, FENCE};
use crate::store::{Fence, NotifiedRecord, OutboxEntry};

/// Why the cluster could not be joined or a round failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    #[error("the database: {0}")]
    Database(String),
    #[error(
        "the cluster in this database has {stored} shards, this replica's cluster.shards is \
         {configured}: every replica must use the same number"
    )]
    Shards { stored: u32, configured: u32 },
    #[error(
        "another process runs as replica {0:?} (seen within the lease TTL): give each replica its \
         own cluster.replica"
    )]
    Duplicate(String),
}

/// A lease this replica holds: the fencing token, and how long to believe in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub epoch: i64,
    pub until: Instant,
}

impl Held {
    /// Whether the lease may be flushed under at `now`: believed in, or the database
    /// unreachable (`degraded`, see [`Leases::degraded`]).
    fn believed(&self, now: Instant, degraded: bool) -> bool {
        degraded || now < self.until
    }
}

/// What one round did, for logs, metrics and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Shards taken this round (another replica's, expired, or never held), with their epochs.
    pub taken: Vec<(u32, i64)>,
    /// Shards given back to balance the cluster.
    pub released: Vec<u32>,
    /// Shards this replica believed it held and found it did not.
    pub lost: Vec<u32>,
    /// Live replicas, this one included.
    pub replicas: u32,
    /// How long until the first lease another replica holds runs out, on the database's
    /// clock: a lease not renewed by then is its holder's death, and the next round should
    /// come right after it, not up to a third of the TTL later.
    pub next_expiry: Option<Duration>,
}

/// A replica as the others see it (`GET /api/v2/status`).
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub name: String,
    pub address: String,
    pub version: String,
    pub seen_at: OffsetDateTime,
    pub shards: u32,
}

/// This replica's leases.
pub struct Leases {
    pool: Pool,
    /// Where the database is, without credentials: for logs.
    database: String,
    config: ClusterConfig,
    /// A random id of this process, told apart from another with the same name.
    instance: String,
    held: RwLock<BTreeMap<u32, Held>>,
    /// Set when a round could not reach the database, cleared by the next that does.
    unreachable: AtomicBool,
    /// The live replicas as the last round saw them.
    peers: RwLock<Vec<Peer>>,
    /// Set once this replica is stopping: its rounds renew and give back, never take.
    leaving: AtomicBool,
}

impl Leases {
    /// Connects to the store's database with a pool of its own and joins the cluster there
    /// (see [`Leases::join`]).
    pub async fn connect(
        store: &PostgresConfig,
        config: ClusterConfig,
    ) -> Result<Leases, ClusterError> {
        let (pool, database) =
            connect_pool(store).map_err(|e| ClusterError::Database(e.to_string()))?;
        Self::join(pool, database, config).await
    }

    /// Joins the cluster in the database behind `pool`: applies the schema migrations, records the shard count if this is the
    /// first replica (or checks it against the recorded one), makes a lease row per shard, and
    /// announces this replica. Holds nothing yet: the first [`Leases::tick`] takes its share.
    async fn join(
        pool: Pool,
        database: String,
        config: ClusterConfig,
    ) -> Result<Leases, ClusterError> {
        let leases = Leases {
            pool,
            database,
            config,
            instance: uuid::Uuid::new_v4().to_string(),
            held: RwLock::new(BTreeMap::new()),
            unreachable: AtomicBool::new(false),
            peers: RwLock::new(Vec::new()),
            leaving: AtomicBool::new(false),
        };
        let mut client = leases.client().await?;
        // The store migrated at its open; a replica that joins by itself migrates too (once,
        // under the migrations' lock).
        migrate(&mut client).await.map_err(ClusterError::Database)?;
        let shards = i32::try_from(leases.config.shards).unwrap_or(i32::MAX);
        let stored: i32 = client
            .query_one(
                "WITH made AS (INSERT INTO campanile.cluster (shards) VALUES ($1) \
                 ON CONFLICT (singleton) DO NOTHING RETURNING shards) \
                 SELECT shards FROM made UNION ALL SELECT shards FROM campanile.cluster",
                &[&shards],
            )
            .await
            .map_err(db)?
            .get(0);
        if stored != shards {
            return Err(ClusterError::Shards {
                stored: u32::try_from(stored).unwrap_or(0),
                configured: leases.config.shards,
            });
        }
        client
            .execute(
                "INSERT INTO campanile.leases (shard) SELECT generate_series(0, $1 - 1) \
                 ON CONFLICT (shard) DO NOTHING",
                &[&shards],
            )
            .await
            .map_err(db)?;
        leases.heartbeat(&client, true).await?;
        Ok(leases)
    }

    pub fn lease_ttl(&self) -> Duration {
        self.config.lease_ttl
    }

    pub fn replica(&self) -> &str {
        &self.config.replica
    }

    pub fn shards(&self) -> u32 {
        self.config.shards
    }

    /// The epoch of shard `shard` if this replica may flush its groups now: while its lease is
    /// believed in, or — the database unreachable since the last round that renewed it — for as
    /// long as the database stays unreachable (see [`Leases::degraded`]).
    pub fn holds(&self, shard: u32) -> Option<i64> {
        let degraded = self.degraded();
        let held = self.held.read().expect("leases lock");
        held.get(&shard)
            .filter(|h| h.believed(Instant::now(), degraded))
            .map(|h| h.epoch)
    }

    /// Whether the lease on `shard` at `epoch` is no longer believed in but not yet found lost:
    /// a round is late, and the next one renews it or finds it gone.
    pub fn unsettled(&self, shard: u32, epoch: i64) -> bool {
        let degraded = self.degraded();
        let held = self.held.read().expect("leases lock");
        held.get(&shard)
            .is_some_and(|h| h.epoch == epoch && !h.believed(Instant::now(), degraded))
    }

    /// The fence of this replica's lease on `shard` at `epoch`, which its flushes are written under.
    pub fn fence_at(&self, shard: u32, epoch: i64) -> Fence {
        Fence {
            replica: self.config.replica.clone(),
            shard,
            epoch,
        }
    }

    /// The shards held now, with their epochs.
    pub fn held(&self) -> Vec<(u32, i64)> {
        let (now, degraded) = (Instant::now(), self.degraded());
        let held = self.held.read().expect("leases lock");
        held.iter()
            .filter(|(_, h)| h.believed(now, degraded))
            .map(|(s, h)| (*s, h.epoch))
            .collect()
    }

    /// Whether the last round could not reach the database. Then this replica keeps flushing
    /// the shards it last held, from memory: a page due while the database is down still goes
    /// out. Should the others still reach the database (a partition of this replica alone),
    /// they take those shards over after the TTL, and until the partition heals a group can be
    /// told by both — with the same group key. The first round that reaches the database again
    /// ends it: a lease taken meanwhile is found lost and dropped at once.
    pub fn degraded(&self) -> bool {
        self.unreachable.load(Ordering::Relaxed)
    }

    /// One round: heartbeat, renew, balance (see the module's notes).
    pub async fn tick(&self) -> Result<Round, ClusterError> {
        let result = self.round().await;
        let unreachable = matches!(result, Err(ClusterError::Database(_)));
        let was = self.unreachable.swap(unreachable, Ordering::Relaxed);
        if unreachable && !was {
            tracing::error!(
                replica = %self.config.replica,
                shards = self.held.read().expect("leases lock").len(),
                "the database is unreachable: flushing the shards held, from memory, until it is back"
            );
        } else if was && !unreachable {
            tracing::info!(replica = %self.config.replica, "the database is reachable again");
        }
        result
    }

    /// From now on this replica's rounds take no shard: it is stopping, and keeps what it
    /// holds only until its deliveries in flight are done and it [`Leases::leave`]s.
    pub fn stop_taking(&self) {
        self.leaving.store(true, Ordering::Relaxed);
    }

    /// Records that a round did not complete (it timed out).
    pub fn mark_unreachable(&self) {
        self.unreachable.store(true, Ordering::Relaxed);
    }

    async fn round(&self) -> Result<Round, ClusterError> {
        let client = self.client().await?;
        let mut round = Round::default();
        self.heartbeat(&client, false).await?;

        let t0 = Instant::now();
        let renewed = client
            .query(
                "UPDATE campanile.leases SET expires_at = now() + ($2::bigint * interval '1 microsecond') \
                 WHERE holder = $1 AND expires_at > now() RETURNING shard, epoch",
                &[&self.config.replica, &self.pg_ttl()],
            )
            .await
            .map_err(db)?;
        let until = self.believe_until(t0);
        {
            let mut held = self.held.write().expect("leases lock");
            let renewed: BTreeMap<u32, Held> = renewed
                .iter()
                .map(|r| {
                    (
                        shard(r.get(0)),
                        Held {
                            epoch: r.get(1),
                            until,
                        },
                    )
                })
                .collect();
            round.lost = held
                .keys()
                .filter(|s| !renewed.contains_key(s))
                .copied()
                .collect();
            *held = renewed;
        }

        let live: i64 = client
            .query_one(
                "SELECT count(*) FROM campanile.replicas WHERE seen_at > now() - ($1::bigint * interval '1 microsecond')",
                &[&self.pg_ttl()],
            )
            .await
            .map_err(db)?
            .get(0);
        round.replicas = u32::try_from(live.max(1)).unwrap_or(u32::MAX);
        let share = self.config.shards.div_ceil(round.replicas);
        let holding = u32::try_from(self.held.read().expect("leases lock").len()).unwrap_or(0);

        if holding > share {
            // Forget them here first: from this moment this replica flushes none of them.
            let give: Vec<u32> = {
                let mut held = self.held.write().expect("leases lock");
                let give: Vec<u32> = held
                    .keys()
                    .rev()
                    .take(usize::try_from(holding.saturating_sub(share)).unwrap_or(0))
                    .copied()
                    .collect();
                for s in &give {
                    held.remove(s);
                }
                give
            };
            let give_i32: Vec<i32> = give.iter().map(|&s| pg_shard(s)).collect();
            client
                .execute(
                    "UPDATE campanile.leases SET holder = NULL, expires_at = '-infinity' \
                     WHERE holder = $1 AND shard = ANY($2)",
                    &[&self.config.replica, &give_i32],
                )
                .await
                .map_err(db)?;
            round.released = give;
        } else if holding < share && !self.leaving.load(Ordering::Relaxed) {
            let want = i64::from(share.saturating_sub(holding));
            let t0 = Instant::now();
            let taken = client
                .query(
                    "UPDATE campanile.leases SET holder = $1, epoch = epoch + 1, \
                     expires_at = now() + ($2::bigint * interval '1 microsecond'), taken_at = now() \
                     WHERE shard IN (SELECT shard FROM campanile.leases \
                         WHERE expires_at <= now() ORDER BY shard LIMIT $3 \
                         FOR UPDATE SKIP LOCKED) \
                     RETURNING shard, epoch",
                    &[&self.config.replica, &self.pg_ttl(), &want],
                )
                .await
                .map_err(db)?;
            let until = self.believe_until(t0);
            let mut held = self.held.write().expect("leases lock");
            for row in taken {
                let (s, epoch): (u32, i64) = (shard(row.get(0)), row.get(1));
                held.insert(s, Held { epoch, until });
                round.taken.push((s, epoch));
            }
        }
        let next: Option<f64> = client
            .query_one(
                "SELECT extract(epoch FROM min(expires_at) - now())::float8 FROM campanile.leases \
                 WHERE holder IS DISTINCT FROM $1 AND expires_at > now()",
                &[&self.config.replica],
            )
            .await
            .map_err(db)?
            .get(0);
        round.next_expiry = next.and_then(|s| Duration::try_from_secs_f64(s).ok());
        drop(client);
        let peers = self.peers().await?;
        *self.peers.write().expect("peers lock") = peers;
        Ok(round)
    }

    /// Whether the database still holds shard `shard` for this replica at `epoch`: the check
    /// that fences a flush's writes (`store::postgres::FENCE`), asked on its own.
    pub async fn verify(&self, shard: u32, epoch: i64) -> Result<bool, ClusterError> {
        let client = self.client().await?;
        let sql = format!("SELECT EXISTS (SELECT 1 FROM campanile.leases l WHERE {FENCE})");
        Ok(client
            .query_one(&sql, &[&pg_shard(shard), &self.config.replica, &epoch])
            .await
            .map_err(db)?
            .get(0))
    }

    /// What the groups of `shard` last notified, and their undelivered outbox entries, as the
    /// store has them now: read after taking the shard, so the previous holder's last fenced
    /// flush is in it (a takeover waits for a flush holding the lease row).
    pub async fn read_shard(
        &self,
        shard: u32,
    ) -> Result<(Vec<(String, NotifiedRecord)>, Vec<(u64, OutboxEntry)>), ClusterError> {
        let client = self.client().await?;
        let shards = self.config.shards;
        read_groups(&client, &self.database, |key| {
            shard_of(key, shards) == shard
        })
        .await
        .map_err(ClusterError::Database)
    }

    /// Gives every lease back and leaves the replicas' table, so the others take over at their
    /// next round rather than after the TTL (a rolling restart). Holds nothing afterwards.
    pub async fn leave(&self) -> Result<(), ClusterError> {
        self.held.write().expect("leases lock").clear();
        let client = self.client().await?;
        client
            .execute(
                "UPDATE campanile.leases SET holder = NULL, expires_at = '-infinity' \
                 WHERE holder = $1",
                &[&self.config.replica],
            )
            .await
            .map_err(db)?;
        client
            .execute(
                "DELETE FROM campanile.replicas WHERE name = $1 AND instance = $2",
                &[&self.config.replica, &self.instance],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The live replicas as the last round saw them (for the status, without a query).
    pub fn last_peers(&self) -> Vec<Peer> {
        self.peers.read().expect("peers lock").clone()
    }

    /// The live replicas, with the shards each holds, read now.
    pub async fn peers(&self) -> Result<Vec<Peer>, ClusterError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT r.name, r.address, r.version, \
                        r.seen_at, \
                        (SELECT count(*) FROM campanile.leases l \
                         WHERE l.holder = r.name AND l.expires_at > now()) \
                 FROM campanile.replicas r WHERE r.seen_at > now() - ($1::bigint * interval '1 microsecond') ORDER BY r.name",
                &[&self.pg_ttl()],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| Peer {
                name: r.get(0),
                address: r.get(1),
                version: r.get(2),
                seen_at: r.get(3),
                shards: u32::try_from(r.get::<_, i64>(4)).unwrap_or(0),
            })
            .collect())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, ClusterError> {
        self.pool
            .get()
            .await
            .map_err(|e| ClusterError::Database(describe_pool(&e)))
    }

    /// Announces this replica (`first`: at join, taking over the row of a process of the same
    /// name that is no longer seen) or marks it seen. A live row of another process with this
    /// name is an error, at join and later: two processes must never hold leases as one.
    async fn heartbeat(
        &self,
        client: &deadpool_postgres::Object,
        first: bool,
    ) -> Result<(), ClusterError> {
        let row = client
            .query_opt(
                "INSERT INTO campanile.replicas AS r \
                     (name, instance, address, version, started_at, seen_at) \
                 VALUES ($1, $2, $3, $4, now(), now()) \
                 ON CONFLICT (name) DO UPDATE SET \
                     instance = EXCLUDED.instance, address = EXCLUDED.address, \
                     version = EXCLUDED.version, seen_at = now(), \
                     started_at = CASE WHEN r.instance = EXCLUDED.instance \
                                       THEN r.started_at ELSE now() END \
                 WHERE r.instance = EXCLUDED.instance OR ($6 AND r.seen_at <= now() - ($5::bigint * interval '1 microsecond')) \
                 RETURNING name",
                &[
                    &self.config.replica,
                    &self.instance,
                    &self.config.advertise,
                    &env!("CARGO_PKG_VERSION"),
                    &self.pg_ttl(),
                    &first,
                ],
            )
            .await
            .map_err(db)?;
        match row {
            Some(_) => Ok(()),
            None => {
                // Another process runs under this name: hold nothing, at once.
                self.held.write().expect("leases lock").clear();
                Err(ClusterError::Duplicate(self.config.replica.clone()))
            }
        }
    }

    /// How long to believe in a lease whose expiry was set by a statement started at `t0`.
    fn believe_until(&self, t0: Instant) -> Instant {
        let ttl = self.config.lease_ttl;
        let margin = ttl / 5;
        t0.checked_add(ttl.saturating_sub(margin)).unwrap_or(t0)
    }

    /// The TTL in microseconds, which the statements turn into an interval.
    fn pg_ttl(&self) -> i64 {
        i64::try_from(self.config.lease_ttl.as_micros()).unwrap_or(i64::MAX)
    }
}

fn db(e: tokio_postgres::Error) -> ClusterError {
    ClusterError::Database(describe(&e))
}

fn shard(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn pg_shard(s: u32) -> i32 {
    i32::try_from(s).unwrap_or(i32::MAX)
}

pub(super) fn log_round(replica: &str, round: &Round) {
    if !round.taken.is_empty() || !round.released.is_empty() || !round.lost.is_empty() {
        tracing::info!(
            replica,
            taken = ?round.taken,
            released = ?round.released,
            lost = ?round.lost,
            replicas = round.replicas,
            "leases changed"
        );
    }
}
