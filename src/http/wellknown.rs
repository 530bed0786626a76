//! OAuth 2.0 Protected Resource Metadata (RFC 9728) at
//! `/.well-known/oauth-protected-resource/mcp` (the `/mcp` resource) and
//! `/.well-known/oauth-protected-resource` (the origin itself, RFC 9728 §3.3), and the
//! 404 every other path gets.
//!
//! This is how an OAuth-capable MCP client (Claude's connectors, the MCP Inspector, the
//! SDKs) finds the authorization server after a 401: the `WWW-Authenticate` challenge
//! points here, and `authorization_servers` names it. The document is only published when
//! there is an authorization server to name: the MCP authorization spec requires at least
//! one, and without one a client falls back to asking the gateway itself to register it,
//! which it cannot. Then the metadata URLs, like every unknown path, answer 404 with what
//! to do instead (send a bearer token yourself). The document is public, credential-free
//! data: browser-based clients may read it (CORS).

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header, uri::Authority};
use serde_json::{Map, Value, json};

use super::{AppState, edge::rebinding};
use crate::config::Config;

/// Path of the metadata for the `/mcp` resource (RFC 9728 §3.1: the well-known prefix
/// inserted before the resource's path).
pub(crate) const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// Path of the metadata for the origin (a resource with no path).
pub(crate) const ROOT_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Paths of an authorization server (RFC 8414, OIDC Discovery, the MCP spec's defaults).
/// Clients that find no metadata try them on the gateway's origin; they get a 404 that
/// says where to sign in instead, never a 401.
const AS_PATHS: &[&str] = &[
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/register",
    "/authorize",
    "/token",
];

/// What a client is told when the gateway offers no sign-in.
pub(crate) const NO_SIGN_IN: &str = "This gateway offers no OAuth sign-in (no authorization server is \
configured): send a valid bearer token yourself, e.g. --header \"Authorization: Bearer <token>\" \
(toolbridge-mcp demo prints one; an operator mints one with toolbridge-mcp token --sub <user>).";

/// Where the protected resource lives, as clients must name it.
pub(crate) struct Resource {
    /// `scheme://host[:port]`.
    pub(crate) origin: String,
    /// The canonical URL of `/mcp` (the token audience clients ask for).
    pub(crate) resource: String,
}

impl Resource {
    /// From `TOOLBRIDGE_PUBLIC_URL` when set, else from the request's (already allowed)
    /// Host: `http` for loopback names, `https` for anything else, since a deployed
    /// gateway sits behind a TLS-terminating proxy.
    pub(crate) fn new(cfg: &Config, host: &Authority) -> Self {
        if let Some(url) = &cfg.public_url {
            let origin = url.origin().ascii_serialization();
            let resource = url.as_str().trim_end_matches('/').to_owned();
            return Self { origin, resource };
        }
        let scheme = if is_loopback(host.host()) {
            "http"
        } else {
            "https"
        };
        let origin = format!("{scheme}://{}", host.as_str().to_ascii_lowercase());
        let resource = format!("{origin}/mcp");
        Self { origin, resource }
    }

    /// The URL a 401 challenge points to.
    pub(crate) fn metadata_url(&self) -> String {
        format!("{}{METADATA_PATH}", self.origin)
    }
}

fn is_ip(host: &str) -> bool {
    host.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok()
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The metadata document for this configuration and request Host; `root` for the origin's
/// own URL. `None` when there is no authorization server to name.
pub(crate) fn document(
    cfg: &Config,
    scopes: &[String],
    host: &Authority,
    root: bool,
) -> Option<Value> {
    let servers = cfg.effective_authorization_servers();
    if servers.is_empty() {
        return None;
    }
    let res = Resource::new(cfg, host);
    let mut doc = Map::new();
    // RFC 9728 §3.3: the resource is the one the metadata URL was built from.
    let resource = if root { res.origin } else { res.resource };
    doc.insert("resource".into(), json!(resource));
    doc.insert("authorization_servers".into(), json!(servers));
    doc.insert("bearer_methods_supported".into(), json!(["header"]));
    if !scopes.is_empty() {
        doc.insert("scopes_supported".into(), json!(scopes));
    }
    doc.insert("resource_name".into(), json!("ToolBridge MCP gateway"));
    Some(Value::Object(doc))
}

/// `GET` handler for both well-known paths. The document is public data; the Host check
/// exists because without `TOOLBRIDGE_PUBLIC_URL` the document is derived from the Host, and
/// a name a DNS-rebinding page controls must not be echoed as the resource. So the Host must
/// pass the `/mcp` allow-list, unless the public URL fixes the document, or the Host is an IP
/// address (no page can rebind a literal address). A Kubernetes probe of this path (the API
/// team's chart probes it) sends the pod's IP as its Host, and gets 200 whenever sign-in is
/// configured.
pub(super) async fn protected_resource(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let cfg = &state.config;
    let host = match rebinding::request_authority(&uri, &headers) {
        Ok(h) if cfg.public_url.is_some() || is_ip(h.host()) || state.site.host_allowed(&h) => h,
        Ok(_) => return (StatusCode::FORBIDDEN, "Host header is not allowed").into_response(),
        Err(_) => {
            return (StatusCode::BAD_REQUEST, "missing or invalid Host header").into_response();
        }
    };
    let root = uri.path() == ROOT_METADATA_PATH;
    let mut resp = match document(cfg, state.scopes.advertised(), &host, root) {
        Some(doc) => ([(header::CACHE_CONTROL, "public, max-age=300")], Json(doc)).into_response(),
        None => not_found_json(NO_SIGN_IN),
    };
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// CORS preflight of the metadata (browser-based clients such as the Inspector UI send
/// one, since they add `MCP-Protocol-Version`). Nothing is derived from the request.
pub(super) async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "*"),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}

/// Every path without a route: 404, no token asked for. An authorization-server path gets
/// a body that says where signing in happens instead.
pub(super) async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    if !AS_PATHS.contains(&uri.path()) {
        return not_found_json("no such path; the MCP endpoint is /mcp");
    }
    if state.config.effective_authorization_servers().is_empty() {
        return not_found_json(NO_SIGN_IN);
    }
    not_found_json(
        "this gateway is not an OAuth authorization server; sign in at the authorization \
         server named in /.well-known/oauth-protected-resource/mcp",
    )
}

