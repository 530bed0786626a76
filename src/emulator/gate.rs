//! The middleware every request passes: correlation id, in-flight accounting and the request
//! log (`front`), then the checks of the authenticated routes, in the contract's order:
//! token → tenant headers → (entity routes only) session → epoch → rate limit.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;

use super::auth::{bad_tenant, unauthorized};
use super::error::{ApiError, Cid};
use super::faults::Fault;
use super::log::RecordedRequest;
use super::ratelimit::{Bucket, Verdict};
use super::sessions::SessionCheck;
use super::store::UserData;
use super::{Shared, now_ms};

const SESSION: &str = "x-sync-session";
const EPOCH: &str = "x-sync-epoch";
const CORRELATION: &str = "x-correlation-id";

/// Who sent a request, judged once on arrival from its headers (request extension).
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub user: Option<Arc<str>>,
    pub tenant_valid: bool,
}

/// An authenticated caller, handed to the handlers (request extension).
#[derive(Clone)]
pub(crate) struct Caller {
    pub sub: Arc<str>,
    pub user: Arc<Mutex<UserData>>,
    pub cid: Cid,
}

/// The session verdict of the entity gate (response extension, read back for the log).
#[derive(Clone, Copy)]
struct SessionOutcome(SessionCheck);

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
        self.st.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.done {
            self.st.aborted.fetch_add(1, Ordering::Relaxed);
            if let Some(mut r) = self.record.take() {
                r.status = 499;
                self.st.log.push(r);
            }
        }
    }
}

