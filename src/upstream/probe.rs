//! Readiness that tells the truth: is the API up, which generation is it, and does it
//! accept this gateway's credentials (tenant header, and in `exchange` mode the exchange)?
//!
//! The credential probe is one cheap authenticated request that changes nothing:
//! `GET /v1/notes` without a sync session. Both generations check the token and the tenant
//! header before the session (contract §2, §3, §7.1), so a good deployment gets `428`
//! (no session) and a bad one the tenant refusal; no session is opened and no rate-limit
//! token spent. Without a probe token (see [`HealthCache::probe_token`]) the credentials
//! are reported unchecked, and tenant refusals seen on real calls stand in for the probe.

use std::time::Instant;

use http::{Method, StatusCode};

use super::{
    Call, Upstream, UpstreamError,
    answer::error_from,
    readiness::{Credentials, FRESH, HealthCache, HealthReport},
};
use crate::secret::Secret;

impl Upstream {
    /// The readiness report (cached a few seconds): API health, generation, credentials.
    pub(crate) async fn health(&self) -> HealthReport {
        let cache = self.health_cache();
        let mut last = cache.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < FRESH
        {
            return report.clone();
        }
        let report = self.check(cache).await;
        match &report.reason() {
            Some(why) => tracing::warn!(reason = %why, "not ready"),
            None => tracing::debug!("ready"),
        }
        *last = Some((Instant::now(), report.clone()));
        report
    }

    async fn check(&self, cache: &HealthCache) -> HealthReport {
        if let Err(e) = self.healthz().await {
            return HealthReport {
                api_problem: Some(e),
                generation: self.generation(),
                credentials: Credentials::Unchecked("the API is not answering".into()),
            };
        }
        let generation = match self.detect_generation().await {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!(error = %e, "could not tell the API generation");
                self.generation()
            }
        };
        let credentials = match cache.probe_token() {
            Some(token) => judge(self.probe(token).await),
            None => match cache.observed() {
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

    /// The credential probe with `token`: `Ok` when the API let it past the token, the
    /// backend credential and the tenant checks (a `428` for the missing session).
    pub(crate) async fn probe(&self, token: Secret) -> Result<(), UpstreamError> {
        let caller = super::configured_caller(&token)?;
        let correlation_id = super::correlation::new_id();
        let call = Call {
            caller: &caller,
            correlation_id: &correlation_id,
        };
        let resp = self.send_raw(call, Method::GET, "/v1/notes").await?;
        let status = resp.status();
        if status == StatusCode::PRECONDITION_REQUIRED || status.is_success() {
            return Ok(());
        }
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        Err(error_from(status, &headers, &body))
    }
}

/// What the probe's outcome means for readiness.
fn judge(outcome: Result<(), UpstreamError>) -> Credentials {
    match outcome {
        Ok(()) => Credentials::Accepted,
        Err(e) if e.is_tenant_refusal() => {
            Credentials::Refused(format!("the API refuses this deployment's tenant: {e}"))
        }
        Err(
            e @ UpstreamError::Status {
                status: StatusCode::UNAUTHORIZED,
                ..
            },
        ) => Credentials::Refused(format!(
            "the API refuses the gateway's probe token (JWT secret, issuer or audience differ): {e}"
        )),
        Err(e @ (UpstreamError::Exchange { .. } | UpstreamError::NoTenant(_))) => {
            Credentials::Refused(e.to_string())
        }
        Err(e) => Credentials::Unchecked(format!("the probe failed: {e}")),
    }
}
