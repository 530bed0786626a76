//! Configuration: defaults < optional TOML file (`--config`) < `.env` < `TOOLBRIDGE_*` environment.
//!
//! Names follow the Python sidecar this replaces (`TOOLBRIDGE_TENANT_ID`, ...), plus the
//! unprefixed names the deployment's secrets already set (`TENANT_HEADER_SECRET`,
//! `JWT_HS256_SECRET`). Secrets live in [`Secret`], so printing a `Config` never prints them.
//!
//! # One home per key
//!
//! The `config_keys!` table below is the only place a key is written: its name, type,
//! default, meaning, aliases and placeholder. From it come the [`Config`] struct, the
//! [`KEYS`] list, `Config::default()` (the defaults in the table, read like any other value),
//! and the two documents an operator reads: the configuration table in `README.md` and
//! `.env.example`. A test (`config::tests::docs`) fails with a diff when either document is
//! not what the table makes; `UPDATE_CONFIG_DOCS=1 cargo test --lib config::tests::docs`
//! rewrites them.
//!
//! The values are typed once, as they are read (`de.rs`): durations are [`Duration`]s
//! (the keys keep their `_seconds` names), URLs are parsed [`reqwest::Url`]s (`reqwest`'s
//! re-export of `url::Url`: the type every API and JWKS request is built from, with path
//! joining and origin serialization that `http::Uri` lacks, and no second URL crate in the
//! build), and an OIDC issuer is an [`Issuer`], parsed but kept as written (it is compared
//! as a string). `Config::validate` then checks what one value alone cannot say (ranges,
//! combinations) and names the variable of the first bad one.
//!
//! # Adding a key
//!
//! 1. Add an entry to the table, in the section it belongs to: doc lines (they become the
//!    field's rustdoc, the `.env.example` comment and the README's meaning column), then
//!    `name: Type = "default"`. A default is written as it would be in `.env`; `""` means
//!    unset and needs a type that reads `""` as unset (`Option<_>` with `de "de::opt"`,
//!    `String`, `Vec<String>`, [`Secret`]). Durations: `name as "name_seconds": Duration =
//!    "30", with "de::seconds"` (or `"de::whole_seconds"`); URLs: `with "de::http_url"` or
//!    `"de::opt_http_url"` (`de "fn"` only reads a value; `with "module"` names a module
//!    that also writes it for `check`'s effective configuration). Other names read for the
//!    same key: `, alias "OTHER_NAME"`, optionally followed by its `.env.example` line (the
//!    key's own name wins; a value that needs rewriting goes through `aliased_value`). A
//!    key every deployment must set: `, example "placeholder"`.
//! 2. Range or cross-key checks go into `validate.rs`, with the variable's name.
//! 3. Run `UPDATE_CONFIG_DOCS=1 cargo test --lib config::tests::docs` to write the README
//!    table and `.env.example`; commit them with the key.
//!
//! A variable read from the environment that is not a key (`RUST_LOG`, the `OTEL_*` ones)
//! goes into [`OTHER_VARS`] so the documents list it too.

use std::time::Duration;

use crate::secret::Secret;

mod de;
#[cfg(test)]
mod docs;
mod error;
mod issuer;
pub(crate) mod key;
mod load;
mod modes;
mod validate;
pub use error::ConfigError;
pub use issuer::Issuer;
use key::config_keys;
pub use key::{Alias, Key};
pub(crate) use modes::ApiGeneration;
pub use modes::{
    AuthMode, BackendAuth, Generation, LogFormat, ResultShape, SessionMode, TenantMode,
};
pub(crate) use validate::is_scope_token;

/// The prefix of every configuration variable.
pub(crate) const ENV_PREFIX: &str = "TOOLBRIDGE_";

