//! Host and Origin allow-lists against DNS rebinding, checked at the edge so a foreign page
//! gets 403 before it can learn anything from a 401.
//!
//! This is the only copy of the check on `/mcp`: rmcp's own is turned off
//! (`super::super::mcp_config`), since the edge runs first and wraps every route rmcp
//! serves. The matching follows rmcp 3.11's rules, so turning rmcp's off changed nothing a
//! client sees: host names compare case-insensitively without brackets, an
//! allowed host without a port matches any port; an allowed origin is `scheme://host`
//! (any port), `scheme://host:*` or `scheme://host:port` (default ports implied), or
//! `null`. A request without `Origin` (desktop apps, CLI tools) passes the Origin check.
//!
//! A request with two `Host` headers is a 400 (RFC 9112 §3.2) and one with two `Origin`
//! headers a 403: the first of each used to be checked while a proxy or rmcp could act on
//! another.

use http::{HeaderMap, Uri, header, uri::Authority};

use crate::config::Config;

/// Why the check refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No usable Host, or more than one (400).
    BadHost,
    /// A Host outside the allow-list (403).
    ForeignHost,
    /// An unparsable or foreign Origin, or more than one (403).
    ForeignOrigin,
}

/// The request's authority: the `Host` header, or the URI's (HTTP/2 `:authority`).
pub(crate) fn request_authority(uri: &Uri, headers: &HeaderMap) -> Result<Authority, Refusal> {
    if headers.get_all(header::HOST).iter().nth(1).is_some() {
        return Err(Refusal::BadHost);
    }
    match headers.get(header::HOST) {
        Some(v) => {
            let s = v.to_str().map_err(|_| Refusal::BadHost)?;
            Authority::try_from(s).map_err(|_| Refusal::BadHost)
        }
        None => uri.authority().cloned().ok_or(Refusal::BadHost),
    }
}

/// Checks Host, then Origin, against the loopback names plus the configured lists.
pub(crate) fn check(cfg: &Config, uri: &Uri, headers: &HeaderMap) -> Result<Authority, Refusal> {
    let host = request_authority(uri, headers)?;
    if !host_allowed(cfg, &host) {
        return Err(Refusal::ForeignHost);
    }
    if headers.get_all(header::ORIGIN).iter().nth(1).is_some() {
        return Err(Refusal::ForeignOrigin);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| Refusal::ForeignOrigin)?;
        if !origin_allowed(cfg, origin) {
            return Err(Refusal::ForeignOrigin);
        }
    }
    Ok(host)
}

fn norm(host: &str) -> String {
    host.trim_matches(['[', ']']).to_ascii_lowercase()
}

/// True when `host` matches a loopback name or `TOOLBRIDGE_ALLOWED_HOSTS`.
pub(crate) fn host_allowed(cfg: &Config, host: &Authority) -> bool {
    let (name, port) = (norm(host.host()), host.port_u16());
    super::super::LOOPBACK_HOSTS
        .iter()
        .copied()
        .chain(cfg.allowed_hosts.iter().map(String::as_str))
        .any(|allowed| {
            let allowed = allowed.trim();
            if allowed.is_empty() {
                return false;
            }
            let (a_name, a_port) = match Authority::try_from(allowed) {
                Ok(a) => (norm(a.host()), a.port_u16()),
                Err(_) => (norm(allowed), None),
            };
            a_name == name && a_port.is_none_or(|p| port == Some(p))
        })
}

/// An origin as (scheme, host, port).
type Tuple = (String, String, Option<u16>);

fn parse_origin(value: &str) -> Option<Tuple> {
    let uri = Uri::try_from(value.trim()).ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    Some((scheme, norm(authority.host()), authority.port_u16()))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// True when `origin` matches a loopback origin or `TOOLBRIDGE_ALLOWED_ORIGINS`.
pub(crate) fn origin_allowed(cfg: &Config, origin: &str) -> bool {
    let origin = origin.trim();
    let allowed = super::super::LOOPBACK_ORIGINS
        .iter()
        .copied()
        .chain(cfg.allowed_origins.iter().map(String::as_str));
    if origin.eq_ignore_ascii_case("null") {
        return allowed
            .into_iter()
            .any(|a| a.trim().eq_ignore_ascii_case("null"));
    }
    let Some((scheme, host, port)) = parse_origin(origin) else {
        return false;
    };
    allowed.into_iter().any(|a| {
        let a = a.trim();
        let (base, any_port) = match a.strip_suffix(":*") {
            Some(base) => (base, true),
            None => (a, false),
        };
        let Some((a_scheme, a_host, a_port)) = parse_origin(base) else {
            return false;
        };
        if any_port && a_port.is_some() {
            return false;
        }
        let port_ok = match a_port {
            None => true,
            Some(p) => port.or_else(|| default_port(&scheme)) == Some(p),
        };
        a_scheme == scheme && a_host == host && port_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            allowed_hosts: vec!["mcp.example.com".into(), "api.example.com:8443".into()],
            allowed_origins: vec![
                "https://app.example.com".into(),
                "https://x.example:8443".into(),
            ],
            ..Config::default()
        }
    }

    fn host(s: &str) -> bool {
        host_allowed(&cfg(), &Authority::try_from(s).unwrap())
    }

    #[test]
    fn hosts() {
        for ok in [
            "localhost",
            "LOCALHOST:8001",
            "127.0.0.1:1",
            "[::1]:80",
            "mcp.example.com",
            "mcp.example.com:443",
            "api.example.com:8443",
        ] {
            assert!(host(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "api.example.com",
            "api.example.com:8444",
            "localhost.evil.com",
            "127.0.0.2",
        ] {
            assert!(!host(bad), "{bad}");
        }
    }

    #[test]
    fn origins() {
        let c = cfg();
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1",
            "https://app.example.com",
            "https://APP.example.com:9",
            "https://x.example:8443",
        ] {
            assert!(origin_allowed(&c, ok), "{ok}");
        }
        for bad in [
            "https://evil.com",
            "https://localhost:6274",
            "null",
            "garbage",
            "",
            "https://x.example",
            "http://app.example.com",
            "file://",
        ] {
            assert!(!origin_allowed(&c, bad), "{bad}");
        }
    }

    #[test]
    fn missing_origin_passes_and_missing_host_fails() {
        let c = cfg();
        let mut h = HeaderMap::new();
        assert_eq!(
            check(&c, &Uri::from_static("/mcp"), &h),
            Err(Refusal::BadHost)
        );
        h.insert(header::HOST, "localhost:8001".parse().unwrap());
        assert!(check(&c, &Uri::from_static("/mcp"), &h).is_ok());
        h.insert(header::ORIGIN, "https://evil.com".parse().unwrap());
        assert_eq!(
            check(&c, &Uri::from_static("/mcp"), &h),
            Err(Refusal::ForeignOrigin)
        );
    }

    #[test]
    fn a_second_host_or_origin_is_refused_whatever_the_first() {
        let c = cfg();
        let uri = Uri::from_static("/mcp");
        let mut h = HeaderMap::new();
        h.append(header::HOST, "127.0.0.1".parse().unwrap());
        h.append(header::HOST, "evil.example.com".parse().unwrap());
        assert_eq!(check(&c, &uri, &h), Err(Refusal::BadHost));
        let mut h = HeaderMap::new();
        h.append(header::HOST, "localhost".parse().unwrap());
        for o in ["http://localhost:1", "http://localhost:1"] {
            h.append(header::ORIGIN, o.parse().unwrap());
        }
        assert_eq!(check(&c, &uri, &h), Err(Refusal::ForeignOrigin));
    }
}
