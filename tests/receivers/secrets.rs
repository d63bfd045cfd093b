//! Secrets (URL tokens, routing keys, API keys) never reach the log nor a config error.

use serde_json::json;

use super::{alert, config, post};
use crate::harness::*;

#[tokio::test]
async fn webhook_url_tokens_stay_out_of_transport_errors() {
    // A receiver that is down: every attempt fails to connect.
    let down = HttpPeer::down().await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\nretry_for = \"1s\"\n",
            down.url("/services/T0/B0/T0KENT0KEN")
        ),
        "chat",
    ))
    .await;
    post(&campanile, json!([alert("Refused", "warning")])).await;
    wait_until("the delivery given up", PATIENCE, async || {
        let log = campanile.log();
        if log.contains("notification failed permanently") {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    })
    .await;
    let log = campanile.log();
    assert!(log.contains("will retry"), "{log}");
    assert!(
        !log.contains("T0KENT0KEN"),
        "the URL's token reached the log:\n{log}"
    );
}

#[tokio::test]
async fn config_errors_name_secret_keys_but_never_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campanile.toml");
    let env = format!("CAMPANILE_TEST_BAD_URL_{}", std::process::id());
    std::env::set_var(&env, "not a url VERYSECRET");
    std::fs::write(
        &file,
        config(
            &format!(
                r#"
[[receivers]]
name = "pager"
type = "pagerduty"
routing_key = "VERYSECRET1"
routing_key_env = "ALSO_SET"

[[receivers]]
name = "chat"
type = "slack"
url_env = "{env}"

[[receivers]]
name = "genie"
type = "opsgenie"
api_key_env = "CAMPANILE_TEST_NOT_SET_ANYWHERE"

[[receivers]]
name = "mail"
type = "email"
host = "smtp.example.com"
from = "not an address"
to = []
username = "u"
"#
            ),
            "pager",
        ),
    )
    .unwrap();
    let out = check_config(&file);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for expected in [
        "receivers[0].routing_key: set only one of `routing_key`, `routing_key_file` or `routing_key_env`",
        "receivers[1].url: invalid URL",
        "receivers[2].api_key_env: environment variable \"CAMPANILE_TEST_NOT_SET_ANYWHERE\" is not set",
        "receivers[3].from: invalid address \"not an address\"",
        "receivers[3].to: needs at least one address",
        "receivers[3].password: a username needs a password",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("VERYSECRET"),
        "a secret reached the error:\n{text}"
    );
    // None of the receivers is reported as missing by the route that names one.
    assert!(!text.contains("no receiver named"), "{text}");
}
