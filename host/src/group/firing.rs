//! Which groups fire: asked of the dispatcher, which owns the groups, instead of being
//! re-derived by running every alert through the routing tree. Acknowledgements ask it (only a
//! group with a firing alert can be acknowledged; one that stops firing loses its
//! acknowledgement).

use std::collections::HashSet;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// A question for the dispatcher: the keys of the groups with an alert firing at `at`.
pub struct FiringQuery {
    pub at: OffsetDateTime,
    pub reply: oneshot::Sender<HashSet<String>>,
}

/// Asks the dispatcher which groups fire. It answers between batches, after every batch sent
/// before the question (so an alert whose POST was answered is counted). Each asker waits for
/// its answer, so the questions queued are at most the requests in flight.
#[derive(Clone)]
pub struct FiringGroups(mpsc::UnboundedSender<FiringQuery>);

/// The dispatcher is gone: campanile is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the dispatcher is not running (campanile is shutting down)")]
pub struct DispatcherGone;

impl FiringGroups {
    /// A handle, and the receiving end for [`super::Dispatcher::with_queries`].
    pub fn channel() -> (FiringGroups, mpsc::UnboundedReceiver<FiringQuery>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (FiringGroups(tx), rx)
    }

    /// The keys of the groups with an alert firing at `at`.
    pub async fn at(&self, at: OffsetDateTime) -> Result<HashSet<String>, DispatcherGone> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send(FiringQuery { at, reply })
            .map_err(|_| DispatcherGone)?;
        answer.await.map_err(|_| DispatcherGone)
    }

    /// Whether the group `key` has an alert firing at `at`.
    pub async fn fires(&self, key: &str, at: OffsetDateTime) -> Result<bool, DispatcherGone> {
        Ok(self.at(at).await?.contains(key))
    }
}
