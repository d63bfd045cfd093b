//! The cluster's task: a lease round every `lease_ttl / 3`, and for each shard taken, its
//! groups' records handed to the dispatcher ([`Takeover`]) and its undelivered outbox entries
//! to the routing stage, to deliver under the new lease. At shutdown the rounds go on renewing
//! (taking nothing) while deliveries in flight finish and the store writes what it holds; then
//! [`Membership::leave`] gives the leases back, so the others take over at once and read every
//! record this replica wrote.

use std::collections::HashMap;
use std::sync::Arc;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lease::{log_round, Leases, Round};
use crate::group::{FlushLease, Owner, Takeover};
use crate::store::{Fence, OutboxEntry};
use crate::telemetry::{LeaseChangeLabels, Metrics};

/// Undelivered outbox entries of a shard taken over, with the lease to deliver them under.
pub type Replay = (Vec<(u64, OutboxEntry)>, FlushLease);

impl Owner for Leases {
    fn shard(&self, key: &str) -> u32 {
        super::shard_of(key, self.shards())
    }

    fn fence(&self, shard: u32) -> Option<Fence> {
        self.holds(shard).map(|epoch| self.fence_at(shard, epoch))
    }

    /// The lease runs out within the TTL and the round timed to its expiry takes it: twice
    /// the TTL bounds that with room for slow or failed rounds.
    fn takeover_within(&self) -> std::time::Duration {
        self.lease_ttl().saturating_mul(2)
    }

    fn unsettled(&self, shard: u32, epoch: i64) -> bool {
        Leases::unsettled(self, shard, epoch)
    }
}

/// How long after another replica's lease runs out the round that may take it comes: the
/// database's `now()` moves on while the statement that asks reaches it.
const EXPIRY_MARGIN: Duration = Duration::from_millis(20);

/// A running replica's lease rounds, and how to end them.
pub struct Membership {
    leave: CancellationToken,
    rounds: JoinHandle<()>,
}

impl Membership {
    /// `rounds` is [`run`] with `leave`.
    pub fn new(leave: CancellationToken, rounds: JoinHandle<()>) -> Membership {
        Membership { leave, rounds }
    }

    /// Gives the leases back and leaves the replicas' table, waiting at most `within`. Call it
    /// once nothing more will be written: the next holders read the records at once.
    pub async fn leave(self, within: Duration) {
        self.leave.cancel();
        if tokio::time::timeout(within, self.rounds).await.is_err() {
            tracing::warn!(
                "leaving the cluster took too long; the others take the shards after the TTL"
            );
        }
    }
}

/// Runs the rounds until `leave`, then leaves the cluster. From `shutdown` on, they take no
/// shard.
pub async fn run(
    leases: Arc<Leases>,
    takeovers: mpsc::UnboundedSender<Takeover>,
    replays: mpsc::UnboundedSender<Replay>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    leave: CancellationToken,
) {
    let every = leases.lease_ttl() / 3;
    // The epoch each held shard was handed over at; a shard held at another epoch (taken this
    // round, or whose records could not be read before) is handed over now.
    let mut handed: HashMap<u32, i64> = HashMap::new();
    loop {
        if shutdown.is_cancelled() {
            leases.stop_taking();
        }
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(every, leases.tick()).await;
        metrics
            .cluster_round_duration
            .observe(started.elapsed().as_secs_f64());
        // Until the next round: a third of the TTL, or just past the first lease of another
        // replica to run out, if sooner.
        let mut pause = every;
        match result {
            Ok(Ok(round)) => {
                if let Some(expiry) = round.next_expiry {
                    pause = pause.min(expiry.saturating_add(EXPIRY_MARGIN));
                }
                log_round(leases.replica(), &round);
                count(&metrics, &round);
                let held = leases.held();
                handed.retain(|shard, epoch| held.contains(&(*shard, *epoch)));
                for (shard, epoch) in held {
                    if handed.get(&shard) != Some(&epoch)
                        && take_over(&leases, shard, epoch, &takeovers, &replays).await
                    {
                        handed.insert(shard, epoch);
                    }
                }
            }
            Ok(Err(e)) => {
                metrics.cluster_round_failures.inc();
                tracing::warn!(replica = %leases.replica(), error = %e, "lease round failed; held leases run out unless a later round renews them")
            }
            Err(_) => {
                // A round that hangs is a database out of reach too.
                metrics.cluster_round_failures.inc();
                leases.mark_unreachable();
                tracing::warn!(replica = %leases.replica(), "lease round timed out");
            }
        }
        metrics
            .cluster_database_reachable
            .set(i64::from(!leases.degraded()));
        metrics
            .cluster_shards_held
            .set(i64::try_from(leases.held().len()).unwrap_or(i64::MAX));
        tokio::select! {
            () = leave.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    if let Err(e) = leases.leave().await {
        tracing::warn!(error = %e, "could not give the leases back; the others take them after the TTL");
    }
}

fn count(metrics: &Metrics, round: &Round) {
    metrics.cluster_replicas.set(i64::from(round.replicas));
    for (change, n) in [
        ("taken", round.taken.len()),
        ("released", round.released.len()),
        ("lost", round.lost.len()),
    ] {
        metrics
            .cluster_lease_changes
            .get_or_create(&LeaseChangeLabels { change })
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }
}

/// Reads a shard's records and hands them on; whether it could. If they cannot be read, the
/// shard is not ready here (its groups are not flushed) and the next round tries again.
async fn take_over(
    leases: &Arc<Leases>,
    shard: u32,
    epoch: i64,
    takeovers: &mpsc::UnboundedSender<Takeover>,
    replays: &mpsc::UnboundedSender<Replay>,
) -> bool {
    let (notified, outbox) = match leases.read_shard(shard).await {
        Ok(read) => read,
        Err(e) => {
            tracing::warn!(shard, error = %e, "cannot read a shard taken over; its groups wait for the next round");
            return false;
        }
    };
    tracing::info!(
        shard,
        epoch,
        groups = notified.len(),
        outbox = outbox.len(),
        "shard taken over"
    );
    let _ = takeovers.send(Takeover {
        shard,
        epoch,
        records: notified.into_iter().collect::<HashMap<_, _>>(),
    });
    if !outbox.is_empty() {
        let owner: Arc<dyn Owner> = leases.clone();
        let fence = leases.fence_at(shard, epoch);
        let _ = replays.send((outbox, FlushLease::new(fence, owner)));
    }
    true
}
