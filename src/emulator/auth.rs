//! Who is calling: the Bearer JWT (contract section 1) and the tenant headers (section 2).

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::config::EmulatorConfig;
use crate::upstream::signing::{SIGNATURE, TENANT_ID, TIMESTAMP, verify};

/// Checks identities for one emulator; built once from the config.
pub(crate) struct Authenticator {
    key: DecodingKey,
    validation: Validation,
    tenant_id: String,
    tenant_secret: Option<Vec<u8>>,
    max_skew_ms: i64,
    dev_mode: bool,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
}

impl Authenticator {
    /// HS256 only, `exp` required and checked without leeway (like the Go API's jwt
    /// library), `aud` not checked: the API configures no audience for HS256 tokens.
    pub fn new(cfg: &EmulatorConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        Self {
            key: DecodingKey::from_secret(cfg.jwt_hs256_secret.as_bytes()),
            validation,
            tenant_id: cfg.tenant_id.clone(),
            tenant_secret: cfg
                .tenant_header_secret
                .as_ref()
                .map(|s| s.as_bytes().to_vec()),
            max_skew_ms: i64::try_from(cfg.max_skew.as_millis()).unwrap_or(i64::MAX),
            dev_mode: cfg.dev_mode,
        }
    }

    /// Whether authenticated routes need the tenant headers.
    pub fn tenant_required(&self) -> bool {
        self.tenant_secret.is_some()
    }

    /// The caller's `sub`: from a valid Bearer token, or (dev mode, no `Authorization`
    /// header at all) from `X-Debug-Sub`. An `Authorization` header that is present but
    /// not a valid Bearer token is never overridden by `X-Debug-Sub`.
    pub fn user(&self, headers: &HeaderMap) -> Option<Arc<str>> {
        match headers.get(header::AUTHORIZATION) {
            Some(value) => {
                let value = std::str::from_utf8(value.as_bytes()).ok()?;
                let (scheme, token) = value.trim().split_once(' ')?;
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return None;
                }
                let data =
                    jsonwebtoken::decode::<Claims>(token.trim(), &self.key, &self.validation)
                        .ok()?;
                data.claims.sub.filter(|s| !s.is_empty()).map(Arc::from)
            }
            None if self.dev_mode => {
                let sub = headers.get("x-debug-sub")?.to_str().ok()?.trim();
                (!sub.is_empty()).then(|| Arc::from(sub))
            }
            None => None,
        }
    }

    /// All three tenant headers present, the configured tenant, a decimal-millisecond
    /// timestamp within ±max_skew of `now_ms`, and a signature that verifies (in constant
    /// time) over the header values exactly as sent. Always `false` when no tenant secret
    /// is configured: nothing could be verified.
    pub fn tenant_valid(&self, headers: &HeaderMap, now_ms: i64) -> bool {
        let Some(secret) = &self.tenant_secret else {
            return false;
        };
        // Header values are read as UTF-8 bytes, not visible ASCII only: a tenant id such
        // as `tenant-ü` is legal and signed over its UTF-8 form.
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        };
        let (Some(tenant), Some(ts), Some(sig)) =
            (text(TENANT_ID), text(TIMESTAMP), text(SIGNATURE))
        else {
            return false;
        };
        if tenant != self.tenant_id || ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(at) = ts.parse::<i64>() else {
            return false;
        };
        if now_ms.abs_diff(at) > self.max_skew_ms.unsigned_abs() {
            return false;
        }
        verify(secret, tenant, ts, sig)
    }
}

/// The API's internal user id for a `sub`: stable, opaque, and never the `sub` itself.
pub(crate) fn internal_user_id(sub: &str) -> String {
    let digest = Sha256::digest(sub.as_bytes());
    format!("u_{}", &hex::encode(digest)[..12])
}

