//! How the console is served, without a browser: its page and files are open (no token) even
//! where reads need one, carry the security headers, and nothing else becomes open.

use super::{config, refusing, TOKEN};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_console_is_open_with_its_headers_and_the_api_is_not() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, &refusing().await, true)).await;
    let http = client();

    let page = http.get(campanile.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.split(';').any(|d| d.trim() == "script-src 'self'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/app.js">"#));

    let script = http
        .get(campanile.url("/console/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let etag = script.headers()["etag"].clone();
    let again = http
        .get(campanile.url("/console/app.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let missing = http
        .get(campanile.url("/console/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // The data stays behind the token; a write to the page's path is a write.
    let status = http
        .get(campanile.url("/api/v2/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 401);
    let plugins = http
        .get(campanile.url("/api/v1/plugins"))
        .send()
        .await
        .unwrap();
    assert_eq!(plugins.status(), 401);
    let post = http.post(campanile.url("/")).send().await.unwrap();
    assert_eq!(post.status(), 401);

    let plugins = http
        .get(campanile.url("/api/v1/plugins"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(plugins.status(), 200);
    let plugins: serde_json::Value = plugins.json().await.unwrap();
    assert_eq!(plugins[0]["name"], "hostile");
    assert_eq!(plugins[0]["routes"], serde_json::json!(["faulty"]));
    assert!(
        plugins[0]["version"]
            .as_str()
            .is_some_and(|v| v.len() == 12),
        "{plugins}"
    );
}
