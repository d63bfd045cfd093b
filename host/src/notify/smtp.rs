//! One SMTP session for the `email` integration, on lettre's connection API: connect, TLS
//! (implicit, or STARTTLS, which is then required), EHLO, authentication, the message, QUIT.
//!
//! lettre's ready-made transport is not used because what it reads cannot be bounded: it
//! refuses a reply line over 1,000 bytes and a reply over 100,000, but only once the line has
//! ended, so a server that sends a line without end has it buffered until the attempt times
//! out. Here every byte from the server passes through [`Capped`], which fails the session
//! after [`MAX_READ`] bytes; the SMTP itself is still lettre's.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most bytes read from the server in one session (with STARTTLS the handshake and records
/// count too). A session's replies and a TLS handshake take a few kilobytes; lettre allows one
/// reply 100,000 bytes.
pub const MAX_READ: usize = 1 << 20;

/// How the connection is secured.
pub enum Security {
    None,
    /// STARTTLS after the first EHLO; a server that does not offer it is refused.
    StartTls(TlsParameters),
    /// TLS from the first byte.
    Implicit(TlsParameters),
}

/// Where and how to send.
pub struct Session {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub hello: ClientId,
    pub credentials: Option<Credentials>,
    /// Limit of connecting to one address (the worker bounds the whole attempt).
    pub connect_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl SmtpError {
    /// A 5xx reply: the server refused for good.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SmtpError::Smtp(e) if e.is_permanent())
    }
}

/// Sends `message` (formatted) to the envelope's recipients in one session.
pub async fn send(s: &Session, envelope: &Envelope, message: &[u8]) -> Result<(), SmtpError> {
    let tcp = connect(&s.host, s.port, s.connect_timeout).await?;
    let peer = tcp.peer_addr().map_err(SmtpError::Connect)?;
    let stream: Box<dyn AsyncTokioStream> = match &s.security {
        Security::Implicit(tls) => Box::new(Capped::new(implicit_tls(tcp, tls).await?, peer)),
        Security::None | Security::StartTls(_) => Box::new(Capped::new(tcp, peer)),
    };
    let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &s.hello).await?;
    if let Security::StartTls(tls) = &s.security {
        conn.starttls(tls.clone(), &s.hello).await?;
    }
    if let Some(credentials) = &s.credentials {
        conn.auth(DEFAULT_MECHANISMS, credentials).await?;
    }
    let sent = conn.send(envelope, message).await;
    conn.abort().await;
    sent.map(drop).map_err(SmtpError::from)
}

/// A connection to the first address of `host` that answers, each tried for `timeout`.
async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, SmtpError> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(SmtpError::Connect)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = e,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connection timed out"),
        }
    }
    Err(SmtpError::Connect(last))
}

/// TLS on `tcp` before the first byte of SMTP, with lettre's TLS set-up (the only way to it
/// from outside its transport is the stream type it marks deprecated). The cap goes on top.
#[allow(deprecated)]
async fn implicit_tls(
    tcp: TcpStream,
    tls: &TlsParameters,
) -> Result<
    tokio_util::compat::Compat<lettre::transport::smtp::client::AsyncNetworkStream>,
    SmtpError,
> {
    use lettre::transport::smtp::client::AsyncNetworkStream;
    use tokio_util::compat::FuturesAsyncReadCompatExt;
    let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
    stream.upgrade_tls(tls.clone()).await?;
    Ok(stream.compat())
}

/// A stream that reads at most [`MAX_READ`] bytes, then fails every read.
#[derive(Debug)]
struct Capped<S> {
    inner: S,
    left: usize,
    peer: SocketAddr,
}

impl<S> Capped<S> {
    fn new(inner: S, peer: SocketAddr) -> Self {
        Capped {
            inner,
            left: MAX_READ,
            peer,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.left == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the server sent more than {MAX_READ} bytes in one session"),
            )));
        }
        // Read into a bounded buffer and copy: SMTP replies are small.
        let mut chunk = [0u8; 4096];
        let n = buf.remaining().min(this.left).min(chunk.len());
        let mut limited = ReadBuf::new(&mut chunk[..n]);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
        let got = limited.filled();
        this.left = this.left.saturating_sub(got.len());
        buf.put_slice(got);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S> AsyncTokioStream for Capped<S>
where
    S: AsyncRead + AsyncWrite + Send + Sync + Unpin + std::fmt::Debug,
{
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn reads_stop_at_the_cap() {
        let (mut server, client) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(async move {
            let line = vec![b'x'; 64 * 1024];
            while tokio::io::AsyncWriteExt::write_all(&mut server, &line)
                .await
                .is_ok()
            {}
        });
        let mut capped = Capped::new(client, SocketAddr::from(([127, 0, 0, 1], 25)));
        let mut seen = 0usize;
        let mut buf = vec![0u8; 16 * 1024];
        let err = loop {
            match capped.read(&mut buf).await {
                Ok(n) => seen += n,
                Err(e) => break e,
            }
        };
        assert_eq!(seen, MAX_READ);
        assert!(err.to_string().contains("more than"), "{err}");
        drop(capped);
        writer.await.unwrap();
    }
}
