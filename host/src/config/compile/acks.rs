//! `[acks]`: the signing key of acknowledgement links and their lifetime.

use std::path::Path;
use std::time::Duration;

use crate::config::check::{Ctx, Section};
use crate::config::raw::RawAcks;
use crate::config::AcksConfig;

/// `[acks]`: the link signing key (`signing_key`, `signing_key_file` or `signing_key_env`)
/// and the links' lifetime. Links point at `server.external_url`, which must then be set.
pub(super) fn compile_acks(
    cx: &mut Ctx,
    raw: RawAcks,
    has_external_url: bool,
    base: &Path,
) -> AcksConfig {
    let link_ttl = cx.duration(
        "acks.link_ttl",
        raw.link_ttl.as_deref(),
        Duration::from_secs(7 * 24 * 3600),
    );
    if link_ttl.is_zero() {
        cx.err("acks.link_ttl", "must be more than zero");
    }
    let given = raw.signing_key.is_some()
        || raw.signing_key_file.is_some()
        || raw.signing_key_env.is_some();
    let signing_key = if given {
        let mut section = Section {
            cx: &mut *cx,
            key: "acks".to_string(),
            base,
        };
        section.secret(
            "signing_key",
            raw.signing_key,
            raw.signing_key_file,
            raw.signing_key_env,
        )
    } else {
        None
    };
    if let Some(key) = &signing_key {
        if key.expose().len() < 32 {
            cx.err(
                "acks.signing_key",
                "must be at least 32 characters (e.g. the output of `openssl rand -base64 32`)",
            );
        }
        if !has_external_url {
            cx.err(
                "acks.signing_key",
                "acknowledgement links need server.external_url (the address people open them at)",
            );
        }
    }
    AcksConfig {
        signing_key,
        link_ttl,
    }
}
