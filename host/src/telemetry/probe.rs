//! `campanile healthcheck`: asks a running campanile whether it is ready, with a plain
//! HTTP/1.0 `GET` over a blocking socket — no runtime, no TLS, no client library — so a
//! container built `FROM scratch` can use the binary itself as its `HEALTHCHECK`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where `campanile healthcheck` looks by default: the readiness endpoint on the default port.
pub const DEFAULT_READY_URL: &str = "http://127.0.0.1:9797/-/ready";

/// Why a probe did not find the endpoint healthy.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{url}: only http://HOST:PORT/PATH URLs can be probed")]
    BadUrl { url: String },
    #[error("{url}: cannot connect: {source}")]
    Connect { url: String, source: std::io::Error },
    #[error("{url}: {source}")]
    Io { url: String, source: std::io::Error },
    #[error("{url}: answered {status_line:?}")]
    NotOk { url: String, status_line: String },
}

/// `GET url`; `Ok` if the answer's status is 200. `timeout` bounds the connection and each
/// read and write.
pub fn probe_ready(url: &str, timeout: Duration) -> Result<(), ProbeError> {
    let (authority, path) = split_url(url).ok_or_else(|| ProbeError::BadUrl { url: url.into() })?;
    let connect_error = |source| ProbeError::Connect {
        url: url.into(),
        source,
    };
    let io_error = |source| ProbeError::Io {
        url: url.into(),
        source,
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(connect_error)?
        .next()
        .ok_or_else(|| connect_error(std::io::ErrorKind::NotFound.into()))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(connect_error)?;
    stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    // The status line is all we need; read a little, not the whole body.
    let mut head = [0u8; 256];
    let mut len = 0;
    while len < head.len() && !head[..len].contains(&b'\n') {
        match stream.read(&mut head[len..]).map_err(io_error)? {
            0 => break,
            n => len += n,
        }
    }
    let text = String::from_utf8_lossy(&head[..len]);
    let status_line = text.lines().next().unwrap_or_default().trim().to_string();
    let status = status_line.split_whitespace().nth(1);
    if status_line.starts_with("HTTP/") && status == Some("200") {
        Ok(())
    } else {
        Err(ProbeError::NotOk {
            url: url.into(),
            status_line,
        })
    }
}

/// `http://HOST:PORT/PATH` → (`HOST:PORT`, `/PATH`). The port is required.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':')?;
    (!host.is_empty() && port.parse::<u16>().is_ok()).then_some((authority, path))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    /// Answers one connection with `response` and returns the request it read.
    fn serve_once(response: &'static str) -> (String, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/-/ready", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 512];
            let n = conn.read(&mut request).unwrap();
            conn.write_all(response.as_bytes()).unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        (url, handle)
    }

    #[test]
    fn ok_on_200() {
        let (url, server) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nOK\n");
        probe_ready(&url, Duration::from_secs(5)).unwrap();
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /-/ready HTTP/1.0\r\n"),
            "{request}"
        );
    }

    #[test]
    fn other_statuses_are_errors_quoting_the_status_line() {
        let (url, server) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = probe_ready(&url, Duration::from_secs(5)).unwrap_err();
        server.join().unwrap();
        assert!(err.to_string().contains("503 Service Unavailable"), "{err}");
    }

    #[test]
    fn closed_port_is_a_connect_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/-/ready");
        let err = probe_ready(&url, Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, ProbeError::Connect { .. }), "{err}");
    }

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:9797/-/ready"),
            Some(("127.0.0.1:9797", "/-/ready"))
        );
        assert_eq!(split_url("http://[::1]:9797"), Some(("[::1]:9797", "/")));
        assert_eq!(split_url("https://127.0.0.1:9797/"), None);
        assert_eq!(split_url("http://localhost/-/ready"), None);
    }
}
