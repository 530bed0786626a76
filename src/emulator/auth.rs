//! Who is calling: the Bearer JWT (contract §1, and §7.4 for the current generation) or,
//! in dev mode, `X-Debug-Sub`.
//!
//! Both generations: HS256 with `JWT_HS256_SECRET`, RS256 by `kid` from the JWKS URL;
//! `exp` and `nbf` enforced when present (no leeway), neither required; `sub` must be a
//! non-empty string. Then the claim rules differ:
//! - seed: with an OIDC provider configured (the JWKS URL), **every** token needs the
//!   issuer and one of the audiences; without one, nothing more is checked.
//! - current: backend tokens (`token_type` `backend`, or no `token_type` and `iss`
//!   `toolbridge-api`) are checked for signature and times only; every other token needs the
//!   issuer when one is configured and one of the audiences when any is.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::config::{EmulatorConfig, Generation};
use super::oidc_keys::Jwks;

/// The issuer the API writes into the backend tokens it issues.
pub(crate) const BACKEND_ISSUER: &str = "toolbridge-api";

/// What kind of valid token a request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A backend token (current generation, §7.4).
    Backend,
    /// Any other valid token.
    User,
}

impl TokenKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Backend => "backend",
            Self::User => "user",
        }
    }
}

/// Who sent a request, judged once on arrival from its headers (request extension), for
/// every route, authenticated or not; the gates turn it into an [`ApiCaller`] where a route
/// needs one. `Api`: the emulated API's view, independent of the gateway's types.
///
/// [`ApiCaller`]: super::api_caller::ApiCaller
#[derive(Clone, Debug, Default)]
pub(crate) struct ApiIdentity {
    /// The `sub` of a valid token, or (dev mode, no Bearer token) of `X-Debug-Sub`.
    pub(crate) user: Option<Arc<str>>,
    /// Set when `user` comes from a valid token.
    pub(crate) kind: Option<TokenKind>,
    /// An `Authorization` header was sent.
    pub(crate) authorization: bool,
    /// It was `Bearer <something>`.
    pub(crate) bearer: bool,
}

/// Checks identities for one emulator; built once from the config.
pub(crate) struct Authenticator {
    generation: Generation,
    hs256: Option<DecodingKey>,
    jwks: Option<Jwks>,
    issuer: Option<String>,
    audiences: Vec<String>,
    dev_mode: bool,
}

impl Authenticator {
    pub(crate) fn new(cfg: &EmulatorConfig) -> Self {
        Self {
            generation: cfg.generation,
            hs256: (!cfg.jwt_hs256_secret.is_empty())
                .then(|| DecodingKey::from_secret(cfg.jwt_hs256_secret.as_bytes())),
            jwks: cfg.jwks_url.clone().map(Jwks::new),
            issuer: cfg.jwt_issuer.clone(),
            audiences: cfg.jwt_audiences.clone(),
            dev_mode: cfg.dev_mode,
        }
    }

    /// The caller, from `Authorization: Bearer <token>` (exactly that prefix, as the API
    /// reads it: another scheme counts as no token) or, in dev mode and only without a
    /// Bearer token, from `X-Debug-Sub`.
    pub(crate) async fn identify(&self, headers: &HeaderMap) -> ApiIdentity {
        let authorization = headers.get(header::AUTHORIZATION);
        let token = authorization
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .filter(|t| !t.is_empty());
        let mut identity = ApiIdentity {
            authorization: authorization.is_some(),
            bearer: token.is_some(),
            ..ApiIdentity::default()
        };
        match token {
            Some(token) => {
                let verified = match std::str::from_utf8(token) {
                    Ok(token) => self.verify(token).await,
                    Err(_) => None,
                };
                if let Some((sub, kind)) = verified {
                    identity.user = Some(Arc::from(sub));
                    identity.kind = Some(kind);
                }
            }
            None if self.dev_mode => {
                identity.user = headers
                    .get("x-debug-sub")
                    .and_then(|v| v.to_str().ok())
                    .filter(|s| !s.is_empty())
                    .map(Arc::from);
            }
            None => {}
        }
        identity
    }

    /// The token's `sub` and kind when it is valid.
    async fn verify(&self, token: &str) -> Option<(String, TokenKind)> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = match header.alg {
            Algorithm::HS256 => Arc::new(self.hs256.clone()?),
            Algorithm::RS256 => {
                let kid = header.kid.filter(|k| !k.is_empty())?;
                self.jwks.as_ref()?.key(&kid).await?
            }
            _ => return None,
        };
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // Issuer and audience are checked below, by rules the library does not have.
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .ok()?
            .claims;
        let kind = self.claims_allowed(&claims)?;
        let sub = claims.get("sub")?.as_str().filter(|s| !s.is_empty())?;
        Some((sub.to_owned(), kind))
    }

    /// The generation's issuer and audience rules; `None` when they refuse the token.
    fn claims_allowed(&self, claims: &Map<String, Value>) -> Option<TokenKind> {
        let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
        let backend = self.generation == Generation::Current
            && (text("token_type") == "backend"
                || (text("token_type").is_empty() && text("iss") == BACKEND_ISSUER));
        if backend {
            return Some(TokenKind::Backend);
        }
        // seed: the Auth0 rules apply only when an OIDC provider is configured.
        let checked = self.generation == Generation::Current || self.jwks.is_some();
        if checked {
            if let Some(issuer) = &self.issuer
                && text("iss") != issuer
            {
                return None;
            }
            if !self.audiences.is_empty() && !audience_matches(claims.get("aud"), &self.audiences) {
                return None;
            }
        }
        Some(TokenKind::User)
    }
}

