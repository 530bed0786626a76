//! What an emulator instance enforces: secrets, tenant, clocks, limits.

use std::time::Duration;

/// Configuration of one [`Emulator`](super::Emulator).
///
/// `Debug` prints the secrets: this is a test and demo tool whose secrets are dev values.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Shared secret that validates `Authorization: Bearer` tokens (HS256 only, `exp` required).
    pub jwt_hs256_secret: String,
    /// The only tenant id accepted in `X-TB-Tenant-ID`.
    pub tenant_id: String,
    /// `Some` makes the three tenant headers mandatory on every authenticated route
    /// (sessions included), exactly as `TENANT_HEADER_SECRET` does on the real API.
    pub tenant_header_secret: Option<String>,
    /// Largest accepted absolute difference between `X-TB-Timestamp` and the emulator's clock.
    pub max_skew: Duration,
    /// Lifetime of a sync session from its creation.
    pub session_ttl: Duration,
    /// Per-user token bucket on entity routes; `None` disables it (benchmarks).
    pub rate_limit: Option<RateLimit>,
    /// Like `ENV=dev` on the API: a request without any `Authorization` header may name its
    /// user in `X-Debug-Sub`.
    pub dev_mode: bool,
    /// Keep a bounded log of every request for [`Emulator::requests`](super::Emulator::requests).
    pub record_requests: bool,
}

impl Default for EmulatorConfig {
    /// The dev values of the contract: secrets a developer can type, limits as in production.
    fn default() -> Self {
        Self {
            jwt_hs256_secret: "dev-jwt-secret".to_owned(),
            tenant_id: "dev-tenant".to_owned(),
            tenant_header_secret: Some("dev-tenant-secret".to_owned()),
            max_skew: Duration::from_secs(300),
            session_ttl: Duration::from_secs(30 * 60),
            rate_limit: Some(RateLimit::default()),
            dev_mode: false,
            record_requests: true,
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

impl Default for RateLimit {
    /// The contract's production limit: 600 requests per 60 s, burst 120.
    fn default() -> Self {
        Self {
            per_minute: 600,
            burst: 120,
        }
    }
}
