//! Bearer-token authentication: writes need the token, reads too when `read_auth` is on, probes
//! never; `amtool` gets in with an HTTP config file carrying it.

use serde_json::json;

use super::{amtool, amtool_ok, config, send, TOKEN};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn writes_need_the_bearer_token() {
    let sink = HttpPeer::start().await;
    let extra = format!("[server]\nauth_token = \"{TOKEN}\"\n");
    let campanile = Campanile::start(&config(&sink, &extra, "")).await;
    let alerts = json!([{"labels": {"alertname": unique("Authed")}}]);
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v2/alerts",
            None,
            Some(&alerts)
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v2/alerts",
            Some("wrong"),
            Some(&alerts)
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v2/alerts",
            Some(TOKEN),
            Some(&alerts)
        )
        .await,
        200
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v1/alertmanager",
            None,
            Some(&json!({}))
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v1/groups/ack",
            None,
            Some(&json!({}))
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            reqwest::Method::DELETE,
            "/api/v2/silence/x",
            None,
            None
        )
        .await,
        401
    );
    assert_eq!(
        send(&campanile, get.clone(), "/api/v2/alerts", None, None).await,
        200,
        "reads are open"
    );

    // amtool without credentials is refused; with an http.config.file carrying the token it works.
    let out = amtool(
        &campanile,
        &["silence", "add", "alertname=X", "--comment=c", "--author=a"],
    )
    .await;
    assert!(
        !out.status.success(),
        "unauthenticated amtool silence add must fail"
    );
    let dir = tempfile::tempdir().unwrap();
    let http_config = dir.path().join("http.yml");
    std::fs::write(
        &http_config,
        format!("authorization:\n  type: Bearer\n  credentials: {TOKEN}\n"),
    )
    .unwrap();
    let flag = format!("--http.config.file={}", http_config.display());
    let id = amtool_ok(
        &campanile,
        &[
            &flag,
            "silence",
            "add",
            "alertname=X",
            "--comment=c",
            "--author=a",
        ],
    )
    .await;
    amtool_ok(&campanile, &[&flag, "silence", "expire", id.trim()]).await;

    // With read_auth (and the token from a file), reads need it too; probes never do.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let extra = format!(
        "[server]\nauth_token_file = \"{}\"\nread_auth = true\n",
        token_file.display()
    );
    let locked = Campanile::start(&config(&sink, &extra, "")).await;
    assert_eq!(
        send(&locked, get.clone(), "/api/v2/alerts", None, None).await,
        401
    );
    assert_eq!(
        send(&locked, get.clone(), "/api/v2/silences", None, None).await,
        401
    );
    assert_eq!(
        send(&locked, get.clone(), "/metrics", None, None).await,
        401
    );
    assert_eq!(
        send(&locked, get.clone(), "/api/v2/alerts", Some(TOKEN), None).await,
        200
    );
    assert_eq!(
        send(&locked, get.clone(), "/-/ready", None, None).await,
        200
    );
    assert_eq!(send(&locked, get, "/-/healthy", None, None).await, 200);
}
