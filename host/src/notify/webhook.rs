//! The `webhook` integration: POSTs Alertmanager's webhook v4 JSON.

use super::http::post_json;
use super::payload::webhook_message;
use super::{BoxFuture, Notification, Notifier, NotifyError};
use crate::config::Secret;

pub struct Webhook {
    client: reqwest::Client,
    url: Secret<reqwest::Url>,
    max_alerts: usize,
}

impl Webhook {
    pub fn new(client: reqwest::Client, url: Secret<reqwest::Url>, max_alerts: usize) -> Self {
        Webhook {
            client,
            url,
            max_alerts,
        }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let request = self.client.post(self.url.expose().clone());
        let secret = self.url.expose().as_str();
        post_json(request, &webhook_message(n, self.max_alerts), &[secret]).await
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