/// A variable the documents list that is not a configuration key: read by a library
/// (`RUST_LOG`, `OTEL_*`), not by `Config`.
#[derive(Debug, Clone, Copy)]
pub struct OtherVar {
    /// The variable.
    pub name: &'static str,
    /// The `.env.example` section it is listed under (a section of [`KEYS`], or its own
    /// after them).
    pub section: &'static str,
    /// The library's default, as `.env.example` shows it (`""`: unset).
    pub default: &'static str,
    /// What it does, one line per line of `.env.example`.
    pub doc: &'static [&'static str],
}

/// The section of the `OTEL_*` variables.
const TRACES: &str =
    "Traces (OpenTelemetry's standard variables; README \"Operating it\" lists them all)";

/// The variables listed beside the keys.
pub const OTHER_VARS: &[OtherVar] = &[
    OtherVar {
        name: "RUST_LOG",
        section: "Logs",
        default: "",
        doc: &["Standard tracing filter; wins over TOOLBRIDGE_LOG_LEVEL when set."],
    },
    OtherVar {
        name: "OTEL_EXPORTER_OTLP_ENDPOINT",
        section: TRACES,
        default: "",
        doc: &[
            "The OTLP/HTTP collector, e.g. http://otel-collector:4318. Unset: no traces, no trace work.",
        ],
    },
    OtherVar {
        name: "OTEL_SERVICE_NAME",
        section: TRACES,
        default: "toolbridge-mcp",
        doc: &["The service name spans carry."],
    },
    OtherVar {
        name: "OTEL_TRACES_SAMPLER",
        section: TRACES,
        default: "parentbased_always_on",
        doc: &["Sampling, e.g. parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1."],
    },
];

