//! Long-lived tasks, and what happens when one dies.
//!
//! The dispatcher, the routing pipeline, the receivers' workers, the housekeeping tasks, the
//! HTTP server and the store's writer live as long as the process. Should one of them panic (a bug), campanile can
//! no longer do its job — alerts would be accepted and never flushed, or refused with 503
//! forever — so it does not pretend: `/-/healthy` and `/-/ready` answer 503 naming the task,
//! and the process shuts down as on SIGTERM and exits with status 3, for its supervisor
//! (systemd, Kubernetes) to restart it. The restart reloads everything from the store, so
//! nothing that was acknowledged is lost.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Watches the long-lived tasks; the first one to die fails the process.
#[derive(Debug)]
pub struct Supervisor {
    failed: OnceLock<String>,
    shutdown: CancellationToken,
}

impl Supervisor {
    /// A supervisor that cancels `shutdown` when a task dies.
    pub fn new(shutdown: CancellationToken) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            failed: OnceLock::new(),
            shutdown,
        })
    }

    /// Runs `task` on the runtime. The handle returned ends when the task ends; a panic in
    /// it fails the process.
    pub fn spawn<F>(self: &Arc<Self>, name: impl Into<String>, task: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        let inner = tokio::spawn(task);
        let supervisor = self.clone();
        tokio::spawn(async move {
            if let Err(e) = inner.await {
                if e.is_panic() {
                    let panic = e.into_panic();
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".into());
                    supervisor.fail(&name, &message);
                }
            }
        })
    }

    /// Fails the process when `stopped` completes before shutdown began: for work that runs
    /// outside the runtime (the store's writer thread), which signals its own end.
    pub fn watch(
        self: &Arc<Self>,
        name: &'static str,
        stopped: impl Future<Output = ()> + Send + 'static,
    ) {
        let supervisor = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stopped => {
                    if !supervisor.shutdown.is_cancelled() {
                        supervisor.fail(name, "it stopped before shutdown");
                    }
                }
                _ = supervisor.shutdown.cancelled() => {}
            }
        });
    }

    /// Marks the process failed because of `task` and starts the shutdown.
    pub fn fail(&self, task: &str, why: &str) {
        if self.failed.set(task.to_string()).is_ok() {
            tracing::error!(
                task,
                "{task} has died ({why}); campanile is not healthy and stops, to be restarted \
                 from its store by its supervisor (exit status 3)"
            );
        }
        self.shutdown.cancel();
    }

    /// The token cancelled when the process shuts down, by a signal or a failure.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The task that failed the process, if one has.
    pub fn failed(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_fails_the_process() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        supervisor.spawn("quiet", async {}).await.unwrap();
        assert_eq!(supervisor.failed(), None, "a task that ends is no failure");
        assert!(!shutdown.is_cancelled());

        let n: u64 = std::hint::black_box(u64::MAX);
        supervisor
            .spawn("dispatcher", async move {
                let _ = n.checked_add(1).expect("overflow");
            })
            .await
            .unwrap();
        assert_eq!(supervisor.failed(), Some("dispatcher"));
        assert!(shutdown.is_cancelled(), "the process shuts down");

        supervisor.fail("later", "second failure");
        assert_eq!(
            supervisor.failed(),
            Some("dispatcher"),
            "the first one is kept"
        );
    }

    #[tokio::test]
    async fn work_stopping_before_shutdown_fails_the_process() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        supervisor.watch("store writer", async move {
            let _ = rx.await;
        });
        drop(tx);
        shutdown.cancelled().await;
        assert_eq!(supervisor.failed(), Some("store writer"));
    }

    #[tokio::test]
    async fn work_stopping_at_shutdown_is_no_failure() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        supervisor.watch("store writer", async move {
            let _ = rx.await;
        });
        shutdown.cancel();
        tokio::task::yield_now().await;
        drop(tx);
        tokio::task::yield_now().await;
        assert_eq!(supervisor.failed(), None);
    }
}
