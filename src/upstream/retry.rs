//! The top layer, and the one home of the retry rules of the whole chain (written out as a
//! table in `docs/retries.md`). A request is sent again only when doing so cannot change
//! what the API holds beyond what sending it once would have:
//!
//! | failure | what is known | retried |
//! |---|---|---|
//! | `429` | refused before the handler (contract §3: the limiter comes before any effect) | every request, after `Retry-After` plus jitter, within the budget |
//! | `428`, `409 epoch_mismatch` | refused before the handler | every entity request, once (`sync_sessions.rs`) |
//! | connection refused, connect timeout | nothing was sent | every request, after a short jittered back-off (at most [`MAX_UNREACHABLE`] times) |
//! | pooled connection closed before the request was written | nothing was sent | every request, at once, on a fresh connection (hyper's pool does it) |
//! | `502`/`503`/`504` | the API may or may not have seen it | requests marked [`Repeatable`] (and every request when the answer came from a session, tenant or exchange request below, so the request itself was never sent), after `Retry-After` (within the budget) or a short jittered back-off (at most [`MAX_UNAVAILABLE`] times) |
//! | reset or close after the request was sent, a broken body | the answer is lost | reads (`GET`) once, at once; never a write |
//! | timeout | the answer is lost and the time spent | never |
//! | non-JSON or oversized answer | the API answered | never |
//!
//! A request is [`Repeatable`] when the handler that made it says so: reads, `PUT`, `PATCH`
//! and `DELETE` (the same request twice leaves the same state), creates (they carry their
//! uid, so a second `POST` upserts the same item: contract §4), archive and every process
//! action of the contract (each sets fixed values). A write repeated after a `5xx` whose
//! repeat is refused as if the first had applied (`410` already deleted, `412` version moved
//! on) is reported as [`UpstreamError::Repeated`]: its outcome is unknown.
//!
//! Every wait goes through [`wait`], and every retry is counted by [`record_retry`].

use std::time::{Duration, Instant};

use http::{Extensions, Method, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};

use super::{UpstreamError, answer::read_capped, marks::Repeatable};

/// Most retries of a request the API could not be connected for (about 3 s of waits).
pub(crate) const MAX_UNREACHABLE: u32 = 5;
/// Most retries after `502`/`503`/`504` without `Retry-After` (about 2 s of waits).
pub(crate) const MAX_UNAVAILABLE: u32 = 3;
/// Most retries of a read whose answer was lost.
const MAX_LOST_READ: u32 = 1;

pub(crate) struct Retry {
    budget: Duration,
    max_body: usize,
}

impl Retry {
    pub(crate) fn new(budget: Duration, max_body: usize) -> Self {
        Self { budget, max_body }
    }
}

/// Counts one retry of an API request, by reason, in the retries metric.
pub(crate) fn record_retry(reason: &'static str) {
    metrics::counter!(crate::telemetry::names::UPSTREAM_RETRIES, "reason" => reason).increment(1);
}

/// Waits `wait` before retrying for `reason`: the one place a retry waits.
pub(crate) async fn wait(reason: &'static str, wait: Duration) {
    tracing::debug!(
        reason,
        wait_ms = wait.as_millis() as u64,
        "retrying the API request after a wait"
    );
    // On the tool call's span (traces on): where the time of a slow call went.
    crate::telemetry::otel::event(
        "retry_wait",
        vec![
            opentelemetry::KeyValue::new("toolbridge.retry.reason", reason),
            opentelemetry::KeyValue::new("toolbridge.retry.wait_ms", wait.as_millis() as i64),
        ],
    );
    tokio::time::sleep(wait).await;
}

/// Why an outcome may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// `429`, with its `Retry-After` (seconds).
    RateLimited(u64),
    /// `502`/`503`/`504` of the request itself, with `Retry-After` when given.
    Unavailable(Option<u64>),
    /// `502`/`503`/`504` of a request below (session, tenant, exchange): this one was not sent.
    UnavailableBelow(Option<u64>),
    /// Nothing could be sent: no connection.
    Unreachable,
    /// Sent, and the answer lost (reset, closed, cut short).
    Lost,
}

impl Failure {
    fn reason(self) -> &'static str {
        match self {
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable(_) | Self::UnavailableBelow(_) => "unavailable",
            Self::Unreachable => "unreachable",
            Self::Lost => "answer_lost",
        }
    }
}

fn is_unavailable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