config_keys! {
    section "Tenant (required)" {
        /// The tenant this deployment serves, sent on every API request; never taken from a client.
        /// In `resolve` mode it is only the fallback for users the API cannot place (may be empty).
        tenant_id: String = "", example "tenant-123", de "de::string_like";
        /// HMAC-SHA256 key for the X-TB-* tenant headers (seed API); the same value the API has.
        /// The current API ignores the signature, so a signed deployment works against both.
        tenant_header_secret: Secret = "", example "change-me-to-the-api-tenant-header-secret",
            alias "TENANT_HEADER_SECRET"
                "Alias of TOOLBRIDGE_TENANT_HEADER_SECRET (the API's own name); the prefixed one wins.";
        /// `signed` (tenant id + HMAC headers), `plain` (tenant id only) or `resolve` (per user, the
        /// tenant the API names at GET /v1/auth/tenant); unset: signed with a secret, else plain.
        tenant_mode: Option<TenantMode> = "", de "de::opt";
        /// Seconds a resolved tenant is kept per caller (`resolve` mode; 1 to 3600).
        tenant_cache as "tenant_cache_seconds": Duration = "300", with "de::whole_seconds";
    }
    section "The ToolBridge API" {
        /// Base URL of the ToolBridge Go API (in the container: http://127.0.0.1:8080).
        go_api_base_url: reqwest::Url = "http://localhost:8080", with "de::http_url";
        /// `auto` (decided from the API's /v1/sync/info at start and at each readiness check),
        /// `seed` or `current`.
        api_generation: ApiGeneration = "auto";
        /// `reuse`: one sync session per caller, opened once and renewed; `per_call`: a fresh one
        /// for every API request, closed after it (two rate-limited session requests per call).
        session_mode: SessionMode = "reuse";
        /// `passthrough`: the caller's verified token goes to the API; `exchange`: it is exchanged
        /// for a backend token (cached per caller) and only that reaches the API.
        backend_auth: BackendAuth = "passthrough";
        /// RFC 8693 token endpoint for `exchange`; unset: the API's own POST /auth/token-exchange.
        token_exchange_url: Option<reqwest::Url> = "", with "de::opt_http_url";
        /// The resource (RFC 8707) / audience asked for in an exchange; unset: the API base URL.
        token_exchange_resource: Option<String> = "", alias "TOOLBRIDGE_BACKEND_API_AUDIENCE"
                "Alias of TOOLBRIDGE_TOKEN_EXCHANGE_RESOURCE (the API team's MCP chart's name); ours wins.",
            de "de::opt_string_like";
        /// The gateway's client id at TOOLBRIDGE_TOKEN_EXCHANGE_URL (HTTP Basic), required with it.
        token_exchange_client_id: Option<String> = "", de "de::opt_string_like";
        /// Its client secret (HTTP Basic) at TOOLBRIDGE_TOKEN_EXCHANGE_URL.
        token_exchange_client_secret: Secret = "", alias "TOKEN_EXCHANGE_CLIENT_SECRET";
        /// Seconds to wait for a TCP connection to the API (decimals allowed).
        connect_timeout as "connect_timeout_seconds": Duration = "2", with "de::seconds";
        /// Seconds one API request may take in all (decimals allowed).
        request_timeout as "request_timeout_seconds": Duration = "30", with "de::seconds";
        /// Largest API response body read, in bytes (8 MiB).
        upstream_max_body_bytes: usize = "8388608";
        /// Most API requests in flight at once; more tool calls wait (up to the request timeout).
        upstream_max_in_flight: usize = "64";
        /// Most MCP requests handled at once; more wait (up to the request timeout, then 503).
        max_concurrent_requests: usize = "256";
        /// Most client connections open at once; more wait in the kernel's listen backlog.
        max_connections: usize = "10000";
        /// Seconds one API request may spend waiting to be retried: 429s and 502/503/504s
        /// (Retry-After plus jitter, or a short back-off), refused connections
        /// (docs/retries.md); past it the call fails and says when to retry (decimals
        /// allowed; at most 600).
        retry_budget as "retry_budget_seconds": Duration = "30", with "de::seconds";
        /// The API's tenant-header clock window; `toolbridge-mcp check` warns when clocks differ more.
        max_timestamp_skew as "max_timestamp_skew_seconds": Duration = "300",
            with "de::whole_seconds";
    }
    section "Listening" {
        /// Address the gateway listens on.
        host: std::net::IpAddr = "0.0.0.0";
        /// Port of /mcp, /healthz, /readyz and /metrics.
        port: u16 = "8001";
        /// Also serve /metrics on this port (the container uses 9091 for Fly's [metrics] block).
        metrics_port: Option<u16> = "", de "de::opt";
        /// Seconds in-flight calls get to finish after SIGTERM (decimals allowed; at most 600).
        shutdown_grace as "shutdown_grace_seconds": Duration = "8",
            alias "TOOLBRIDGE_SHUTDOWN_TIMEOUT_SECONDS"
                "Alias of TOOLBRIDGE_SHUTDOWN_GRACE_SECONDS (the API team's MCP chart's name); ours wins.", with "de::seconds";
        /// Seconds a client has to send its request headers before it is dropped, and then again its
        /// whole body before it gets 408 (decimals allowed).
        header_read_timeout as "header_read_timeout_seconds": Duration = "10",
            with "de::seconds";
    }
    section "MCP transport" {
        /// Host names (or host:port) accepted in the Host header besides loopback names.
        allowed_hosts: Vec<String> = "", de "de::list_like";
        /// Browser origins (scheme://host[:port]) accepted in an Origin header besides loopback ones.
        allowed_origins: Vec<String> = "", de "de::list_like";
        /// Canonical public URL of the MCP endpoint, e.g. https://app.fly.dev:8001/mcp; else derived.
        public_url: Option<reqwest::Url> = "", alias "TOOLBRIDGE_PUBLIC_BASE_URL"
                "The API team's MCP chart's name: the server's origin; TOOLBRIDGE_PUBLIC_URL becomes <it>/mcp.",
            with "de::opt_http_url";
        /// `true`: no MCP sessions and JSON responses, so any replica can answer any request.
        stateless: bool = "false";
        /// Largest request body accepted on /mcp, in bytes (1 MiB); larger gets 413.
        max_body_bytes: usize = "1048576";
        /// Most concurrent MCP sessions; more get 503.
        max_sessions: usize = "5000";
        /// Seconds an idle MCP session is kept.
        session_idle_timeout as "session_idle_timeout_seconds": Duration = "600",
            with "de::whole_seconds";
        /// Most MCP sessions one user (token `sub`) has open; a new one closes their oldest idle one.
        max_sessions_per_user: usize = "32";
        /// Most MCP requests one user has in progress (body upload included); more wait for one of
        /// that user's own to finish (up to the request timeout), then get 429.
        max_requests_per_user: usize = "32";
        /// Requests a second one user may make, 0 for no limit; more get 429 with Retry-After.
        user_requests_per_second: f64 = "0";
        /// Seconds an MCP answer may take after its request got a slot; then the call is cancelled
        /// and answered with a JSON-RPC error (decimals allowed).
        response_timeout as "response_timeout_seconds": Duration = "120", with "de::seconds";
    }
    section "Bearer tokens" {
        /// `verify` (check signature, expiry, issuer, audience) or `passthrough` (only read `sub`);
        /// unset: verify when a key below is set, else passthrough.
        auth_mode: Option<AuthMode> = "", de "de::opt";
        /// `true`/`false`: whether /mcp refuses requests without a valid token; unset: true in verify.
        auth_required: Option<bool> = "", de "de::opt";
        /// HS256 key for verifying tokens (dev and tests); the same value the API has.
        jwt_hs256_secret: Secret = "", alias "JWT_HS256_SECRET"
            "Alias of TOOLBRIDGE_JWT_HS256_SECRET (the API's own name); the prefixed one wins.";
        /// OIDC issuer, e.g. https://tenant.eu.auth0.com/ ; its JWKS verifies RS256 tokens.
        oidc_issuer: Option<Issuer> = "", alias "TOOLBRIDGE_AUTHKIT_DOMAIN"
                "The API team's MCP chart's name: a WorkOS AuthKit domain; the issuer becomes https://<it>.",
            de "de::opt_issuer";
        /// JWKS URL override; unset: the jwks_uri of the issuer's RFC 8414 / OIDC discovery document.
        jwks_url: Option<reqwest::Url> = "", with "de::opt_http_url";
        /// The `aud` claim tokens must carry; when set, a token without `aud` fails.
        jwt_audience: Option<String> = "", de "de::opt_string_like";
        /// `true`: RS256 tokens from TOOLBRIDGE_OIDC_ISSUER (only) may carry any `aud` (WorkOS AuthKit DCR).
        accept_any_audience_from_issuer: bool = "false";
        /// Clock leeway for `exp` and `nbf`, in seconds (at most 60).
        jwt_leeway as "jwt_leeway_seconds": Duration = "30", with "de::whole_seconds";
        /// An unknown `kid` refreshes the JWKS at most once per this many seconds.
        jwks_refresh_interval as "jwks_refresh_interval_seconds": Duration = "30",
            with "de::whole_seconds";
        /// Extra scopes advertised in the protected-resource metadata and the 401 (e.g. openid).
        scopes_supported: Vec<String> = "", de "de::list_like";
        /// Authorization servers named in the metadata (comma-separated); unset: the OIDC issuer.
        authorization_servers: Vec<Issuer> = "", de "de::issuers";
        /// The scope read-only tools (list_*, get_*, health_check) need when scopes are enforced.
        read_scope: String = "toolbridge:read", de "de::string_like";
        /// The scope every other tool needs when scopes are enforced.
        write_scope: String = "toolbridge:write", de "de::string_like";
        /// `true`: a tool call without its scope gets 403 insufficient_scope (off: tokens need no scopes).
        enforce_scopes: bool = "false";
        /// `true` (with ENFORCE_SCOPES): tools/list shows only the tools the token may call.
        filter_tools_by_scope: bool = "false";
        /// The tools offered (comma-separated allow and deny patterns): entities (`notes,tasks`),
        /// verbs (`*:list,*:get`), denials (`-*:delete`), tool names (`health_check`). Empty: all.
        /// A pattern that matches no tool stops the start. Combined with the scope filter.
        tools: Vec<String> = "", de "de::list_like";
        /// `compact`: items without the API's sync bookkeeping, long text in list pages as previews;
        /// `full`: the API's items as they come.
        result_shape: ResultShape = "compact";
        /// Largest list_* result in bytes: a larger page comes with fewer items and a cursor. 0: none.
        max_result_bytes: usize = "65536";
        /// Bearer token for `toolbridge-mcp stdio`, where no HTTP request carries one.
        token: Secret = "";
    }
    section "Logs" {
        /// Log filter: `info`, `debug`, or a tracing directive list such as `info,toolbridge_mcp=debug`.
        log_level: String = "info", de "de::string_like";
        /// `text` (human-readable) or `json` (one object per line; the container uses json).
        log_format: LogFormat = "text";
    }
}

