//! OAuth 2.0 Protected Resource Metadata (RFC 9728) at
//! `/.well-known/oauth-protected-resource` and `/.well-known/oauth-protected-resource/mcp`.
//!
//! This is how an OAuth-capable MCP client (Claude's connectors, the MCP Inspector) finds
//! the identity provider after a 401: the `WWW-Authenticate` challenge points here, and
//! `authorization_servers` names the OIDC issuer. The document is public; it carries no
//! secret, only the canonical resource URL and the issuer.

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, StatusCode, Uri, header, uri::Authority};
use serde_json::{Map, Value, json};

use super::{AppState, edge::rebinding};
use crate::config::Config;

/// Path of the metadata for the `/mcp` resource (RFC 9728 §3.1: the well-known prefix
/// inserted before the resource's path).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// Where the protected resource lives, as clients must name it.
pub struct Resource {
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The canonical URL of `/mcp` (the token audience clients ask for).
    pub resource: String,
}

impl Resource {
    /// From `TOOLBRIDGE_PUBLIC_URL` when set, else from the request's (already allowed)
    /// Host: `http` for loopback names, `https` for anything else, since a deployed
    /// gateway sits behind a TLS-terminating proxy.
    pub fn new(cfg: &Config, host: &Authority) -> Self {
        if let Some(url) = cfg
            .public_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
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
    pub fn metadata_url(&self) -> String {
        format!("{}{METADATA_PATH}", self.origin)
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The metadata document for this configuration and request Host.
pub fn document(cfg: &Config, host: &Authority) -> Value {
    let res = Resource::new(cfg, host);
    let mut doc = Map::new();
    doc.insert("resource".into(), json!(res.resource));
    if let Some(issuer) = &cfg.oidc_issuer {
        doc.insert("authorization_servers".into(), json!([issuer]));
    }
    doc.insert("bearer_methods_supported".into(), json!(["header"]));
    if !cfg.scopes_supported.is_empty() {
        doc.insert("scopes_supported".into(), json!(cfg.scopes_supported));
    }
    doc.insert("resource_name".into(), json!("ToolBridge MCP gateway"));
    Value::Object(doc)
}

/// `GET` handler for both well-known paths. The Host must pass the same allow-list as
/// `/mcp`, since the document may be derived from it.
pub(super) async fn protected_resource(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let cfg = &state.config;
    let host = match rebinding::request_authority(&uri, &headers) {
        Ok(h) if rebinding::host_allowed(cfg, &h) => h,
        Ok(_) => return (StatusCode::FORBIDDEN, "Host header is not allowed").into_response(),
        Err(_) => {
            return (StatusCode::BAD_REQUEST, "missing or invalid Host header").into_response();
        }
    };
    (
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            // Public, credential-free data: browser-based MCP clients may read it.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(document(cfg, &host)),
    )
        .into_response()
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
            public_url: Some("https://tenant.fly.dev/mcp".into()),
            oidc_issuer: Some("https://tenant.eu.auth0.com/".into()),
            scopes_supported: vec!["openid".into()],
            ..Config::default()
        };
        let doc = document(&cfg, &host("localhost"));
        assert_eq!(doc["resource"], "https://tenant.fly.dev/mcp");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://tenant.eu.auth0.com/"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["scopes_supported"], json!(["openid"]));
        assert_eq!(
            Resource::new(&cfg, &host("localhost")).metadata_url(),
            "https://tenant.fly.dev/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn optional_fields_are_absent_when_unset() {
        let doc = document(&Config::default(), &host("localhost"));
        assert!(doc.get("authorization_servers").is_none());
        assert!(doc.get("scopes_supported").is_none());
    }
}
