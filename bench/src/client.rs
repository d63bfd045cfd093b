//! HTTP/1.1 client side: one keep-alive connection per worker, driven by hyper directly.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where a server listens, from a base URL such as `http://127.0.0.1:9797`.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port`, for connecting and for the `Host` header.
    pub authority: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("invalid URL {url:?}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("only plain http:// URLs are supported, not {url:?}");
        }
        let authority = uri
            .authority()
            .with_context(|| format!("URL {url:?} has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        Ok(Target {
            authority: format!("{}:{port}", authority.host()),
        })
    }

    /// The absolute URI of `path` on this target (for pooled clients).
    pub fn uri(&self, path: &str) -> Result<Uri> {
        let text = format!("http://{}{path}", self.authority);
        text.parse()
            .with_context(|| format!("invalid URI {text:?}"))
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    pub async fn connect(target: &Target) -> Result<Self> {
        let stream = TcpStream::connect(&target.authority)
            .await
            .with_context(|| format!("connecting to {}", target.authority))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {}", target.authority))?;
        // Drives the connection; ends (with an error we do not need) when either side closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            authority: target.authority.clone(),
        })
    }

    /// POSTs a JSON body and reads the whole answer; returns its status.
    pub async fn post_json(&mut self, path: &str, body: Bytes) -> Result<StatusCode> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        self.send(req).await
    }

    /// GETs `path` and reads the whole answer; returns its status.
    pub async fn get(&mut self, path: &str) -> Result<StatusCode> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(HOST, &self.authority)
            .body(Full::new(Bytes::new()))?;
        self.send(req).await
    }

    /// GETs `path` and returns its status and whole body.
    pub async fn get_body(&mut self, path: &str) -> Result<(StatusCode, Bytes)> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(HOST, &self.authority)
            .body(Full::new(Bytes::new()))?;
        let resp = self.request(req).await?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .context("reading the response body")?
            .to_bytes();
        Ok((status, body))
    }

    async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<StatusCode> {
        read_status(self.request(req).await?).await
    }

    async fn request(&mut self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>> {
        self.sender.ready().await.context("connection closed")?;
        self.sender
            .send_request(req)
            .await
            .context("request failed")
    }
}

/// Reads a whole answer (so its connection can be reused) and returns its status.
pub async fn read_status(resp: Response<Incoming>) -> Result<StatusCode> {
    let status = resp.status();
    resp.into_body()
        .collect()
        .await
        .context("reading the response body")?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_parses_host_and_port() {
        assert_eq!(
            Target::parse("http://127.0.0.1:9797").unwrap().authority,
            "127.0.0.1:9797"
        );
        assert_eq!(
            Target::parse("http://localhost/").unwrap().authority,
            "localhost:80"
        );
        assert!(Target::parse("https://x:1").is_err());
    }
}
