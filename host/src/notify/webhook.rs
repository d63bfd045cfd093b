//! The `webhook` integration: POSTs Alertmanager's webhook v4 JSON.

use std::sync::Arc;

use super::http::post_json;
use super::integrations::Integration;
use super::payload::webhook_message;
use super::{BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, WebhookConfig};

pub struct Webhook {
    client: reqwest::Client,
    config: WebhookConfig,
}

impl Webhook {
    pub fn new(client: reqwest::Client, config: WebhookConfig) -> Self {
        Webhook { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let url = self.config.url.expose();
        let body = webhook_message(n, self.config.max_alerts);
        post_json(self.client.post(url.clone()), &body, &[url.as_str()]).await
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

impl Integration for WebhookConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Webhook::new(client.clone(), self.clone()))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        serde_json::to_vec(&webhook_message(n, self.max_alerts))
            .expect("notification bodies serialise")
    }
}
