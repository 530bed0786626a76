//! What readiness knows: the last report (kept a few seconds) and the tenant refusals real
//! calls met. A leaf: the probe that fills it lives in [`super::probe`].

use std::time::{Duration, Instant};

use serde_json::json;

use super::UpstreamError;
use crate::{
    config::{Config, Generation},
    secret::Secret,
};

/// How long a report counts before the next request checks again.
pub(crate) const FRESH: Duration = Duration::from_secs(5);
/// The user the probe token names.
const PROBE_SUB: &str = "toolbridge-mcp-readiness";

/// Whether the API accepts the gateway's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// The probe passed the token and tenant checks.
    Accepted,
    /// Refused, and why (no secret in it).
    Refused(String),
    /// Not checked, and why.
    Unchecked(String),
}

/// The API as the gateway sees it.
#[derive(Clone, Debug)]
pub(crate) struct HealthReport {
    /// `None` when `/healthz` answered 200, else what went wrong.
    pub(crate) api_problem: Option<UpstreamError>,
    /// The generation in use, when known.
    pub(crate) generation: Option<Generation>,
    /// The credential probe.
    pub(crate) credentials: Credentials,
}

impl HealthReport {
    /// Ready: the API answers and does not refuse the gateway's credentials.
    pub(crate) fn ready(&self) -> bool {
        self.api_problem.is_none() && !matches!(self.credentials, Credentials::Refused(_))
    }

    /// Why it is not ready, for `/readyz`, `health_check` and the log.
    pub(crate) fn reason(&self) -> Option<String> {
        match (&self.api_problem, &self.credentials) {
            (Some(e), _) => Some(e.to_string()),
            (None, Credentials::Refused(why)) => Some(why.clone()),
            _ => None,
        }
    }

    /// The report as `health_check` gives it to a model: no URL, no secret.
    pub(crate) fn to_json(&self, tenant_mode: &str, backend_auth: &str) -> serde_json::Value {
        let (credentials, detail) = match &self.credentials {
            Credentials::Accepted => ("accepted", None),
            Credentials::Refused(w) => ("refused", Some(w.clone())),
            Credentials::Unchecked(w) => ("unchecked", Some(w.clone())),
        };
        let api = match &self.api_problem {
            None => "reachable",
            Some(UpstreamError::Status { .. } | UpstreamError::NotJson { .. }) => "unhealthy",
            Some(_) => "unreachable",
        };
        let detail = self
            .reason()
            .or(detail)
            .unwrap_or_else(|| "the API answered and accepts this gateway's credentials".into());
        json!({
            "status": if self.ready() { "ok" } else { "degraded" },
            "gateway": "up",
            "api": api,
            "api_generation": self.generation.map(Generation::as_str).unwrap_or("unknown"),
            "tenant_mode": tenant_mode,
            "backend_auth": backend_auth,
            "credentials": credentials,
            "detail": detail,
            "version": env!("CARGO_PKG_VERSION"),
        })
    }
}

enum ProbeToken {
    Mint {
        secret: Secret,
        issuer: Option<String>,
        audience: Option<String>,
    },
    Fixed(Secret),
    None,
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// Readiness state, one per upstream client.
pub(crate) struct HealthCache {
    token: ProbeToken,
    /// The last report; the lock also makes a re-check single-flight.
    pub(crate) last: tokio::sync::Mutex<Option<(Instant, HealthReport)>>,
    /// A tenant refusal seen on a real call (cleared by a success).
    observed: parking_lot::Mutex<Option<String>>,
}

impl HealthCache {
    pub(crate) fn new(cfg: &Config) -> Self {
        let token = if !cfg.jwt_hs256_secret.is_empty() {
            ProbeToken::Mint {
                secret: cfg.jwt_hs256_secret.clone(),
                issuer: cfg.oidc_issuer.as_ref().map(|i| i.as_str().to_owned()),
                audience: cfg.jwt_audience.clone(),
            }
        } else if !cfg.token.is_empty() {
            ProbeToken::Fixed(cfg.token.clone())
        } else {
            ProbeToken::None
        };
        Self {
            token,
            last: tokio::sync::Mutex::new(None),
            observed: parking_lot::Mutex::new(None),
        }
    }

    /// A token to probe with: minted (five minutes, `sub` = the readiness user) from the HS256
    /// secret the gateway shares with the API, else `TOOLBRIDGE_TOKEN`.
    pub(crate) fn probe_token(&self) -> Option<Secret> {
        match &self.token {
            ProbeToken::Fixed(t) => Some(Secret::new(format!("Bearer {}", t.expose()))),
            ProbeToken::Mint {
                secret,
                issuer,
                audience,
            } => {
                let now = chrono::Utc::now().timestamp().max(0) as u64;
                let claims = Claims {
                    sub: PROBE_SUB,
                    iat: now,
                    exp: now + 300,
                    iss: issuer.as_deref(),
                    aud: audience.as_deref(),
                };
                let key = jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes());
                let jwt =
                    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).ok()?;
                Some(Secret::new(format!("Bearer {jwt}")))
            }
            ProbeToken::None => None,
        }
    }

    /// Notes what a real call met: a tenant refusal, or a success that clears it.
    pub(crate) fn observe<T>(&self, answer: &Result<T, UpstreamError>) {
        match answer {
            Ok(_) => {
                let mut observed = self.observed.lock();
                if observed.is_some() {
                    *observed = None;
                }
            }
            Err(e) if e.is_tenant_refusal() => *self.observed.lock() = Some(e.to_string()),
            Err(_) => {}
        }
    }

    /// The refusal real calls met, if the last one was refused.
    pub(crate) fn observed(&self) -> Option<String> {
        self.observed.lock().clone()
    }
}
