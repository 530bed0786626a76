//! The top layer: a `429` is waited out per its `Retry-After`, with full jitter, within one
//! budget per request; then the request is sent again from the top, session and all.
//!
//! The API answers `429` before its handler runs (contract §3: the limiter comes before
//! any effect), so sending again cannot apply a change twice. Concurrent callers that were
//! refused together come back spread over the next window instead of all at once.

use std::time::{Duration, Instant};

use http::{Extensions, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};

use super::{UpstreamError, sessions::record_retry};

pub(crate) struct Retry {
    budget: Duration,
}

impl Retry {
    pub(crate) fn new(budget: Duration) -> Self {
        Self { budget }
    }
}

/// How long the API asks us to wait, when the outcome is a `429`.
fn rate_limited(outcome: &Result<Response>) -> Option<u64> {
    match outcome {
        Ok(resp) if resp.status() == StatusCode::TOO_MANY_REQUESTS => Some(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .max(1),
        ),
        Err(Error::Middleware(e)) => e.downcast_ref::<UpstreamError>()?.retry_after(),
        _ => None,
    }
}

/// `Retry-After` plus a uniformly random share of one more such window ("full jitter" over
/// the second window): never earlier than the API asked, and callers refused together come
/// back apart.
fn jittered(retry_after: u64) -> Duration {
    let base = Duration::from_secs(retry_after);
    base + base.mul_f64(fastrand::f64())
}

#[async_trait::async_trait]
impl Middleware for Retry {
    async fn handle(&self, req: Request, ext: &mut Extensions, next: Next<'_>) -> Result<Response> {
        let deadline = Instant::now() + self.budget;
        loop {
            let Some(attempt) = req.try_clone() else {
                // A streamed body cannot be sent twice; ours never are, but be safe.
                return next.run(req, ext).await;
            };
            let outcome = next.clone().run(attempt, ext).await;
            let Some(retry_after) = rate_limited(&outcome) else {
                return outcome;
            };
            let now = Instant::now();
            let earliest = now + Duration::from_secs(retry_after);
            if earliest > deadline {
                return Err(Error::Middleware(anyhow::Error::new(
                    UpstreamError::RetryBudget {
                        retry_after,
                        budget: self.budget.as_secs_f64(),
                    },
                )));
            }
            drop(outcome);
            record_retry("rate_limited");
            let wait = jittered(retry_after).min(deadline - now);
            tracing::debug!(
                retry_after,
                wait_ms = wait.as_millis() as u64,
                "rate limited by the API; waiting"
            );
            crate::telemetry::otel::event(
                "rate_limited_wait",
                vec![
                    opentelemetry::KeyValue::new("retry_after_s", retry_after as i64),
                    opentelemetry::KeyValue::new("wait_ms", wait.as_millis() as i64),
                ],
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_never_comes_early_and_spreads_over_one_window() {
        let waits: Vec<Duration> = (0..200).map(|_| jittered(2)).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= Duration::from_secs(2) && *w <= Duration::from_secs(4))
        );
        let distinct: std::collections::BTreeSet<_> = waits.iter().map(|w| w.as_millis()).collect();
        assert!(distinct.len() > 100, "{} distinct waits", distinct.len());
    }
}