fn not_found_json(description: &str) -> Response {
    let body = json!({"error": "not_found", "error_description": description});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Authority {
        Authority::try_from(s).unwrap()
    }

    #[test]
    fn derives_from_host_or_public_url() {
        let cfg = Config::default();
        let r = Resource::new(&cfg, &host("127.0.0.1:8001"));
        assert_eq!(r.resource, "http://127.0.0.1:8001/mcp");
        assert_eq!(
            r.metadata_url(),
            "http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            Resource::new(&cfg, &host("[::1]:9")).origin,
            "http://[::1]:9"
        );
        assert_eq!(
            Resource::new(&cfg, &host("MCP.example.com")).origin,
            "https://mcp.example.com"
        );

        let cfg = Config {
            public_url: Some("https://tenant.fly.dev/mcp".parse().unwrap()),
            oidc_issuer: Some("https://tenant.eu.auth0.com/".parse().unwrap()),
            ..Config::default()
        };
        let scopes = ["openid".to_owned()];
        let doc = document(&cfg, &scopes, &host("localhost"), false).unwrap();
        assert_eq!(doc["resource"], "https://tenant.fly.dev/mcp");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://tenant.eu.auth0.com/"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["scopes_supported"], json!(["openid"]));
        let root = document(&cfg, &scopes, &host("localhost"), true).unwrap();
        assert_eq!(root["resource"], "https://tenant.fly.dev");
        assert_eq!(
            Resource::new(&cfg, &host("localhost")).metadata_url(),
            "https://tenant.fly.dev/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn no_authorization_server_no_document() {
        assert!(document(&Config::default(), &[], &host("localhost"), false).is_none());
        let cfg = Config {
            oidc_issuer: Some("https://issuer/".parse().unwrap()),
            authorization_servers: vec![
                "https://as-1/".parse().unwrap(),
                "https://as-2/".parse().unwrap(),
            ],
            ..Config::default()
        };
        let doc = document(&cfg, &[], &host("localhost"), false).unwrap();
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://as-1/", "https://as-2/"]),
            "the explicit list wins over the issuer"
        );
        assert!(doc.get("scopes_supported").is_none());
    }
}