/// A Go `http.Error` answer: `text/plain`, the message plus a newline, `nosniff`. The
/// real API writes its 401s (and session 404/403s) this way, so clients must trim.
pub(crate) fn plain_error(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

/// 401 for a missing or bad token.
pub(crate) fn unauthorized() -> Response {
    plain_error(StatusCode::UNAUTHORIZED, "unauthorized")
}

/// 401 for any tenant-header failure, with no detail on which check failed.
pub(crate) fn bad_tenant() -> Response {
    plain_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: invalid tenant headers",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::token::{mint_hs256, mint_hs256_with};
    use crate::upstream::signing::sign;
    use axum::http::HeaderValue;
    use std::time::Duration;

    fn auth(dev: bool) -> Authenticator {
        Authenticator::new(&EmulatorConfig {
            dev_mode: dev,
            ..EmulatorConfig::default()
        })
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    #[test]
    fn tokens() {
        let a = auth(false);
        let good = mint_hs256("dev-jwt-secret", "alice", Duration::from_secs(60));
        assert_eq!(a.user(&bearer(&good)).as_deref(), Some("alice"));
        let wrong_key = mint_hs256("other", "alice", Duration::from_secs(60));
        assert_eq!(a.user(&bearer(&wrong_key)), None);
        let no_exp = mint_hs256_with("dev-jwt-secret", serde_json::json!({"sub": "a"}));
        assert_eq!(a.user(&bearer(&no_exp)), None);
        let now = chrono::Utc::now().timestamp();
        let expired = serde_json::json!({"sub": "a", "exp": now - 5});
        assert_eq!(
            a.user(&bearer(&mint_hs256_with("dev-jwt-secret", expired))),
            None
        );
        let no_sub = serde_json::json!({"exp": now + 60});
        assert_eq!(
            a.user(&bearer(&mint_hs256_with("dev-jwt-secret", no_sub))),
            None
        );
    }

    #[test]
    fn debug_sub_only_in_dev_mode_without_authorization() {
        let mut h = HeaderMap::new();
        h.insert("x-debug-sub", HeaderValue::from_static("bob"));
        assert_eq!(auth(false).user(&h), None);
        assert_eq!(auth(true).user(&h).as_deref(), Some("bob"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer junk"),
        );
        assert_eq!(auth(true).user(&h), None);
    }

    #[test]
    fn tenant_checks() {
        let a = auth(false);
        let now = 1_763_553_600_000_i64;
        let headers = |tenant: &str, ts: i64, secret: &str| {
            let mut h = HeaderMap::new();
            let ts = ts.to_string();
            h.insert(TENANT_ID, HeaderValue::from_str(tenant).unwrap());
            h.insert(TIMESTAMP, HeaderValue::from_str(&ts).unwrap());
            let sig = sign(secret.as_bytes(), tenant, &ts);
            h.insert(SIGNATURE, HeaderValue::from_str(&sig).unwrap());
            h
        };
        assert!(a.tenant_valid(&headers("dev-tenant", now, "dev-tenant-secret"), now));
        assert!(a.tenant_valid(
            &headers("dev-tenant", now - 300_000, "dev-tenant-secret"),
            now
        ));
        assert!(!a.tenant_valid(
            &headers("dev-tenant", now - 300_001, "dev-tenant-secret"),
            now
        ));
        assert!(!a.tenant_valid(
            &headers("dev-tenant", now + 300_001, "dev-tenant-secret"),
            now
        ));
        assert!(!a.tenant_valid(&headers("other", now, "dev-tenant-secret"), now));
        assert!(!a.tenant_valid(&headers("dev-tenant", now, "wrong"), now));
        let mut missing = headers("dev-tenant", now, "dev-tenant-secret");
        missing.remove(SIGNATURE);
        assert!(!a.tenant_valid(&missing, now));
    }

    #[test]
    fn internal_ids_are_stable_and_opaque() {
        let id = internal_user_id("alice");
        assert_eq!(id.len(), 14);
        assert!(id.starts_with("u_"));
        assert_eq!(id, internal_user_id("alice"));
        assert_ne!(id, internal_user_id("bob"));
    }
}
