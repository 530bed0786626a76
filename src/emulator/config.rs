//! What an emulator instance enforces: which API generation it plays, secrets, tenants,
//! clocks and limits.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `DEFAULT_TENANT_ID` of the current API when none is configured (contract §7.8).
pub const DEFAULT_TENANT_ID: &str = "tenant_thinkpen_b2c";

/// Which API the emulator plays: the gateway's own notion of a generation (seed =
/// contract sections 1–6, current = section 7 too), so the two cannot drift apart.
pub use crate::config::Generation;

/// One organization a user belongs to, as the membership service (WorkOS) lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// The organization id: what `X-TB-Tenant-ID` names.
    pub id: String,
    /// Its display name (may be empty).
    #[serde(default)]
    pub name: String,
}

/// Configuration of one [`Emulator`](super::Emulator).
///
/// Fields marked *seed* or *current* are read only by that generation.
/// `Debug` prints the secrets: this is a test and demo tool whose secrets are dev values.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The API generation played.
    pub generation: Generation,
    /// `JWT_HS256_SECRET`: validates HS256 Bearer tokens (and, current, signs backend tokens).
    /// Empty: HS256 tokens are refused and token exchange answers `500`.
    pub jwt_hs256_secret: String,
    /// *seed*: the tenant the deployment serves. The API itself verifies only the
    /// signature, so any tenant id signed with the secret is accepted; this is what `demo`
    /// and the CLI configure the gateway with.
    pub tenant_id: String,
    /// *seed*: `Some` makes the three signed tenant headers mandatory on every authenticated
    /// route (sessions, wipe and state included), exactly as `TENANT_HEADER_SECRET` does.
    pub tenant_header_secret: Option<String>,
    /// *seed*: largest accepted absolute difference between `X-TB-Timestamp` and the clock.
    pub max_skew: Duration,
    /// *current*: `DEFAULT_TENANT_ID`, the tenant of users without an organization.
    pub default_tenant_id: String,
    /// *current*: `Some(table)` = `WORKOS_API_KEY` configured (sub → organizations);
    /// `None` = not configured (only the default tenant is allowed; `/v1/auth/tenant` → 503).
    pub memberships: Option<HashMap<String, Vec<Organization>>>,
    /// Lifetime of a sync session from its creation.
    pub session_ttl: Duration,
    /// Per-user token bucket on entity routes; `None` disables it (benchmarks). `/v1/sync/info`
    /// reports the contract's limit when it is off.
    pub rate_limit: Option<RateLimit>,
    /// *current*: the per-user bucket shared by token exchange, tenant lookup and the three
    /// session routes (§7.5); `None` disables it.
    pub auth_rate_limit: Option<RateLimit>,
    /// *current*: lifetime of the backend tokens `POST /auth/token-exchange` issues.
    pub backend_token_ttl: Duration,
    /// The issuer non-backend tokens must name (`iss`). *current*: `JWT_ISSUER`; *seed*:
    /// `https://<AUTH0_DOMAIN>/`, checked only when `jwks_url` is set (then on every token).
    pub jwt_issuer: Option<String>,
    /// Where RS256 keys are fetched by `kid` (cached 1 h, refetched for an unknown `kid`).
    /// *current*: `JWT_JWKS_URL`; *seed*: `https://<AUTH0_DOMAIN>/.well-known/jwks.json`.
    /// `None`: RS256 tokens are refused.
    pub jwks_url: Option<String>,
    /// Accepted audiences of non-backend tokens (`aud` must contain one; empty: no check).
    /// *current*: `JWT_AUDIENCE` and `MCP_OAUTH_AUDIENCE`; *seed*: `AUTH0_AUDIENCE`, checked
    /// only when `jwks_url` is set.
    pub jwt_audiences: Vec<String>,
    /// Like `ENV=dev` on the API: a request without a Bearer token may name its user in
    /// `X-Debug-Sub`.
    pub dev_mode: bool,
    /// Keep a bounded log of every request for [`Emulator::requests`](super::Emulator::requests).
    pub record_requests: bool,
}

impl Default for EmulatorConfig {
    /// The seed generation with the dev values of the contract: secrets a developer can
    /// type, limits as in production.
    fn default() -> Self {
        Self {
            generation: Generation::Seed,
            jwt_hs256_secret: "dev-jwt-secret".to_owned(),
            tenant_id: "dev-tenant".to_owned(),
            tenant_header_secret: Some("dev-tenant-secret".to_owned()),
            max_skew: Duration::from_secs(300),
            default_tenant_id: DEFAULT_TENANT_ID.to_owned(),
            memberships: None,
            session_ttl: Duration::from_secs(30 * 60),
            rate_limit: Some(RateLimit::default()),
            auth_rate_limit: None,
            backend_token_ttl: Duration::from_secs(3600),
            jwt_issuer: None,
            jwks_url: None,
            jwt_audiences: Vec::new(),
            dev_mode: false,
            record_requests: true,
        }
    }
}

impl EmulatorConfig {
    /// The current generation with its production limits (600/min burst 120 on entity
    /// routes, 60/min burst 20 on the auth routes) and a membership service that knows
    /// nobody yet (every user may use the default tenant; see
    /// [`Emulator::set_memberships`](super::Emulator::set_memberships)). No tenant secret:
    /// the current API reads none.
    pub fn current() -> Self {
        Self {
            generation: Generation::Current,
            tenant_header_secret: None,
            memberships: Some(HashMap::new()),
            auth_rate_limit: Some(RateLimit::AUTH),
            ..Self::default()
        }
    }
}

/// A token bucket: `per_minute / 60` tokens a second refill a bucket of `burst` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per minute (also reported as `X-RateLimit-Limit`).
    pub per_minute: u32,
    /// Bucket capacity: how many requests may arrive at once (`X-RateLimit-Burst`).
    pub burst: u32,
}

impl RateLimit {
    /// The current API's auth-route limit (§7.5): 60 per 60 s, burst 20.
    pub(crate) const AUTH: Self = Self {
        per_minute: 60,
        burst: 20,
    };
}

impl Default for RateLimit {
    /// The contract's entity-route limit: 600 requests per 60 s, burst 120.
    fn default() -> Self {
        Self {
            per_minute: 600,
            burst: 120,
        }
    }
}
