//! `Config::validate`: every value checked once, at start; an error names the variable.

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
        if self.tenant_cache_seconds == 0 || self.tenant_cache_seconds > 3600 {
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
        let url = reqwest::Url::parse(&self.go_api_base_url)
            .map_err(|e| invalid("go_api_base_url", format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid("go_api_base_url", "must be an http(s) URL".into()));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map_err(|e| invalid("log_level", e.to_string()))?;
        for (key, secs) in [
            ("connect_timeout_seconds", self.connect_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("response_timeout_seconds", self.response_timeout_seconds),
        ] {
            if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
                return Err(invalid(key, "must be between 0 and 3600 seconds".into()));
            }
        }
        for (key, secs) in [
            ("retry_budget_seconds", self.retry_budget_seconds),
            ("shutdown_grace_seconds", self.shutdown_grace_seconds),
        ] {
            if !(secs.is_finite() && (0.0..=600.0).contains(&secs)) {
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
        if self.jwt_leeway_seconds > 60 {
            return Err(invalid("jwt_leeway_seconds", "at most 60".into()));
        }
        for (key, value) in [
            ("public_url", &self.public_url),
            ("oidc_issuer", &self.oidc_issuer),
            ("jwks_url", &self.jwks_url),
            ("token_exchange_url", &self.token_exchange_url),
        ] {
            if let Some(v) = value {
                let u = reqwest::Url::parse(v).map_err(|e| invalid(key, e.to_string()))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(invalid(key, "must be an http(s) URL".into()));
                }
            }
        }
        for server in &self.authorization_servers {
            let u = reqwest::Url::parse(server)
                .map_err(|e| invalid("authorization_servers", format!("{server}: {e}")))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(invalid(
                    "authorization_servers",
                    format!("{server}: must be an http(s) URL"),
                ));
            }
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
