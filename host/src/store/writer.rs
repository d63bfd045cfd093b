//! The writer thread: it takes requests off the queue, folds what is waiting into one
//! transaction (a **group commit**: while one transaction is made durable, new requests queue
//! up, and the next transaction takes all of them, so many concurrent ingest requests share one
//! fsync), applies it to the backend, answers the waiters, and keeps the writes of a failed
//! transaction for the next attempt. It knows nothing of the backend but [`Backend`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::backend::{Backend, Fenced};
use super::{Commit, CommitObserver, Durability, Op, Record, Request, StoreError};

/// The most requests folded into one transaction.
const MAX_BATCH: usize = 4096;

/// How soon the writes of a failed transaction are tried again: doubling from the first to the
/// last while the store keeps failing.
const RETRY_AFTER_FAILURE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));

/// The store is failing: when to try again, and what to answer until then.
struct Failing {
    retry_at: Instant,
    backoff: Duration,
    error: StoreError,
}

pub(super) fn run_writer(
    mut backend: Box<dyn Backend>,
    rx: std_mpsc::Receiver<Request>,
    durability: Durability,
    observe: CommitObserver,
    failing_flag: Arc<AtomicBool>,
) {
    let mut apply = |ops: &[Op], fenced: &[Fenced], durable: bool| {
        let started = Instant::now();
        let result = backend.apply(ops, fenced, durable);
        observe(&Commit {
            elapsed: started.elapsed(),
            durable,
            ok: result.is_ok(),
        });
        result
    };
    let flush_interval = match durability {
        Durability::Deferred { flush_interval } => flush_interval,
        _ => Duration::MAX,
    };
    let mut dirty = false;
    let mut last_sync = Instant::now();
    // The writes of transactions that failed, the last op per record. They go first into the
    // next attempt, so once the disk works again the store catches up with memory, even with
    // writes nobody waited for, and even where a sender's retry is an identical re-send the
    // cache settles without a write. Attempts are spaced out (RETRY_AFTER_FAILURE): each one
    // rewrites everything pending, so requests in between are refused at once, their writes
    // kept for the next attempt.
    let mut failed: HashMap<Record, Op> = HashMap::new();
    let mut failing: Option<Failing> = None;
    loop {
        let wait = if let Some(f) = &failing {
            Some(f.retry_at.saturating_duration_since(Instant::now()))
        } else if dirty {
            Some(flush_interval.saturating_sub(last_sync.elapsed()))
        } else {
            None
        };
        let first = if let Some(wait) = wait {
            match rx.recv_timeout(wait) {
                Ok(r) => Some(r),
                Err(std_mpsc::RecvTimeoutError::Timeout) => None,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(r) => Some(r),
                Err(_) => break,
            }
        };
        let mut ops: Vec<Op> = Vec::new();
        // Per op: keep it if the transaction fails (`Request::keep`).
        let mut keep: Vec<bool> = Vec::new();
        let mut waiters = Vec::new();
        // Flushes' writes, each with its fence and whoever waits for it.
        let mut fenced: Vec<Fenced> = Vec::new();
        let mut fenced_waiters = Vec::new();
        let mut stop = false;
        let mut take = |r: Request| {
            stop |= r.stop;
            if let Some(fence) = r.fence {
                fenced.push(Fenced { fence, ops: r.ops });
                fenced_waiters.push(r.done);
                return;
            }
            keep.extend(std::iter::repeat_n(r.keep, r.ops.len()));
            ops.extend(r.ops);
            waiters.extend(r.done);
        };
        if let Some(first) = first {
            take(first);
            for _ in 1..MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => take(r),
                    Err(_) => break,
                }
            }
        }
        let kept = |ops: Vec<Op>, keep: Vec<bool>| {
            ops.into_iter()
                .zip(keep)
                .filter(|(_, keep)| *keep)
                .map(|(op, _)| (op.record(), op))
        };
        if let Some(f) = failing
            .as_ref()
            .filter(|f| !stop && Instant::now() < f.retry_at)
        {
            failed.extend(kept(ops, keep));
            for w in waiters
                .into_iter()
                .chain(fenced_waiters.into_iter().flatten())
            {
                let _ = w.send(Err(f.error.clone()));
            }
            continue;
        }
        // Earlier failed writes first: a later op on the same record wins.
        let retried = failed.len();
        let ops: Vec<Op> = failed.drain().map(|(_, op)| op).chain(ops).collect();
        let keep: Vec<bool> = std::iter::repeat_n(true, retried).chain(keep).collect();
        let durable =
            stop || durability == Durability::Immediate || last_sync.elapsed() >= flush_interval;
        let result = apply(&ops, &fenced, durable);
        match &result {
            Ok(_) => {
                failing_flag.store(false, Ordering::Relaxed);
                if failing.take().is_some() {
                    tracing::info!(
                        ops = ops.len(),
                        "store writes work again; pending writes made"
                    );
                }
            }
            Err(e) => {
                let backoff = failing.as_ref().map_or(RETRY_AFTER_FAILURE.0, |f| {
                    (f.backoff * 2).min(RETRY_AFTER_FAILURE.1)
                });
                tracing::error!(error = %e, ops = ops.len(), retry_in = ?backoff, "store write failed; its writes are kept for the next attempt");
                failed.extend(kept(ops, keep));
                failing_flag.store(true, Ordering::Relaxed);
                failing = Some(Failing {
                    retry_at: Instant::now()
                        .checked_add(backoff)
                        .unwrap_or_else(Instant::now),
                    backoff,
                    error: e.clone(),
                });
            }
        }
        if durable {
            last_sync = Instant::now();
            dirty = false;
        } else {
            dirty = true;
        }
        for w in waiters {
            let _ = w.send(result.clone().map(|_| ()));
        }
        answer_fenced(&fenced, fenced_waiters, &result);
        if stop {
            return;
        }
    }
    // Every sender is gone: make what is written durable before the thread ends.
    if dirty || !failed.is_empty() {
        let ops: Vec<Op> = failed.into_values().collect();
        if let Err(e) = apply(&ops, &[], true) {
            tracing::error!(error = %e, "final store flush failed");
        }
    }
}

/// Tells each flush whether its writes were made: the transaction's error, or per flush
/// whether its fence held.
fn answer_fenced(
    fenced: &[Fenced],
    waiters: Vec<Option<oneshot::Sender<Result<(), StoreError>>>>,
    result: &Result<Vec<bool>, StoreError>,
) {
    for (i, (set, waiter)) in fenced.iter().zip(waiters).enumerate() {
        let answer = match result {
            Err(e) => Err(e.clone()),
            Ok(made) if made.get(i).copied().unwrap_or(false) => Ok(()),
            Ok(_) => Err(StoreError::Fenced {
                shard: set.fence.shard,
                epoch: set.fence.epoch,
            }),
        };
        if let Some(w) = waiter {
            let _ = w.send(answer);
        }
    }
}
