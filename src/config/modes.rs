//! The modes the configuration chooses between: one enum per choice, each variant
//! documented with what it does.

use serde::{Deserialize, Serialize};

/// How the gateway treats sync sessions (contract section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// A fresh sync session for every entity request, closed when it is done (what the
    /// sidecar did, without the close). Costs two rate-limited session requests per call.
    PerCall,
    /// One cached session per caller, opened single-flight and renewed before it expires.
    #[default]
    Reuse,
}

/// How tool results carry the API's items (`TOOLBRIDGE_RESULT_SHAPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResultShape {
    /// The item's own fields plus `uid`, `version`, `updatedAt` (`deletedAt` when deleted),
    /// without the API's sync bookkeeping; long text in `list_*` pages as a preview.
    #[default]
    Compact,
    /// The API's items exactly as it answers them.
    Full,
}

/// A generation of the ToolBridge API (contract sections 1–6 and 7); the emulator plays
/// the same ones.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// The first one: HMAC-signed tenant headers, five entities.
    #[default]
    Seed,
    /// Today's: a plain tenant header checked against organization membership, tenant
    /// lookup, token exchange, rate-limited auth routes, task lists and categories.
    Current,
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is neither `seed` nor `current`.
#[derive(Debug, thiserror::Error)]
#[error("unknown API generation {0:?}: expected `seed` or `current`")]
pub struct UnknownGeneration(pub(crate) String);

impl std::str::FromStr for Generation {
    type Err = UnknownGeneration;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "seed" => Ok(Self::Seed),
            "current" => Ok(Self::Current),
            other => Err(UnknownGeneration(other.to_owned())),
        }
    }
}

impl Generation {
    /// Its name in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Current => "current",
        }
    }
}

/// Which API generation to speak: fixed, or found out from what the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApiGeneration {
    /// Decided from `/v1/sync/info`, at start and whenever readiness is re-checked.
    #[default]
    Auto,
    /// Always the seed generation.
    Seed,
    /// Always the current generation.
    Current,
}

impl ApiGeneration {
    /// The fixed generation, `None` for `auto`.
    pub(crate) fn fixed(self) -> Option<Generation> {
        match self {
            Self::Auto => None,
            Self::Seed => Some(Generation::Seed),
            Self::Current => Some(Generation::Current),
        }
    }
}

/// How the tenant header is made (contract sections 2 and 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantMode {
    /// `X-TB-Tenant-ID` plus the HMAC timestamp and signature (seed; the current API reads
    /// the id and ignores the rest, so this works against both).
    Signed,
    /// `X-TB-Tenant-ID` alone.
    Plain,
    /// Per user, the tenant the API names at `GET /v1/auth/tenant` (cached, single-flight);
    /// `TOOLBRIDGE_TENANT_ID` is the fallback where the API has no lookup. Signed when a
    /// tenant secret is set.
    Resolve,
}

/// Which credential the gateway sends to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendAuth {
    /// The caller's verified token, unchanged.
    #[default]
    Passthrough,
    /// A backend token exchanged for the caller's token (RFC 8693 at
    /// `TOOLBRIDGE_TOKEN_EXCHANGE_URL`, else the API's `POST /auth/token-exchange`),
    /// cached per caller until shortly before it expires.
    Exchange,
}

/// How incoming bearer tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Verify signature, expiry, issuer and audience at the gateway.
    Verify,
    /// Only read `sub`; the API verifies the token.
    Passthrough,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}
