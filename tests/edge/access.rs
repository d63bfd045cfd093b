//! Which routes go without the bearer token: only an acknowledgement link's two.

use super::config;
use crate::harness::*;

/// Only the two routes of an acknowledgement link (`GET` and `POST /ack/<token>`) go without the
/// bearer token; other methods and deeper paths under `/ack/` are ordinary reads and writes.
#[tokio::test]
async fn only_the_ack_link_routes_are_exempt_from_the_token() {
    let key = "k".repeat(32);
    let c = Campanile::start(&format!(
        "{}\n[acks]\nsigning_key = \"{key}\"\n",
        config(
            "auth_token = \"s3cret\"\nread_auth = true\nexternal_url = \"http://campanile.example\""
        )
    ))
    .await;
    let client = client();
    let send = async |method: &str, path: &str, token: bool| {
        let mut r = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            c.url(path),
        );
        if token {
            r = r.bearer_auth("s3cret");
        }
        r.send().await.expect("send").status().as_u16()
    };
    // The link routes: the signed token decides (this one is malformed), not the bearer token.
    for (method, path) in [("GET", "/ack/not.signed"), ("POST", "/ack/not.signed")] {
        let status = send(method, path, false).await;
        assert!(
            status != 401 && (400..500).contains(&status),
            "{method} {path}: {status}"
        );
    }
    // Anything else under /ack/ needs the token.
    for (method, path) in [
        ("DELETE", "/ack/not.signed"),
        ("PUT", "/ack/not.signed"),
        ("PATCH", "/ack/not.signed"),
        ("GET", "/ack/not.signed/more"),
        ("POST", "/ack/not.signed/more"),
        ("GET", "/ack/"),
    ] {
        assert_eq!(send(method, path, false).await, 401, "{method} {path}");
    }
    assert_eq!(send("DELETE", "/ack/not.signed", true).await, 405);
    assert_eq!(send("GET", "/ack/not.signed/more", true).await, 404);
}
