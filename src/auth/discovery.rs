//! Where the issuer keeps its keys: the `jwks_uri` of its authorization-server metadata
//! (RFC 8414) or OpenID Connect discovery document. Guessing `<issuer>/.well-known/jwks.json`
//! only works for some providers (Auth0 yes; `oidc-provider`, Keycloak, Okta no).
//!
//! The candidate URLs are tried in the order MCP clients use (RFC 8414 first, then OIDC
//! Discovery with path insertion, then with the path appended). A document only counts
//! when its `issuer` is the configured one (RFC 8414 §3.3): a metadata document for some
//! other issuer must not choose our keys.

use reqwest::Url;

use super::fetch::{JwksError, get_bounded};

/// Largest metadata document read; real ones are a few KiB.
pub(crate) const MAX_METADATA_BYTES: usize = 64 * 1024;

/// The metadata URLs of `issuer`, in the order they are tried.
pub(crate) fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let at = |p: String| {
        let mut u = issuer.clone();
        u.set_path(&p);
        u.set_query(None);
        u.set_fragment(None);
        u
    };
    if path.is_empty() {
        vec![
            at("/.well-known/oauth-authorization-server".into()),
            at("/.well-known/openid-configuration".into()),
        ]
    } else {
        vec![
            at(format!("/.well-known/oauth-authorization-server{path}")),
            at(format!("/.well-known/openid-configuration{path}")),
            at(format!("{path}/.well-known/openid-configuration")),
        ]
    }
}

/// The `jwks_uri` of a metadata document, which must name `issuer` as its issuer (a
/// trailing slash aside: operators write issuers both ways).
pub(crate) fn jwks_uri(body: &[u8], issuer: &str) -> Result<Url, JwksError> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let doc: Metadata = serde_json::from_slice(body)
        .map_err(|e| JwksError::Invalid(format!("issuer metadata: {e}")))?;
    let same = |a: &str| a.trim_end_matches('/') == issuer.trim_end_matches('/');
    if !doc.issuer.as_deref().is_some_and(same) {
        return Err(JwksError::Invalid(
            "issuer metadata names another issuer".into(),
        ));
    }
    let uri = doc
        .jwks_uri
        .ok_or_else(|| JwksError::Invalid("issuer metadata has no jwks_uri".into()))?;
    let url = Url::parse(&uri).map_err(|e| JwksError::Invalid(format!("jwks_uri: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(JwksError::Invalid("jwks_uri is not an http(s) URL".into()));
    }
    Ok(url)
}

/// Reads the issuer's metadata and returns its `jwks_uri`. A candidate that answers with an
/// error status or an unusable document moves on to the next; a network failure (refused,
/// timed out) stops at once, since the next candidate is on the same host.
pub(crate) async fn discover(client: &reqwest::Client, issuer: &Url) -> Result<Url, JwksError> {
    let mut last = JwksError::Invalid("no metadata URL".into());
    for url in metadata_urls(issuer) {
        match get_bounded(client, &url, MAX_METADATA_BYTES).await {
            Ok(body) => match jwks_uri(&body, issuer.as_str()) {
                Ok(uri) => return Ok(uri),
                Err(e) => last = e,
            },
            Err(e @ JwksError::Status(_)) | Err(e @ JwksError::TooLarge(_)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn urls(issuer: &str) -> Vec<String> {
        metadata_urls(&Url::parse(issuer).unwrap())
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn candidate_urls_follow_rfc_8414_then_oidc() {
        assert_eq!(
            urls("https://idp.example/"),
            [
                "https://idp.example/.well-known/oauth-authorization-server",
                "https://idp.example/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            urls("https://kc.example/realms/acme/"),
            [
                "https://kc.example/.well-known/oauth-authorization-server/realms/acme",
                "https://kc.example/.well-known/openid-configuration/realms/acme",
                "https://kc.example/realms/acme/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn the_document_must_name_our_issuer() {
        let doc = |v: serde_json::Value| v.to_string().into_bytes();
        let good = doc(json!({"issuer": "https://idp/", "jwks_uri": "https://idp/keys"}));
        assert_eq!(
            jwks_uri(&good, "https://idp").unwrap().as_str(),
            "https://idp/keys"
        );
        for bad in [
            json!({"issuer": "https://evil/", "jwks_uri": "https://evil/keys"}),
            json!({"jwks_uri": "https://idp/keys"}),
            json!({"issuer": "https://idp/"}),
            json!({"issuer": "https://idp/", "jwks_uri": "file:///etc/passwd"}),
            json!({"issuer": "https://idp/", "jwks_uri": "not a url"}),
            json!(["not", "an", "object"]),
        ] {
            assert!(
                jwks_uri(&doc(bad.clone()), "https://idp/").is_err(),
                "{bad}"
            );
        }
    }
}
