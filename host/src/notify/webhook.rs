//! The `webhook` integration: POSTs Alertmanager's webhook v4 JSON.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::payload::webhook_message;
use super::{BoxFuture, Notification, Notifier, NotifyError};

pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
    max_alerts: usize,
}

impl Webhook {
    pub fn new(
        client: reqwest::Client,
        url: reqwest::Url,
        timeout: Duration,
        max_alerts: usize,
    ) -> Self {
        Webhook {
            client,
            url,
            timeout,
            max_alerts,
        }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let body =
            serde_json::to_vec(&webhook_message(n, self.max_alerts)).expect("payload serialises");
        let resp = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            // Without the URL: it may carry a token.
            .map_err(|e| NotifyError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        Err(NotifyError::Status {
            status: status.as_u16(),
            body: text.chars().take(512).collect(),
            retry_after,
        })
    }
}

impl Notifier for Webhook {
    fn integration(&self) -> &'static str {
        "webhook"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}
