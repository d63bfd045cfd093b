//! Signed acknowledgement tokens (`/ack/<token>`): any token is refused or names a group;
//! payloads signed with the key (which no client can make) are still checked with care; and
//! a link campanile makes names its group until it expires.
//!
//! Input, one field per line: a token as a client sends it; a payload the target signs with
//! the key; a group key; a link lifetime in seconds (`[acks] link_ttl`); an expiry in seconds
//! since the epoch.
#![no_main]

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use campanile::ack::link::{AckLinks, LinkError, PATH};
use campanile::config::AcksConfig;
use campanile::config::Secret;
use campanile_fuzz::NOW;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use time::OffsetDateTime;

const KEY: &str = "a-signing-key-of-at-least-32-chars!";
/// What `link.rs` binds its MACs to; a payload signed here reaches the checks after the MAC.
const CONTEXT: &[u8] = b"campanile ack link v1\n";
const BASE: &str = "https://campanile.example";

struct Input<'a> {
    token: &'a str,
    payload: &'a [u8],
    group_key: &'a str,
    ttl_secs: u64,
    expires: i64,
}

fn signed(payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key size");
    mac.update(CONTEXT);
    mac.update(payload);
    let mac = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(mac)
    )
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut line = || lines.next().unwrap_or_default();
    let input = Input {
        token: line(),
        payload: line().as_bytes(),
        group_key: line(),
        ttl_secs: line().trim().parse().unwrap_or(3600),
        expires: line().trim().parse().unwrap_or(0),
    };
    let config = AcksConfig {
        signing_key: Some(Secret::new(KEY.to_string())),
        link_ttl: Duration::from_secs(input.ttl_secs),
    };
    let links = AckLinks::new(&config, &format!("{BASE}/")).expect("a key gives links");

    let _ = links.verify(input.token, NOW);
    let _ = links.verify(&signed(input.payload), NOW);

    // A link made now names its group until it expires.
    let link = links.link(input.group_key, NOW);
    let token = link
        .strip_prefix(&format!("{BASE}{PATH}"))
        .expect("links are under external_url");
    let verified = links.verify(token, NOW);
    if input.ttl_secs == 0 {
        assert!(matches!(verified, Err(LinkError::Expired(_))));
    } else {
        assert_eq!(verified.as_deref(), Ok(input.group_key));
    }

    // A token with any expiry: valid before it, expired at it.
    if let Ok(expires) = OffsetDateTime::from_unix_timestamp(input.expires) {
        let token = links.token(input.group_key, expires);
        match links.verify(&token, NOW) {
            Ok(key) => assert!(expires > NOW && key == input.group_key),
            Err(LinkError::Expired(_)) => assert!(expires <= NOW),
            Err(e) => panic!("a token campanile made is refused: {e}"),
        }
    }
});