fn retry_after(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// What went wrong, when it is one of the failures above.
fn classify(outcome: &Result<Response>) -> Option<Failure> {
    match outcome {
        Ok(resp) if resp.status() == StatusCode::TOO_MANY_REQUESTS => Some(Failure::RateLimited(
            retry_after(resp.headers()).unwrap_or(1).max(1),
        )),
        Ok(resp) if is_unavailable(resp.status()) => {
            Some(Failure::Unavailable(retry_after(resp.headers())))
        }
        Ok(_) => None,
        Err(Error::Reqwest(e)) if e.is_connect() => Some(Failure::Unreachable),
        Err(Error::Reqwest(e)) if e.is_timeout() => None,
        Err(Error::Reqwest(e)) if e.is_request() || e.is_body() => Some(Failure::Lost),
        Err(Error::Reqwest(_)) => None,
        Err(Error::Middleware(e)) => match e.downcast_ref::<UpstreamError>()? {
            UpstreamError::Unreachable => Some(Failure::Unreachable),
            UpstreamError::Broken => Some(Failure::Lost),
            UpstreamError::Status {
                status,
                retry_after,
                ..
            } if is_unavailable(*status) => Some(Failure::UnavailableBelow(*retry_after)),
            other => other.retry_after().map(Failure::RateLimited),
        },
    }
}

/// `Retry-After` plus a uniformly random share of one more such window ("full jitter" over
/// the second window): never earlier than the API asked, and callers refused together come
/// back apart.
fn jittered(retry_after: u64) -> Duration {
    let base = Duration::from_secs(retry_after);
    base + base.mul_f64(fastrand::f64())
}

/// The `n`-th back-off (from 0) without a `Retry-After`: `step · 2ⁿ`, of which a random
/// half ("equal jitter"), so it grows but callers do not come back in step.
fn backoff(step: Duration, n: u32) -> Duration {
    let full = step * 2u32.pow(n.min(8));
    full / 2 + (full / 2).mul_f64(fastrand::f64())
}

/// The answer with its body read whole, so that an answer cut short is seen here, where it
/// can still be retried, and not by the caller.
async fn read_whole(mut resp: Response, max_body: usize) -> Result<Response> {
    let status = resp.status();
    let version = resp.version();
    // Moved out, not cloned: reading the body needs no headers.
    let headers = std::mem::take(resp.headers_mut());
    let body = read_capped(resp, max_body)
        .await
        .map_err(|e| Error::Middleware(anyhow::Error::new(e)))?;
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(Response::from(rebuilt))
}

#[async_trait::async_trait]
impl Middleware for Retry {
    async fn handle(&self, req: Request, ext: &mut Extensions, next: Next<'_>) -> Result<Response> {
        let deadline = Instant::now() + self.budget;
        let read = req.method() == Method::GET;
        let repeatable = read || ext.get::<Repeatable>().is_some();
        let (mut unreachable, mut unavailable, mut lost) = (0u32, 0u32, 0u32);
        let mut repeated_after_unavailable = false;
        loop {
            let Some(attempt) = req.try_clone() else {
                // A streamed body cannot be sent twice; ours never are, but be safe.
                return next.run(req, ext).await;
            };
            let outcome = match next.clone().run(attempt, ext).await {
                Ok(resp) => read_whole(resp, self.max_body).await,
                Err(e) => Err(e),
            };
            // A write sent again after a 5xx, refused as if the first had applied.
            if repeated_after_unavailable
                && !read
                && let Ok(resp) = &outcome
                && matches!(
                    resp.status(),
                    StatusCode::GONE | StatusCode::PRECONDITION_FAILED
                )
            {
                return Err(Error::Middleware(anyhow::Error::new(
                    UpstreamError::Repeated {
                        then: resp.status(),
                    },
                )));
            }
            let Some(failure) = classify(&outcome) else {
                return outcome;
            };
            let now = Instant::now();
            let pause = match failure {
                Failure::RateLimited(secs) => {
                    if now + Duration::from_secs(secs) > deadline {
                        return Err(Error::Middleware(anyhow::Error::new(
                            UpstreamError::RetryBudget {
                                retry_after: secs,
                                budget: self.budget.as_secs_f64(),
                            },
                        )));
                    }
                    jittered(secs)
                }
                Failure::Unavailable(_) if !repeatable => return outcome,
                Failure::Unavailable(Some(secs)) | Failure::UnavailableBelow(Some(secs)) => {
                    if now + Duration::from_secs(secs) > deadline {
                        return outcome;
                    }
                    unavailable += 1;
                    jittered(secs)
                }
                Failure::Unavailable(None) | Failure::UnavailableBelow(None) => {
                    if unavailable >= MAX_UNAVAILABLE {
                        return outcome;
                    }
                    unavailable += 1;
                    backoff(Duration::from_millis(250), unavailable - 1)
                }
                Failure::Unreachable => {
                    if unreachable >= MAX_UNREACHABLE {
                        return outcome;
                    }
                    unreachable += 1;
                    backoff(Duration::from_millis(100), unreachable - 1)
                }
                Failure::Lost => {
                    if !read || lost >= MAX_LOST_READ {
                        return outcome;
                    }
                    lost += 1;
                    Duration::ZERO
                }
            };
            if now + pause > deadline {
                return outcome;
            }
            if matches!(failure, Failure::Unavailable(_)) {
                repeated_after_unavailable = true;
            }
            drop(outcome);
            record_retry(failure.reason());
            wait(failure.reason(), pause).await;
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

    #[test]
    fn back_off_doubles_and_is_jittered_within_its_upper_half() {
        let step = Duration::from_millis(100);
        for n in 0..5 {
            let full = step * 2u32.pow(n);
            let waits: Vec<Duration> = (0..100).map(|_| backoff(step, n)).collect();
            assert!(waits.iter().all(|w| *w >= full / 2 && *w <= full), "{n}");
            let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
            assert!(distinct.len() > 10, "{n}: {}", distinct.len());
        }
    }
}