impl Default for Config {
    /// The defaults of the key table, read through the same deserializers as any value.
    fn default() -> Self {
        load::defaults()
    }
}

/// The key named `name` (as in a TOML file), if there is one.
pub(crate) fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// An alias's value as the key it stands for wants it. `TOOLBRIDGE_PUBLIC_BASE_URL` is the
/// server's origin, where ours names the MCP endpoint (`<origin>/mcp`, the path the sidecar
/// served too); `TOOLBRIDGE_AUTHKIT_DOMAIN` is the AuthKit host, the issuer (and so the
/// authorization server) is `https://<domain>`. The others are plain renames.
pub(crate) fn aliased_value(alias: &str, value: &str) -> String {
    let value = value.trim();
    match alias {
        "TOOLBRIDGE_PUBLIC_BASE_URL" => format!("{}/mcp", value.trim_end_matches('/')),
        "TOOLBRIDGE_AUTHKIT_DOMAIN" if !value.contains("://") => {
            format!("https://{}", value.trim_end_matches('/'))
        }
        _ => value.to_owned(),
    }
}

/// The environment variable that sets a config key.
pub(crate) fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

impl Config {
    /// True when the gateway has a key to verify tokens with.
    pub(crate) fn has_verification_key(&self) -> bool {
        !self.jwt_hs256_secret.is_empty() || self.oidc_issuer.is_some() || self.jwks_url.is_some()
    }