/// Outermost layer, on every route.
pub(crate) async fn front(State(st): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let now = now_ms();
    let cid = Cid::from_request(req.headers().get(CORRELATION));
    let identity = Identity {
        user: st.auth.user(req.headers()),
        tenant_valid: st.auth.tenant_valid(req.headers(), now),
    };
    let now_in_flight = st.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    st.peak_in_flight
        .fetch_max(now_in_flight, Ordering::Relaxed);
    let record = st.cfg.record_requests.then(|| RecordedRequest {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        headers: RecordedRequest::copy_headers(req.headers()),
        user: identity.user.as_deref().map(str::to_owned),
        tenant_valid: identity.tenant_valid,
        session_id: req
            .headers()
            .get(SESSION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
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

    response.headers_mut().insert(CORRELATION, cid.0);
    // Entity routes report the gate's verdict; elsewhere the header is judged now.
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

/// Sleeps for the injected global delay, if any.
async fn global_delay(st: &Shared) {
    if let Some(d) = st.faults.delay() {
        tokio::time::sleep(d).await;
    }
}

/// Why [`authorize`] refused.
enum Denied {
    Token,
    Tenant,
}

impl Denied {
    fn respond(self) -> Response {
        match self {
            Denied::Token => unauthorized(),
            Denied::Tenant => bad_tenant(),
        }
    }
}

/// Token, then tenant headers: the two checks of every authenticated route.
fn authorize(st: &Shared, req: &Request) -> Result<Caller, Denied> {
    let identity = req.extensions().get::<Identity>();
    let Some(sub) = identity.and_then(|i| i.user.clone()) else {
        return Err(Denied::Token);
    };
    if st.auth.tenant_required() && !identity.is_some_and(|i| i.tenant_valid) {
        return Err(Denied::Tenant);
    }
    let cid = cid_of(req);
    Ok(Caller {
        user: st.users.get_or_create(&sub),
        sub,
        cid,
    })
}

fn cid_of(req: &Request) -> Cid {
    req.extensions()
        .get::<Cid>()
        .cloned()
        .unwrap_or_else(|| Cid::from_request(None))
}

/// Layer of the session routes: delay, token, tenant headers.
pub(crate) async fn session_gate(
    State(st): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    global_delay(&st).await;
    match authorize(&st, &req) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(denied) => denied.respond(),
    }
}

/// Layer of the entity routes: delay, injected fault, token, tenant headers, session,
/// epoch, rate limit. Successful answers carry the rate-limit headers too.
pub(crate) async fn entity_gate(
    State(st): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    global_delay(&st).await;
    let sub = req
        .extensions()
        .get::<Identity>()
        .and_then(|i| i.user.clone());
    // Judged here, after the global delay, so a session forgotten meanwhile is unknown.
    let session_header = req.headers().get(SESSION).and_then(|v| v.to_str().ok());
    let check = match &sub {
        Some(sub) => st.sessions.check(session_header, sub, now_ms()),
        None if session_header.is_some() => SessionCheck::Unknown,
        None => SessionCheck::Absent,
    };
    let mut response = match gated(&st, &mut req, sub, check).await {
        Ok(verdict) => {
            let mut answer = next.run(req).await;
            if let Some(v) = verdict {
                v.write_headers(answer.headers_mut());
            }
            answer
        }
        Err(early) => early,
    };
    response.extensions_mut().insert(SessionOutcome(check));
    response
}

/// Every check of an entity request; `Ok` carries the rate-limit verdict (if limiting).
async fn gated(
    st: &Shared,
    req: &mut Request,
    sub: Option<Arc<str>>,
    check: SessionCheck,
) -> Result<Option<Verdict>, Response> {
    if let Some(fault) = st.faults.next() {
        let cid = cid_of(req);
        let epoch = sub.as_deref().map_or(1, |s| st.users.epoch_of(s));
        let limit = st.cfg.rate_limit.unwrap_or_default();
        match (fault.respond(&cid, epoch, limit), fault) {
            (Some(response), _) => return Err(response),
            (None, Fault::Delay(d)) => tokio::time::sleep(d).await,
            (None, _) => {}
        }
    }
    let caller = authorize(st, req).map_err(Denied::respond)?;
    match check {
        SessionCheck::Valid => {}
        SessionCheck::Absent => return Err(session_missing(&caller.cid)),
        SessionCheck::Unknown => return Err(session_unknown(&caller.cid)),
        SessionCheck::Foreign => {
            let msg = "Session does not belong to authenticated user.";
            return Err(ApiError::new(StatusCode::FORBIDDEN, msg).respond(&caller.cid));
        }
    }
    // A missing or non-numeric epoch counts as 0, which is below every real epoch.
    let claimed: i64 = req
        .headers()
        .get(EPOCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let verdict = {
        let mut data = caller.user.lock();
        if claimed < data.epoch {
            return Err(epoch_mismatch(&caller.cid, data.epoch));
        }
        st.cfg.rate_limit.map(|limit| {
            let now = std::time::Instant::now();
            let bucket = data.bucket.get_or_insert_with(|| Bucket::new(&limit, now));
            bucket.take(&limit, now, now_ms())
        })
    };
    if let Some(v) = verdict.filter(|v| !v.allowed) {
        return Err(rate_limited(&caller.cid, &v));
    }
    req.extensions_mut().insert(caller);
    Ok(verdict)
}

/// 428: no `X-Sync-Session` header.
fn session_missing(cid: &Cid) -> Response {
    let msg =
        "X-Sync-Session header required. Please call POST /v1/sync/sessions to begin a session.";
    ApiError::new(StatusCode::PRECONDITION_REQUIRED, msg).respond(cid)
}

/// 428: the session is unknown or expired.
pub(crate) fn session_unknown(cid: &Cid) -> Response {
    let msg = "Invalid or expired sync session. Please call POST /v1/sync/sessions to begin a new session.";
    ApiError::new(StatusCode::PRECONDITION_REQUIRED, msg).respond(cid)
}

/// 409 `epoch_mismatch` with the current epoch in the body and in `X-Sync-Epoch`.
pub(crate) fn epoch_mismatch(cid: &Cid, epoch: i64) -> Response {
    let mut response = ApiError::new(StatusCode::CONFLICT, "epoch_mismatch")
        .with("epoch", epoch)
        .respond(cid);
    response
        .headers_mut()
        .insert(EPOCH, HeaderValue::from(epoch));
    response
}

/// 429 with `Retry-After` and the `X-RateLimit-*` headers.
pub(crate) fn rate_limited(cid: &Cid, verdict: &Verdict) -> Response {
    let msg = format!(
        "Rate limit exceeded. Please retry after {} seconds.",
        verdict.retry_after_secs
    );
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, msg).respond(cid);
    verdict.write_headers(response.headers_mut());
    response
}
