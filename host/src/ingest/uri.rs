//! The API schema's `uri` format, which Alertmanager checks a `generatorURL` against (422 when
//! it fails): go-openapi's `IsURI`, that is Go's `url.ParseRequestURI` returning no error.

/// Whether Go's `url.ParseRequestURI` accepts `s`: `*`, an absolute path (`/graph?g0…`), or a
/// scheme followed by an opaque part (`mailto:x`) or an authority and path
/// (`http://prometheus:9090/graph`); no control characters, `%` only as an escape, a port of
/// digits and a bracketed IPv6 host closed.
pub fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if s == "*" {
        return true;
    }
    let Some((scheme, rest)) = split_scheme(s) else {
        return false;
    };
    // The query is not checked (beyond the control characters above).
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    if !rest.starts_with('/') {
        // `scheme:opaque` is accepted; a relative path is not a request URI.
        return !scheme.is_empty();
    }
    let path = match rest.strip_prefix("//") {
        Some(after) if !scheme.is_empty() => {
            let (authority, path) = after.find('/').map_or((after, ""), |i| after.split_at(i));
            if !authority_ok(authority) {
                return false;
            }
            path
        }
        _ => rest,
    };
    escapes_ok(path)
}

/// Go's `getScheme`: letters, then letters, digits, `+ - .` up to a `:`. `None` when the text
/// starts with a `:` (missing scheme); an empty scheme when there is none.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return None,
            ':' => return Some((&s[..i], &s[i + 1..])),
            _ => return Some(("", s)),
        }
    }
    Some(("", s))
}

/// `[userinfo@]host[:port]` as Go's `parseAuthority` and `parseHost` accept it.
fn authority_ok(authority: &str) -> bool {
    let host = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            if !userinfo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
                || !escapes_ok(userinfo)
            {
                return false;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    let port = if let Some(inner) = host.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return false;
        };
        let after = &inner[close + 1..];
        if after.is_empty() {
            None
        } else if let Some(port) = after.strip_prefix(':') {
            Some(port)
        } else {
            return false;
        }
    } else {
        host.rfind(':').map(|i| &host[i + 1..])
    };
    // Go's `shouldEscape` in host mode: these ASCII characters may appear unescaped.
    let host_char = |c: char| {
        !c.is_ascii() || c.is_ascii_alphanumeric() || "-_.~!$&'()*+,;=:[]<>\"%".contains(c)
    };
    port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && host.chars().all(host_char)
        && escapes_ok(host)
}

/// Every `%` starts an escape of two hex digits.
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_request_uri;

    #[test]
    fn as_go_parse_request_uri() {
        // What Go 1.19's url.ParseRequestURI says of each (true: no error).
        let cases = [
            (
                "http://prometheus:9090/graph?g0.expr=up%3D%3D0&g0.tab=1",
                true,
            ),
            ("https://user:pw@host/x", true),
            ("http://[::1]:9090/graph", true),
            ("http://host", true),
            ("/graph?g0.expr=up", true),
            ("mailto:ops@example.com", true),
            ("*", true),
            ("not a url", false),
            ("graph", false),
            ("//host/path", true),
            (":9090/x", false),
            ("http://host:port/x", false),
            ("http://[::1/x", false),
            ("http://host/%zz", false),
            ("http://host/a b", true),
            ("http://host/\u{7}", false),
            ("http://ho st/x", false),
            ("http://host{1}/x", false),
            ("http://host/a#frag", true),
            ("http://host/a%2", false),
        ];
        for (input, want) in cases {
            assert_eq!(is_request_uri(input), want, "{input:?}");
        }
    }
}
