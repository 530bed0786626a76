//! Fault injection: the misbehaviour a real API (or the proxy in front of it) shows, on demand.
//!
//! Faults hit entity requests only (never `/healthz`, `/v1/sync/info`, session, wipe, state
//! or auth routes, so a gateway can always open a session), and they are applied **first**,
//! before the token, tenant, session, rate-limit and epoch checks: an injected fault answers
//! even a request that would have failed those checks. One-shot faults are consumed in FIFO
//! order, one per entity request; when none is queued, the persistent fault (if any) applies.
//!
//! Apart from those, [`Faults::set_membership_outage`] makes the membership service (WorkOS)
//! fail, which the current generation answers as the contract says (§7.1, §7.2).

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;

use super::config::RateLimit;
use super::error::{ApiError, Cid, epoch_mismatch, rate_limited, session_unknown};
use super::formats::now_ms;
use super::ratelimit::Verdict;

/// One injected misbehaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answers `status` with the JSON body `{"error": json_error, "correlation_id": ...}`.
    Status {
        /// The HTTP status, e.g. 503.
        status: u16,
        /// The `error` text.
        json_error: String,
    },
    /// `502` `text/html` `<html>Bad Gateway</html>`, as a proxy in front of the API sends.
    Html502,
    /// `200` `text/plain` `hello`: a success that is not JSON.
    NonJson200,
    /// `200` `application/json` whose `Content-Length` promises more bytes than are sent
    /// before the connection is cut: the client sees a body error mid-read.
    TruncatedJson,
    /// `409 epoch_mismatch` carrying the user's *current* epoch, so retrying with that
    /// epoch does not help as long as the fault persists.
    EpochMismatch,
    /// `428` as if the session were unknown (an API restart).
    SessionExpired,
    /// `429` with `Retry-After: retry_after_secs` and the `X-RateLimit-*` headers.
    RateLimited {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// This request waits this long, then is processed normally.
    Delay(Duration),
    /// The request is read whole, processed or not (`processed`: stored as if answered,
    /// the answer thrown away), then its connection is reset (TCP RST) without an answer:
    /// a crash, or a proxy giving up, after the request was sent.
    ResetAfterRead {
        /// Whether the change was applied before the reset.
        processed: bool,
    },
    /// Like [`Fault::ResetAfterRead`], but the connection is closed in order (FIN): the
    /// client sees the connection end before any answer.
    CloseBeforeAnswer {
        /// Whether the change was applied before the close.
        processed: bool,
    },
    /// The request is processed or not, then no answer comes for 10 minutes (longer than
    /// any request timeout): the client gives up first.
    Stall {
        /// Whether the change was applied before the stall.
        processed: bool,
    },
    /// A `status` (502, 503 or 504) from the proxy in front of the API, before the API saw
    /// the request: a short `text/html` page, with `Retry-After` when given.
    ProxyError {
        /// The status.
        status: u16,
        /// `Retry-After`, in seconds.
        retry_after_secs: Option<u64>,
    },
}

/// What an injected fault does to its request.
pub(crate) enum Injected {
    /// This answer instead of the API's.
    Answer(Response),
    /// Wait this long, then the request is processed normally.
    Delay(Duration),
    /// Process the request or not, then end the connection without an answer (`reset`:
    /// with a TCP reset).
    Hangup {
        /// Whether to process it first.
        processed: bool,
        /// RST rather than FIN.
        reset: bool,
    },
    /// Process the request or not, then never answer.
    Stall {
        /// Whether to process it first.
        processed: bool,
    },
}

/// How long a [`Fault::Stall`] holds its request: longer than any client waits.
pub(crate) const STALL: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
struct Pending {
    queue: VecDeque<Fault>,
    persistent: Option<Fault>,
}

/// The fault controls of one emulator. Every method takes `&self`; when nothing is
/// injected, the per-request cost is two relaxed atomic loads.
#[derive(Debug, Default)]
pub struct Faults {
    /// True iff a one-shot or persistent fault is set: the lock is never taken otherwise.
    armed: AtomicBool,
    /// Added delay in microseconds (0 = none).
    delay_us: AtomicU64,
    /// The membership service fails every lookup.
    membership_outage: AtomicBool,
    pending: Mutex<Pending>,
}

impl Faults {
    /// Delays every session and entity request by `d` before it is answered (not
    /// `/healthz` nor `/v1/sync/info`). `Duration::ZERO` removes the delay.
    pub fn set_delay(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.delay_us.store(us, Ordering::Relaxed);
    }

    /// Queues a one-shot fault for a coming entity request.
    pub fn push(&self, f: Fault) {
        let mut p = self.pending.lock();
        p.queue.push_back(f);
        self.armed.store(true, Ordering::Release);
    }

    /// Sets (or with `None` clears) the fault applied to every entity request while no
    /// one-shot fault is queued.
    pub fn set_persistent(&self, f: Option<Fault>) {
        let mut p = self.pending.lock();
        p.persistent = f;
        self.armed.store(
            !p.queue.is_empty() || p.persistent.is_some(),
            Ordering::Release,
        );
    }

