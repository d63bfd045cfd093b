//! Signed acknowledgement links: `<external_url>/ack/<token>`, sent in notifications so that
//! whoever reads one can acknowledge the group without an API token.
//!
//! The token holds the group key and an expiry, signed with HMAC-SHA256 under `[acks]
//! signing_key`: `base64url(expiry "." group_key) "." base64url(mac)`. The signature is the
//! authorization, so the endpoint needs no bearer token; it only ever acknowledges the group it
//! names, until the expiry. Opening the link (GET) shows a page with a button; only the POST
//! acknowledges, because chat and mail clients fetch links to preview them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::config::AcksConfig;
use crate::config::Secret;

/// Binds the MAC to this use, so the key signs nothing else by accident.
const CONTEXT: &[u8] = b"campanile ack link v1\n";

/// The path links are served under.
pub const PATH: &str = "/ack/";

/// Why a link is refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("this acknowledgement link is malformed")]
    Malformed,
    #[error("this acknowledgement link's signature is not valid (was it changed, or signed with another key?)")]
    BadSignature,
    #[error("this acknowledgement link expired at {0}; acknowledge from a newer notification")]
    Expired(String),
}

/// Makes and checks links.
pub struct AckLinks {
    key: Secret<Vec<u8>>,
    ttl: time::Duration,
    base: String,
}

impl AckLinks {
    /// Links for `config`, at `external_url`; `None` without a signing key.
    pub fn new(config: &AcksConfig, external_url: &str) -> Option<AckLinks> {
        let key = config.signing_key.as_ref()?;
        Some(AckLinks {
            key: Secret::new(key.expose().as_bytes().to_vec()),
            ttl: time::Duration::try_from(config.link_ttl).unwrap_or(time::Duration::MAX),
            base: external_url.trim_end_matches('/').to_string(),
        })
    }

    /// The link acknowledging `group_key`, valid for the configured lifetime from `now`.
    pub fn link(&self, group_key: &str, now: OffsetDateTime) -> String {
        format!(
            "{}{PATH}{}",
            self.base,
            self.token(group_key, now.saturating_add(self.ttl))
        )
    }

    /// The token for `group_key`, valid until `expires`.
    pub fn token(&self, group_key: &str, expires: OffsetDateTime) -> String {
        let payload = format!("{}.{group_key}", expires.unix_timestamp());
        let mac = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The group key a token acknowledges, if its signature holds and it has not expired at
    /// `now`. The MAC is compared in constant time.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<String, LinkError> {
        let (payload, mac) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| LinkError::Malformed)?;
        self.mac(&payload)
            .verify_slice(&mac)
            .map_err(|_| LinkError::BadSignature)?;
        // Signed by us from here on: a malformed payload would be our bug, still refused.
        let text = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
        let (expiry, group_key) = text.split_once('.').ok_or(LinkError::Malformed)?;
        let expiry = expiry
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or(LinkError::Malformed)?;
        if expiry <= now {
            let when = expiry
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| expiry.unix_timestamp().to_string());
            return Err(LinkError::Expired(when));
        }
        Ok(group_key.to_string())
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key.expose()).expect("HMAC takes keys of any size");
        mac.update(CONTEXT);
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;

    fn links(key: &str) -> AckLinks {
        AckLinks::new(
            &AcksConfig {
                signing_key: Some(Secret::new(key.to_string())),
                link_ttl: Duration::from_secs(3600),
            },
            "https://campanile.example/",
        )
        .unwrap()
    }

    const GROUP: &str = "{}/{team=\"db\"}:{alertname=\"Disk.Full\"}";

    #[test]
    fn a_link_acknowledges_its_group_until_it_expires() {
        let l = links("a-signing-key-of-at-least-32-chars!");
        let now = datetime!(2026-03-01 10:00 UTC);
        let link = l.link(GROUP, now);
        let token = link
            .strip_prefix("https://campanile.example/ack/")
            .expect("under external_url");
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "URL-safe: {token}"
        );
        assert_eq!(l.verify(token, now).as_deref(), Ok(GROUP));
        assert_eq!(
            l.verify(token, now + time::Duration::minutes(59))
                .as_deref(),
            Ok(GROUP)
        );
        assert_eq!(
            l.verify(token, now + time::Duration::hours(1)),
            Err(LinkError::Expired("2026-03-01T11:00:00Z".into()))
        );
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let l = links("a-signing-key-of-at-least-32-chars!");
        let now = datetime!(2026-03-01 10:00 UTC);
        let token = l.token(GROUP, now + time::Duration::hours(1));
        // Another group, or a later expiry, under the same signature.
        let (_, mac) = token.split_once('.').unwrap();
        for payload in [
            format!(
                "{}.{{}}:{{}}",
                (now + time::Duration::hours(1)).unix_timestamp()
            ),
            format!(
                "{}.{GROUP}",
                (now + time::Duration::days(365)).unix_timestamp()
            ),
        ] {
            let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(payload));
            assert_eq!(l.verify(&forged, now), Err(LinkError::BadSignature));
        }
        let other = links("another-signing-key-of-32-chars-or-more");
        assert_eq!(other.verify(&token, now), Err(LinkError::BadSignature));
        assert_eq!(l.verify("nodot", now), Err(LinkError::Malformed));
        assert_eq!(l.verify("a.!!", now), Err(LinkError::Malformed));
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert!(l.verify(&flipped, now).is_err());
    }

    #[test]
    fn no_key_no_links() {
        let config = AcksConfig {
            signing_key: None,
            link_ttl: Duration::from_secs(60),
        };
        assert!(AckLinks::new(&config, "https://x").is_none());
    }
}
