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

/// Loopback names every deployment accepts in `Host`.
pub(crate) const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1", "[::1]"];
/// Loopback origins every deployment accepts (any port).
pub(crate) const LOOPBACK_ORIGINS: &[&str] =
    &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// The Host and Origin allow-lists, each entry parsed once (at start) into what a request's
/// own Host or Origin is compared with.
#[derive(Debug)]
pub(crate) struct SiteRules {
    /// Allowed host names (lowercase, without brackets), each with its port if it names one.
    hosts: Vec<(String, Option<u16>)>,
    /// Allowed origins.
    origins: Vec<AllowedOrigin>,
    /// `null` is an allowed origin.
    null_origin: bool,
}

/// One allowed origin: `scheme://host` (any port), `scheme://host:*`, `scheme://host:port`.
#[derive(Debug)]
struct AllowedOrigin {
    scheme: String,
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

impl SiteRules {
    /// The loopback names plus `TOOLBRIDGE_ALLOWED_HOSTS` and `TOOLBRIDGE_ALLOWED_ORIGINS`.
    pub(crate) fn new(cfg: &Config) -> Self {
        let hosts = LOOPBACK_HOSTS
            .iter()
            .copied()
            .chain(cfg.allowed_hosts.iter().map(String::as_str))
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|allowed| match Authority::try_from(allowed) {
                Ok(a) => (norm(a.host()), a.port_u16()),
                Err(_) => (norm(allowed), None),
            })
            .collect();
        let listed = || {
            LOOPBACK_ORIGINS
                .iter()
                .copied()
                .chain(cfg.allowed_origins.iter().map(String::as_str))
                .map(str::trim)
        };
        let origins = listed()
            .filter_map(|a| {
                let (base, any_port) = match a.strip_suffix(":*") {
                    Some(base) => (base, true),
                    None => (a, false),
                };
                let (scheme, host, port) = parse_origin(base)?;
                // `scheme://host:port:*` names no origin.
                (!(any_port && port.is_some())).then_some(AllowedOrigin { scheme, host, port })
            })
            .collect();
        let null_origin = listed().any(|a| a.eq_ignore_ascii_case("null"));
        Self {
            hosts,
            origins,
            null_origin,
        }
    }

    /// Checks Host, then Origin, against the lists.
    pub(crate) fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<Authority, Refusal> {
        let host = request_authority(uri, headers)?;
        if !self.host_allowed(&host) {
            return Err(Refusal::ForeignHost);
        }
        if headers.get_all(header::ORIGIN).iter().nth(1).is_some() {
            return Err(Refusal::ForeignOrigin);
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().map_err(|_| Refusal::ForeignOrigin)?;
            if !self.origin_allowed(origin) {
                return Err(Refusal::ForeignOrigin);
            }
        }
        Ok(host)
    }

    /// True when `host` matches a loopback name or `TOOLBRIDGE_ALLOWED_HOSTS`.
    pub(crate) fn host_allowed(&self, host: &Authority) -> bool {
        let (name, port) = (host.host().trim_matches(['[', ']']), host.port_u16());
        self.hosts.iter().any(|(a_name, a_port)| {
            a_name.eq_ignore_ascii_case(name) && a_port.is_none_or(|p| port == Some(p))
        })
    }

    /// True when `origin` matches a loopback origin or `TOOLBRIDGE_ALLOWED_ORIGINS`.
    pub(crate) fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim();
        if origin.eq_ignore_ascii_case("null") {
            return self.null_origin;
        }
        let Some((scheme, host, port)) = parse_origin(origin) else {
            return false;
        };
        self.origins.iter().any(|a| {
            let port_ok = match a.port {
                None => true,
                Some(p) => port.or_else(|| default_port(&scheme)) == Some(p),
            };
            a.scheme == scheme && a.host == host && port_ok
        })
    }
}

fn norm(host: &str) -> String {
    host.trim_matches(['[', ']']).to_ascii_lowercase()
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
        SiteRules::new(&cfg()).host_allowed(&Authority::try_from(s).unwrap())
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
        let c = SiteRules::new(&cfg());
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1",
            "https://app.example.com",
            "https://APP.example.com:9",
            "https://x.example:8443",
        ] {
            assert!(c.origin_allowed(ok), "{ok}");
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
            assert!(!c.origin_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn missing_origin_passes_and_missing_host_fails() {
        let c = SiteRules::new(&cfg());
        let mut h = HeaderMap::new();
        assert_eq!(
            c.check(&Uri::from_static("/mcp"), &h),
            Err(Refusal::BadHost)
        );
        h.insert(header::HOST, "localhost:8001".parse().unwrap());
        assert!(c.check(&Uri::from_static("/mcp"), &h).is_ok());
        h.insert(header::ORIGIN, "https://evil.com".parse().unwrap());
        assert_eq!(
            c.check(&Uri::from_static("/mcp"), &h),
            Err(Refusal::ForeignOrigin)
        );
    }

    #[test]
    fn a_second_host_or_origin_is_refused_whatever_the_first() {
        let c = SiteRules::new(&cfg());
        let uri = Uri::from_static("/mcp");
        let mut h = HeaderMap::new();
        h.append(header::HOST, "127.0.0.1".parse().unwrap());
        h.append(header::HOST, "evil.example.com".parse().unwrap());
        assert_eq!(c.check(&uri, &h), Err(Refusal::BadHost));
        let mut h = HeaderMap::new();
        h.append(header::HOST, "localhost".parse().unwrap());
        for o in ["http://localhost:1", "http://localhost:1"] {
            h.append(header::ORIGIN, o.parse().unwrap());
        }
        assert_eq!(c.check(&uri, &h), Err(Refusal::ForeignOrigin));
    }
}
