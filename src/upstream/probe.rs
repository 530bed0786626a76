//! Readiness that tells the truth: is the API up, which generation is it, and does it
//! accept this gateway's credentials (tenant header, and in `exchange` mode the exchange)?
//!
//! The credential probe is one cheap authenticated request that changes nothing:
//! `GET /v1/notes` without a sync session. Both generations check the token and the tenant
//! header before the session (contract §2, §3, §7.1), so a good deployment gets `428`
//! (no session) and a bad one the tenant refusal; no session is opened and no rate-limit
//! token spent. The probe's token is minted with the HS256 secret the gateway shares with the
//! API, or is `TOOLBRIDGE_TOKEN`; without either, the credentials are reported unchecked and
//! tenant refusals seen on real calls stand in for the probe.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::json;

use super::{CallContext, Upstream, UpstreamError, answer::error_from};
use crate::{
    config::{Config, Generation},
    secret::Secret,
};

/// How long a report counts before the next request checks again.
const FRESH: Duration = Duration::from_secs(5);
/// The user the probe token names.
const PROBE_SUB: &str = "toolbridge-mcp-readiness";

/// Whether the API accepts the gateway's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// The probe passed the token and tenant checks.
    Accepted,
    /// Refused, and why (no secret in it).
    Refused(String),
    /// Not checked, and why.
    Unchecked(String),
}

/// The API as the gateway sees it.
#[derive(Clone, Debug)]
pub struct HealthReport {
    /// `None` when `/healthz` answered 200, else what went wrong.
    pub api_problem: Option<UpstreamError>,
    /// The generation in use, when known.
    pub generation: Option<Generation>,
    /// The credential probe.
    pub credentials: Credentials,
}

impl HealthReport {
    /// Ready: the API answers and does not refuse the gateway's credentials.
    pub fn ready(&self) -> bool {
        self.api_problem.is_none() && !matches!(self.credentials, Credentials::Refused(_))
    }

    /// Why it is not ready, for `/readyz`, `health_check` and the log.
    pub fn reason(&self) -> Option<String> {
        match (&self.api_problem, &self.credentials) {
            (Some(e), _) => Some(e.to_string()),
            (None, Credentials::Refused(why)) => Some(why.clone()),
            _ => None,
        }
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

pub(crate) struct HealthCache {
    token: ProbeToken,
    last: tokio::sync::Mutex<Option<(Instant, HealthReport)>>,
    /// A tenant refusal seen on a real call (cleared by a success).
    observed: parking_lot::Mutex<Option<String>>,
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

impl HealthCache {
    pub(crate) fn new(cfg: &Config) -> Self {
        let token = if !cfg.jwt_hs256_secret.is_empty() {
            ProbeToken::Mint {
                secret: cfg.jwt_hs256_secret.clone(),
                issuer: cfg.oidc_issuer.clone(),
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

    fn token(&self) -> Option<Secret> {
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
                let jwt = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).ok()?;
                Some(Secret::new(format!("Bearer {jwt}")))
            }
            ProbeToken::None => None,
        }
    }

    /// Notes what a real call met: a tenant refusal, or a success that clears it.
    pub(crate) fn observe<T>(&self, answer: &Result<T, UpstreamError>) {
        match answer {
            Ok(_) => {
                if self.observed.lock().is_some() {
                    *self.observed.lock() = None;
                }
            }
            Err(e) if e.is_tenant_refusal() => *self.observed.lock() = Some(e.to_string()),
            Err(_) => {}
        }
    }

    pub(crate) async fn report(&self, up: &Upstream) -> HealthReport {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < FRESH
        {
            return report.clone();
        }
        let report = self.check(up).await;
        match &report.reason() {
            Some(why) => tracing::warn!(reason = %why, "not ready"),
            None => tracing::debug!("ready"),
        }
        *last = Some((Instant::now(), report.clone()));
        report
    }

    async fn check(&self, up: &Upstream) -> HealthReport {
        if let Err(e) = up.healthz().await {
            return HealthReport {
                api_problem: Some(e),
                generation: up.generation(),
                credentials: Credentials::Unchecked("the API is not answering".into()),
            };
        }
        let generation = match up.detect_generation().await {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!(error = %e, "could not tell the API generation");
                up.generation()
            }
        };
        let credentials = match self.token() {
            Some(token) => probe(up, token).await,
            None => match self.observed.lock().clone() {
                Some(refusal) => Credentials::Refused(refusal),
                None => Credentials::Unchecked(
                    "no token to probe with (set TOOLBRIDGE_JWT_HS256_SECRET or TOOLBRIDGE_TOKEN)"
                        .into(),
                ),
            },
        };
        HealthReport {
            api_problem: None,
            generation,
            credentials,
        }
    }
}

/// What the probe's outcome means for readiness.
fn judge(outcome: Result<(), UpstreamError>) -> Credentials {
    match outcome {
        Ok(()) => Credentials::Accepted,
        Err(e) if e.is_tenant_refusal() => {
            Credentials::Refused(format!("the API refuses this deployment's tenant: {e}"))
        }
        Err(e @ UpstreamError::Status { status: StatusCode::UNAUTHORIZED, .. }) => {
            Credentials::Refused(format!(
                "the API refuses the gateway's probe token (JWT secret, issuer or audience differ): {e}"
            ))
        }
        Err(e @ (UpstreamError::Exchange { .. } | UpstreamError::NoTenant(_))) => {
            Credentials::Refused(e.to_string())
        }
        Err(e) => Credentials::Unchecked(format!("the probe failed: {e}")),
    }
}

async fn probe(up: &Upstream, token: Secret) -> Credentials {
    judge(up.probe(token).await)
}

impl Upstream {
    /// The credential probe with `token`: `Ok` when the API let it past the token, the
    /// backend credential and the tenant checks (a `428` for the missing session).
    pub async fn probe(&self, token: Secret) -> Result<(), UpstreamError> {
        let ctx = CallContext::new(Some(token));
        let resp = self.send_raw(&ctx, Method::GET, "/v1/notes").await?;
        let status = resp.status();
        if status == StatusCode::PRECONDITION_REQUIRED || status.is_success() {
            return Ok(());
        }
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        Err(error_from(status, &headers, &body))
    }
}

impl HealthReport {
    /// The report as `health_check` gives it to a model: no URL, no secret.
    pub fn to_json(&self, tenant_mode: &str, backend_auth: &str) -> serde_json::Value {
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
