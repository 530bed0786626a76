//! The outermost layer, on every route: the correlation id, who the caller is (judged once,
//! for the gates and the request log), in-flight accounting, and the log record.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::error::{CORRELATION, Cid};
use super::formats::now_ms;
use super::log::RecordedRequest;
use super::session_store::SessionCheck;
use super::shared::Shared;
use crate::upstream::signing::TENANT_ID;

/// The request header naming the sync session.
pub(crate) const SESSION: &str = "x-sync-session";

/// A gate's session verdict (response extension, read back for the log).
#[derive(Clone, Copy)]
pub(crate) struct SessionOutcome(pub(crate) SessionCheck);

/// Counts a request in flight; dropped without [`Flight::finish`] means the client went
/// away before the answer was ready (the handler future was dropped), which is counted
/// and logged with status 499.
struct Flight {
    st: Arc<Shared>,
    record: Option<RecordedRequest>,
    done: bool,
}

impl Flight {
    fn finish(mut self, status: u16, session_valid: bool) {
        self.done = true;
        if let Some(mut r) = self.record.take() {
            r.status = status;
            r.session_valid = session_valid;
            self.st.log.push(r);
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.st.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.done {
            self.st.counters.aborted.fetch_add(1, Ordering::Relaxed);
            if let Some(mut r) = self.record.take() {
                r.status = 499;
                self.st.log.push(r);
            }
        }
    }
}

/// A header's value as text (lossy), for the log.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Outermost layer, on every route.
pub(crate) async fn front(State(st): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let now = now_ms();
    // The body is not `Sync`: judge the headers apart from it across the JWKS await.
    let (parts, body) = req.into_parts();
    let identity = st.auth.identify(&parts.headers).await;
    let mut req = Request::from_parts(parts, body);
    let cid = Cid::from_request(req.headers().get(CORRELATION));
    let counters = &st.counters;
    let now_in_flight = counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    counters
        .peak_in_flight
        .fetch_max(now_in_flight, Ordering::Relaxed);
    let record = st.cfg.record_requests.then(|| RecordedRequest {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        headers: RecordedRequest::copy_headers(req.headers()),
        user: identity.user.as_deref().map(str::to_owned),
        token_kind: identity.kind.map(|k| k.as_str().to_owned()),
        tenant: header_text(req.headers(), TENANT_ID),
        tenant_valid: st.tenant_valid(req.headers(), identity.user.as_deref()),
        session_id: header_text(req.headers(), SESSION),
        session_valid: false,
        status: 0,
        correlation_id: cid.as_str().to_owned(),
        at_ms: now,
    });
    let flight = Flight {
        st: st.clone(),
        record,
        done: false,
    };
    let sub = identity.user.clone();
    req.extensions_mut().insert(identity);
    req.extensions_mut().insert(cid.clone());

    let mut response = next.run(req).await;

    // The `409 epoch_mismatch` sets its own (the id as sent, possibly blank).
    if !response.headers().contains_key(CORRELATION) {
        response.headers_mut().insert(CORRELATION, cid.value);
    }
    // Gated routes report the verdict they acted on; elsewhere the header is judged now.
    let session_valid = match response.extensions().get::<SessionOutcome>() {
        Some(outcome) => outcome.0 == SessionCheck::Valid,
        None => match (
            flight.record.as_ref().and_then(|r| r.session_id.as_deref()),
            &sub,
        ) {
            (Some(id), Some(sub)) => {
                st.sessions.check(Some(id), sub, now_ms()) == SessionCheck::Valid
            }
            _ => false,
        },
    };
    flight.finish(response.status().as_u16(), session_valid);
    response
}
