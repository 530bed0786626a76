//! `Config::validate`: every value checked once, at start; an error names the variable.

use std::time::Duration;

use super::*;

impl Config {
    /// Checks every value once, at start, and names the variable of the first bad one.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: String| ConfigError::Invalid {
            var: env_name(key),
            why,
        };
        let mode = self.effective_tenant_mode();
        // In resolve mode the tenant id is only the fallback for users the API cannot
        // place; elsewhere it is the tenant of every request.
        if self.tenant_id.trim().is_empty() && mode != TenantMode::Resolve {
            return Err(ConfigError::Missing {
                var: env_name("tenant_id"),
                why: "the tenant this deployment serves (or set TOOLBRIDGE_TENANT_MODE=resolve)",
            });
        }
        if self.tenant_id.chars().any(|c| c.is_control()) {
            return Err(invalid("tenant_id", "contains control characters".into()));
        }
        if mode == TenantMode::Signed && self.tenant_header_secret.is_empty() {
            return Err(ConfigError::Missing {
                var: format!(
                    "{} (or TENANT_HEADER_SECRET)",
                    env_name("tenant_header_secret")
                ),
                why: "the shared secret that signs the tenant headers (tenant mode `signed`)",
            });
        }
        if self.tenant_cache.is_zero() || self.tenant_cache > Duration::from_secs(3600) {
            return Err(invalid(
                "tenant_cache_seconds",
                "must be between 1 and 3600".into(),
            ));
        }
        if self.token_exchange_url.is_some() && self.token_exchange_client_id.is_none() {
            return Err(ConfigError::Missing {
                var: env_name("token_exchange_client_id"),
                why: "the gateway's client id at TOOLBRIDGE_TOKEN_EXCHANGE_URL",
            });
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map_err(|e| invalid("log_level", e.to_string()))?;
        // The URLs were parsed (http or https, with a host) as they were read: `de.rs`.
        for (key, d) in [
            ("connect_timeout_seconds", self.connect_timeout),
            ("request_timeout_seconds", self.request_timeout),
            ("header_read_timeout_seconds", self.header_read_timeout),
            ("response_timeout_seconds", self.response_timeout),
        ] {
            if d.is_zero() || d > Duration::from_secs(3600) {
                return Err(invalid(key, "must be between 0 and 3600 seconds".into()));
            }
        }
        for (key, d) in [
            ("retry_budget_seconds", self.retry_budget),
            ("shutdown_grace_seconds", self.shutdown_grace),
        ] {
            if d > Duration::from_secs(600) {
                return Err(invalid(key, "must be between 0 and 600 seconds".into()));
            }
        }
        for (key, n) in [
            ("max_body_bytes", self.max_body_bytes),
            ("upstream_max_body_bytes", self.upstream_max_body_bytes),
            ("upstream_max_in_flight", self.upstream_max_in_flight),
            ("max_sessions", self.max_sessions),
            ("max_concurrent_requests", self.max_concurrent_requests),
            ("max_connections", self.max_connections),
            ("max_sessions_per_user", self.max_sessions_per_user),
            ("max_requests_per_user", self.max_requests_per_user),
        ] {
            if n == 0 {
                return Err(invalid(key, "must be positive".into()));
            }
        }
        let rate = self.user_requests_per_second;
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(invalid(
                "user_requests_per_second",
                "must be 0 (no limit) or a positive number".into(),
            ));
        }
        if self.jwt_leeway > Duration::from_secs(60) {
            return Err(invalid("jwt_leeway_seconds", "at most 60".into()));
        }
        for (key, scope) in [
            ("read_scope", &self.read_scope),
            ("write_scope", &self.write_scope),
        ] {
            if !is_scope_token(scope) {
                return Err(invalid(
                    key,
                    "must be one OAuth scope (printable ASCII, no space, quote or backslash)"
                        .into(),
                ));
            }
        }
        if self.filter_tools_by_scope && !self.enforce_scopes {
            return Err(invalid(
                "filter_tools_by_scope",
                "needs TOOLBRIDGE_ENFORCE_SCOPES=true (without it every tool may be called)".into(),
            ));
        }
        if self.max_result_bytes != 0 && self.max_result_bytes < MIN_RESULT_BYTES {
            return Err(invalid(
                "max_result_bytes",
                format!(
                    "must be 0 (no bound) or at least {MIN_RESULT_BYTES}: a page must hold one \
                     item with its note"
                ),
            ));
        }
        if self.accept_any_audience_from_issuer && self.oidc_issuer.is_none() {
            return Err(invalid(
                "accept_any_audience_from_issuer",
                "needs TOOLBRIDGE_OIDC_ISSUER (or TOOLBRIDGE_AUTHKIT_DOMAIN): any audience is \
                 accepted only from that one issuer"
                    .into(),
            ));
        }
        if self.auth_mode == Some(AuthMode::Verify) && !self.has_verification_key() {
            return Err(invalid(
                "auth_mode",
                "verify needs TOOLBRIDGE_JWT_HS256_SECRET or TOOLBRIDGE_OIDC_ISSUER".into(),
            ));
        }
        Ok(())
    }
}

/// The smallest useful `max_result_bytes`: one shortened item and the note saying so.
const MIN_RESULT_BYTES: usize = 1024;

/// RFC 6749 §3.3 scope-token characters (no space, `"` or `\`), so a configured scope can
/// go into a quoted header parameter as is.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}
