//! The small middlewares of the chain: tenant signing and one polite 429 retry.
//! (The sync-session middleware has a file of its own: [`super::sessions`].)

use std::{sync::Arc, time::Duration};

use http::{Extensions, HeaderValue, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};

use super::{
    sessions::SessionStats,
    signing::{self, SIGNATURE, TENANT_ID, TIMESTAMP},
};
use crate::secret::Secret;

/// Marks a request to an entity route: it needs a sync session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntityRequest;

/// Adds fresh `X-TB-*` headers to every request, replacing any already there.
pub(crate) struct TenantSigner {
    tenant_header: HeaderValue,
    signer: signing::Signer,
}

impl TenantSigner {
    pub(crate) fn new(tenant: &str, secret: Secret) -> Self {
        Self {
            // from_bytes accepts UTF-8 tenant ids (obs-text); config validation refuses
            // control characters, so this cannot fail for a validated config.
            tenant_header: HeaderValue::from_bytes(tenant.as_bytes()).expect("validated tenant id"),
            signer: signing::Signer::new(secret.expose().as_bytes(), tenant),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for TenantSigner {
    async fn handle(
        &self,
        mut req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        // Signed afresh for every request (retries included): a signature expires with
        // its timestamp, so none is ever cached.
        let ts = HeaderValue::from(signing::now_millis());
        let sig = self.signer.sign(ts.to_str().expect("digits"));
        let h = req.headers_mut();
        h.insert(TENANT_ID, self.tenant_header.clone());
        h.insert(TIMESTAMP, ts);
        h.insert(SIGNATURE, HeaderValue::from_bytes(&sig).expect("hex"));
        next.run(req, ext).await
    }
}

/// Honours a 429's `Retry-After` once, when it is short enough to wait for.
pub(crate) struct RetryAfter {
    max_wait: Duration,
    stats: Arc<SessionStats>,
}

impl RetryAfter {
    pub(crate) fn new(max_wait: Duration, stats: Arc<SessionStats>) -> Self {
        Self { max_wait, stats }
    }
}

#[async_trait::async_trait]
impl Middleware for RetryAfter {
    async fn handle(&self, req: Request, ext: &mut Extensions, next: Next<'_>) -> Result<Response> {
        // A 429 is answered before the handler runs, so a retry cannot apply a change twice.
        let Some(retry) = req.try_clone() else {
            return next.run(req, ext).await;
        };
        // The middlewares below leave the extensions as they found them, so the retry can
        // reuse them without a copy.
        let resp = next.clone().run(req, ext).await?;
        if resp.status() != StatusCode::TOO_MANY_REQUESTS {
            return Ok(resp);
        }
        let wait = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        match wait {
            Some(wait) if wait <= self.max_wait => {
                drop(resp);
                self.stats.record_retry("rate_limited");
                tokio::time::sleep(wait).await;
                next.run(retry, ext).await
            }
            _ => Ok(resp),
        }
    }
}