    /// current: makes every membership lookup fail (or, with `false`, work again): the
    /// tenant header is then refused with `403` (and the refusal not cached), and
    /// `GET /v1/auth/tenant` answers `500 Failed to resolve tenant`. Without a membership
    /// service configured nothing is looked up, so nothing changes.
    pub fn set_membership_outage(&self, failing: bool) {
        self.membership_outage.store(failing, Ordering::Relaxed);
    }

    /// Whether membership lookups fail.
    pub(crate) fn membership_outage(&self) -> bool {
        self.membership_outage.load(Ordering::Relaxed)
    }

    /// Removes every fault, the delay and the membership outage.
    pub fn clear(&self) {
        let mut p = self.pending.lock();
        p.queue.clear();
        p.persistent = None;
        self.armed.store(false, Ordering::Release);
        self.delay_us.store(0, Ordering::Relaxed);
        self.membership_outage.store(false, Ordering::Relaxed);
    }

    /// How many one-shot faults are still queued.
    pub fn queued(&self) -> usize {
        self.pending.lock().queue.len()
    }

    /// The added delay, if any.
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self.delay_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// The fault for this entity request: the oldest one-shot, else the persistent one.
    pub(crate) fn next(&self) -> Option<Fault> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut p = self.pending.lock();
        let fault = p.queue.pop_front().or_else(|| p.persistent.clone());
        self.armed.store(
            !p.queue.is_empty() || p.persistent.is_some(),
            Ordering::Release,
        );
        fault
    }
}

impl Fault {
    /// What this fault does to its request. `epoch` is the caller's current epoch, `limit`
    /// the configured rate limit (the contract's default when the emulator has none).
    pub(crate) fn apply(&self, cid: &Cid, epoch: i64, limit: RateLimit) -> Injected {
        let response = match self {
            Fault::Delay(d) => return Injected::Delay(*d),
            Fault::ResetAfterRead { processed } => {
                return Injected::Hangup {
                    processed: *processed,
                    reset: true,
                };
            }
            Fault::CloseBeforeAnswer { processed } => {
                return Injected::Hangup {
                    processed: *processed,
                    reset: false,
                };
            }
            Fault::Stall { processed } => {
                return Injected::Stall {
                    processed: *processed,
                };
            }
            Fault::ProxyError {
                status,
                retry_after_secs,
            } => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
                let mut response = (
                    status,
                    [(header::CONTENT_TYPE, "text/html")],
                    format!("<html><body><h1>{status}</h1></body></html>"),
                )
                    .into_response();
                if let Some(s) = retry_after_secs {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(*s));
                }
                response
            }
            Fault::Status { status, json_error } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                ApiError::new(status, json_error.clone()).respond(cid)
            }
            Fault::Html502 => (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                "<html>Bad Gateway</html>",
            )
                .into_response(),
            Fault::NonJson200 => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                "hello",
            )
                .into_response(),
            Fault::TruncatedJson => truncated_json(),
            Fault::EpochMismatch => epoch_mismatch(cid, epoch),
            Fault::SessionExpired => session_unknown(cid),
            Fault::RateLimited { retry_after_secs } => {
                let verdict = Verdict::refused(limit, *retry_after_secs, now_ms());
                rate_limited(cid, &verdict)
            }
        };
        Injected::Answer(response)
    }
}

/// A JSON body cut short: the first bytes, a pause, then a stream error, which makes hyper
/// drop the connection while the declared `Content-Length` is still unmet. The pause
/// matters: it makes hyper flush the status line, headers and first bytes before the error,
/// so the client sees a `200` whose body fails mid-read rather than no answer at all.
fn truncated_json() -> Response {
    let first = futures::stream::iter([Ok(Bytes::from_static(br#"{"uid":"0a1b2c3d-"#))]);
    let cut = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(io::Error::other("truncated by fault injection"))
    });
    let mut response = Response::new(Body::from_stream(first.chain(cut)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shots_before_persistent_then_disarmed() {
        let f = Faults::default();
        assert_eq!(f.next(), None);
        f.set_persistent(Some(Fault::NonJson200));
        f.push(Fault::Html502);
        f.push(Fault::SessionExpired);
        assert_eq!(f.next(), Some(Fault::Html502));
        assert_eq!(f.next(), Some(Fault::SessionExpired));
        assert_eq!(f.next(), Some(Fault::NonJson200));
        assert_eq!(f.next(), Some(Fault::NonJson200));
        f.set_persistent(None);
        assert_eq!(f.next(), None);
        f.set_delay(Duration::from_millis(5));
        assert_eq!(f.delay(), Some(Duration::from_millis(5)));
        f.push(Fault::Html502);
        f.set_membership_outage(true);
        assert!(f.membership_outage());
        f.clear();
        assert_eq!((f.next(), f.delay(), f.queued()), (None, None, 0));
        assert!(!f.membership_outage());
    }
}