    /// The effective auth mode: `verify` whenever a key is configured, unless told otherwise.
    pub(crate) fn effective_auth_mode(&self) -> AuthMode {
        self.auth_mode.unwrap_or(if self.has_verification_key() {
            AuthMode::Verify
        } else {
            AuthMode::Passthrough
        })
    }

    /// Whether `/mcp` refuses requests without a valid token.
    pub(crate) fn effective_auth_required(&self) -> bool {
        self.auth_required
            .unwrap_or(self.effective_auth_mode() == AuthMode::Verify)
    }

    /// The authorization servers to publish: the explicit list, else the OIDC issuer.
    /// Empty: the gateway offers no OAuth sign-in, and publishes no metadata saying it does.
    pub(crate) fn effective_authorization_servers(&self) -> Vec<String> {
        let servers = if self.authorization_servers.is_empty() {
            self.oidc_issuer.as_slice()
        } else {
            &self.authorization_servers
        };
        servers.iter().map(|s| s.as_str().to_owned()).collect()
    }

    /// The effective tenant mode: `signed` when a tenant secret is set, else `plain`.
    pub(crate) fn effective_tenant_mode(&self) -> TenantMode {
        self.tenant_mode
            .unwrap_or(if self.tenant_header_secret.is_empty() {
                TenantMode::Plain
            } else {
                TenantMode::Signed
            })
    }

    /// The API base URL without a trailing slash.
    pub fn api_base(&self) -> &str {
        self.go_api_base_url.as_str().trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests;
