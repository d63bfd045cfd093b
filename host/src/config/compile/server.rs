//! `[server]`: the listen address, request limits, the connection cap and timeouts, and the
//! bearer token (from the TOML or a file).

use std::path::Path;
use std::time::Duration;

use super::super::raw::RawServer;
use super::super::{AuthToken, ServerConfig};
use crate::config::check::Ctx;

const DEFAULT_LISTEN: &str = "127.0.0.1:9797";

/// Production defaults: room for many Prometheus and Alertmanager senders, and timeouts long
/// enough for a slow network, short enough that idle or stalled clients cannot pile up.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;
const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn compile_server(cx: &mut Ctx, raw: &RawServer, base: &Path) -> ServerConfig {
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse().unwrap_or_else(|e| {
        cx.err(
            "server.listen",
            format!("invalid address {listen_text:?}: {e}"),
        );
        DEFAULT_LISTEN.parse().expect("default address parses")
    });
    let max_connections = raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        cx.err("server.max_connections", "must be at least 1");
    }
    let mut timeout = |key: &str, value: Option<&str>, default: Duration| {
        let d = cx.duration(key, value, default);
        if d.is_zero() {
            cx.err(key, "must be more than zero");
        }
        d
    };
    let header_read_timeout = timeout(
        "server.header_read_timeout",
        raw.header_read_timeout.as_deref(),
        DEFAULT_HEADER_READ_TIMEOUT,
    );
    let idle_timeout = timeout(
        "server.idle_timeout",
        raw.idle_timeout.as_deref(),
        DEFAULT_IDLE_TIMEOUT,
    );
    let body_read_timeout = timeout(
        "server.body_read_timeout",
        raw.body_read_timeout.as_deref(),
        DEFAULT_BODY_READ_TIMEOUT,
    );
    let server = ServerConfig {
        listen,
        max_body_size: cx.size("server.max_body_size", raw.max_body_size.as_ref(), 4 << 20),
        external_url: raw
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}")),
        auth_token: compile_auth_token(cx, raw, base),
        read_auth: raw.read_auth.unwrap_or(false),
        max_connections,
        header_read_timeout,
        idle_timeout,
        body_read_timeout,
    };
    if server.read_auth && server.auth_token.is_none() {
        cx.err(
            "server.read_auth",
            "needs server.auth_token or server.auth_token_file",
        );
    }
    server
}

/// The bearer token, from `auth_token` or from the file `auth_token_file` names (relative to
/// the configuration file), trailing whitespace trimmed.
fn compile_auth_token(cx: &mut Ctx, raw: &RawServer, base: &Path) -> Option<AuthToken> {
    let token = match (&raw.auth_token, &raw.auth_token_file) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            cx.err(
                "server.auth_token_file",
                "set server.auth_token or server.auth_token_file, not both",
            );
            return None;
        }
        (Some(token), None) => token.trim_end().to_string(),
        (None, Some(file)) => {
            let path = base.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => text.trim_end().to_string(),
                Err(e) => {
                    cx.err(
                        "server.auth_token_file",
                        format!("cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            }
        }
    };
    if token.is_empty() {
        cx.err("server.auth_token", "must not be empty");
        return None;
    }
    Some(AuthToken::new(token))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::Config;

    const ROUTE: &str = "[route]\nreceiver = \"r\"\n[[receivers]]\nname = \"r\"\ntype = \"log\"\n";

    fn parse(server: &str) -> Result<Config, Vec<String>> {
        Config::parse(
            &format!("[server]\n{server}\n{ROUTE}"),
            "test.toml",
            Path::new("."),
        )
        .map_err(|e| e.0.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn limits_and_timeouts_have_production_defaults() {
        let s = parse("").expect("valid").server;
        assert_eq!(s.max_connections, 4096);
        assert_eq!(s.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.idle_timeout, Duration::from_secs(60));
        assert_eq!(s.body_read_timeout, Duration::from_secs(30));

        let s = parse(
            "max_connections = 10\nheader_read_timeout = \"1s\"\nidle_timeout = \"2m\"\nbody_read_timeout = \"500ms\"",
        )
        .expect("valid")
        .server;
        assert_eq!(s.max_connections, 10);
        assert_eq!(s.header_read_timeout, Duration::from_secs(1));
        assert_eq!(s.idle_timeout, Duration::from_secs(120));
        assert_eq!(s.body_read_timeout, Duration::from_millis(500));
    }

    #[test]
    fn zero_limits_and_timeouts_are_errors_naming_the_key() {
        let errs = parse(
            "max_connections = 0\nheader_read_timeout = \"0s\"\nidle_timeout = \"0s\"\nbody_read_timeout = \"soon\"",
        )
        .unwrap_err();
        for expected in [
            "test.toml: server.max_connections: must be at least 1",
            "test.toml: server.header_read_timeout: must be more than zero",
            "test.toml: server.idle_timeout: must be more than zero",
            "test.toml: server.body_read_timeout: invalid duration \"soon\"",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(expected)),
                "{expected} in {errs:?}"
            );
        }
        assert_eq!(errs.len(), 4, "{errs:?}");
    }
}
