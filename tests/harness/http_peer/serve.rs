//! The peer's server: the accept loop, and one request recorded and answered as scripted.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{Received, Script};

/// Serves every connection `listener` accepts, until the task is aborted.
pub(super) async fn serve(
    listener: TcpListener,
    script: Arc<Mutex<Script>>,
    released: watch::Receiver<bool>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let script = script.clone();
        let released = released.clone();
        tokio::spawn(async move {
            let service =
                service_fn(move |request| answer(script.clone(), released.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the whole request, records it with the answer its script gives, then answers (after
/// the answer's delay, or once released if it is held).
async fn answer(
    script: Arc<Mutex<Script>>,
    mut released: watch::Receiver<bool>,
    request: Request<Incoming>,
) -> Result<Response<Payload>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let at = Instant::now();
    let reply = {
        let mut script = script.lock().unwrap();
        let path = parts.uri.path().to_string();
        let reply = script.next(&path);
        script.requests.push(Received {
            method: parts.method.to_string(),
            path,
            query: parts.uri.query().map(str::to_string),
            json: serde_json::from_slice(&body).ok(),
            headers: parts.headers,
            body,
            answered: reply.status,
            at,
        });
        reply
    };
    tokio::time::sleep(reply.delay).await;
    if reply.held {
        let _ = released.wait_for(|r| *r).await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Payload {
            head: Some(Bytes::from(reply.body)),
            padding: reply.padding,
        })
        .expect("valid response"))
}

/// A response body: the answer's text, then its padding, one chunk at a time.
struct Payload {
    head: Option<Bytes>,
    padding: usize,
}

/// The padding's chunk.
static PAD: [u8; 64 * 1024] = [b'x'; 64 * 1024];

impl Body for Payload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.padding == 0 {
            return Poll::Ready(None);
        }
        let n = this.padding.min(PAD.len());
        this.padding -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&PAD[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.padding == 0
    }

    /// Exact without padding (a `content-length`), unknown with it (chunked).
    fn size_hint(&self) -> SizeHint {
        match (&self.head, self.padding) {
            (Some(head), 0) => SizeHint::with_exact(head.len() as u64),
            (None, 0) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
