//! How the peer answers one request: status, headers, body, and the ways a real service
//! misbehaves (a delay, a hang until released, a body of many megabytes).

use std::time::Duration;

/// How the peer answers one request.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Waits this long before answering (a hang, when longer than the client's timeout).
    pub delay: Duration,
    /// Waits until [`super::HttpPeer::release`] before answering.
    pub held: bool,
    /// Bytes of padding streamed after `body`, chunked, never held in memory at once.
    pub padding: usize,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
            held: false,
            padding: 0,
        }
    }

    /// `status` with an empty body.
    pub fn status(status: u16) -> Answer {
        Answer::new(status, "")
    }

    /// After the body, `bytes` more (`x`s) in 64 KiB chunks, with chunked transfer encoding.
    pub fn padded(mut self, bytes: usize) -> Answer {
        self.padding = bytes;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    /// Answers only once the test calls [`super::HttpPeer::release`].
    pub fn held(mut self) -> Answer {
        self.held = true;
        self
    }

    /// Slack's incoming webhooks (and Mattermost's): 200 with the text `ok`.
    pub fn slack_ok() -> Answer {
        Answer::new(200, "ok").header("content-type", "text/plain")
    }

    /// PagerDuty Events API v2: 202 with a JSON status.
    pub fn pagerduty_accepted() -> Answer {
        Answer::new(
            202,
            r#"{"status":"success","message":"Event processed","dedup_key":"srv01/HTTP"}"#,
        )
        .header("content-type", "application/json")
    }

    /// Opsgenie Alert API: 202 with a request id.
    pub fn opsgenie_accepted() -> Answer {
        Answer::new(
            202,
            r#"{"result":"Request will be processed","took":0.107,"requestId":"43a29c5c-3dbf-4fa4-9c26-f4f71023e120"}"#,
        )
        .header("content-type", "application/json")
    }

    /// Discord's webhook without `?wait=true`, and Teams workflows: no content.
    pub fn no_content() -> Answer {
        Answer::status(204)
    }

    /// Teams workflow webhooks: 202, empty.
    pub fn accepted() -> Answer {
        Answer::status(202)
    }
}