/// `aud` (a string or an array of strings) names one of `accepted`.
fn audience_matches(aud: Option<&Value>, accepted: &[String]) -> bool {
    let ok = |v: &Value| v.as_str().is_some_and(|a| accepted.iter().any(|x| x == a));
    match aud {
        Some(Value::Array(list)) => list.iter().any(ok),
        Some(single) => ok(single),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::mint::{mint_hs256, mint_hs256_with};
    use axum::http::HeaderValue;
    use serde_json::json;
    use std::time::Duration;

    fn auth(cfg: EmulatorConfig) -> Authenticator {
        Authenticator::new(&cfg)
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        h.insert(header::AUTHORIZATION, value);
        h
    }

    async fn sub_of(a: &Authenticator, claims: Value) -> Option<String> {
        let t = mint_hs256_with("dev-jwt-secret", claims);
        a.identify(&bearer(&t)).await.user.map(|s| s.to_string())
    }

    #[tokio::test]
    async fn tokens_times_optional_no_leeway() {
        let a = auth(EmulatorConfig::default());
        let good = mint_hs256("dev-jwt-secret", "alice", Duration::from_secs(60));
        let id = a.identify(&bearer(&good)).await;
        assert_eq!(
            (id.user.as_deref(), id.kind),
            (Some("alice"), Some(TokenKind::User))
        );
        let wrong_key = mint_hs256("other", "alice", Duration::from_secs(60));
        assert_eq!(a.identify(&bearer(&wrong_key)).await.user, None);
        let now = chrono::Utc::now().timestamp();
        assert_eq!(sub_of(&a, json!({"sub": "a"})).await.as_deref(), Some("a"));
        assert_eq!(sub_of(&a, json!({"sub": "a", "exp": now - 5})).await, None);
        assert_eq!(sub_of(&a, json!({"sub": "a", "nbf": now + 30})).await, None);
        assert_eq!(sub_of(&a, json!({"exp": now + 60})).await, None);
        assert_eq!(sub_of(&a, json!({"sub": 7})).await, None);
        // Exactly `Bearer `: another scheme, or another case, is no token.
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("bearer {good}")).unwrap(),
        );
        let id = a.identify(&h).await;
        assert_eq!((id.user, id.authorization, id.bearer), (None, true, false));
    }

    #[tokio::test]
    async fn debug_sub_only_in_dev_mode_without_a_bearer_token() {
        let mut h = HeaderMap::new();
        h.insert("x-debug-sub", HeaderValue::from_static("bob"));
        let dev = auth(EmulatorConfig {
            dev_mode: true,
            ..EmulatorConfig::default()
        });
        assert_eq!(
            auth(EmulatorConfig::default()).identify(&h).await.user,
            None
        );
        let id = dev.identify(&h).await;
        assert_eq!((id.user.as_deref(), id.kind), (Some("bob"), None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        assert_eq!(dev.identify(&h).await.user.as_deref(), Some("bob"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer junk"),
        );
        assert_eq!(dev.identify(&h).await.user, None);
    }

    #[tokio::test]
    async fn current_claim_rules() {
        let a = auth(EmulatorConfig {
            jwt_issuer: Some("https://idp/".into()),
            jwt_audiences: vec!["api".into(), "mcp".into()],
            ..EmulatorConfig::current()
        });
        let ok = json!({"sub": "u", "iss": "https://idp/", "aud": ["x", "mcp"]});
        assert_eq!(sub_of(&a, ok).await.as_deref(), Some("u"));
        assert_eq!(
            sub_of(&a, json!({"sub": "u", "iss": "https://idp/"})).await,
            None
        );
        assert_eq!(
            sub_of(&a, json!({"sub": "u", "iss": "other", "aud": "api"})).await,
            None
        );
        // Backend tokens skip issuer and audience, whichever way they say so.
        let backend =
            json!({"sub": "u", "iss": "toolbridge-api", "aud": "x", "token_type": "backend"});
        let t = mint_hs256_with("dev-jwt-secret", backend);
        assert_eq!(a.identify(&bearer(&t)).await.kind, Some(TokenKind::Backend));
        assert!(
            sub_of(&a, json!({"sub": "u", "iss": "toolbridge-api"}))
                .await
                .is_some()
        );
        assert!(
            sub_of(&a, json!({"sub": "u", "token_type": "backend"}))
                .await
                .is_some()
        );
        let other_type = json!({"sub": "u", "iss": "toolbridge-api", "token_type": "x"});
        assert_eq!(sub_of(&a, other_type).await, None);
    }

    #[tokio::test]
    async fn seed_checks_issuer_and_audience_only_with_an_oidc_provider() {
        let plain = auth(EmulatorConfig {
            jwt_issuer: Some("https://tenant.auth0.com/".into()),
            jwt_audiences: vec!["api".into()],
            ..EmulatorConfig::default()
        });
        assert!(sub_of(&plain, json!({"sub": "u"})).await.is_some());
        let auth0 = auth(EmulatorConfig {
            jwt_issuer: Some("https://tenant.auth0.com/".into()),
            jwt_audiences: vec!["api".into()],
            jwks_url: Some("http://127.0.0.1:9/jwks.json".into()),
            ..EmulatorConfig::default()
        });
        assert_eq!(sub_of(&auth0, json!({"sub": "u"})).await, None);
        let named = json!({"sub": "u", "iss": "https://tenant.auth0.com/", "aud": "api"});
        assert!(sub_of(&auth0, named).await.is_some());
        // No backend tokens in seed: toolbridge-api's own claims are just claims.
        let backend = json!({"sub": "u", "token_type": "backend"});
        assert_eq!(sub_of(&auth0, backend).await, None);
    }
}
