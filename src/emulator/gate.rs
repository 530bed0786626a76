//! The checks of the authenticated routes, in the contract's order (each gate is one route
//! group of the API):
//!
//! - session routes (and, current, tenant lookup and token exchange): token → seed: tenant
//!   headers / current: the auth-route limit (§7.5);
//! - wipe and state: token → tenant → session (no limit, no epoch check);
//! - entity routes: injected fault → token → tenant → session → rate limit → epoch.
//!
//! Every response past a limiter carries its `X-RateLimit-*` headers, errors included.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::api_caller::ApiCaller;
use super::auth::ApiIdentity;
use super::config::{Generation, RateLimit};
use super::error::{ApiError, Cid, EPOCH, Refusal, epoch_mismatch, rate_limited};
use super::faults::{Injected, STALL};
use super::formats::now_ms;
use super::front::{SESSION, SessionOutcome};
use super::ratelimit::{Bucket, Verdict};
use super::serve::Hangup;
use super::session_store::SessionCheck;
use super::shared::Shared;
use super::store::UserData;

/// Sleeps for the injected global delay, if any.
async fn global_delay(st: &Shared) {
    if let Some(d) = st.faults.delay() {
        tokio::time::sleep(d).await;
    }
}

fn cid_of(req: &Request) -> Cid {
    req.extensions()
        .get::<Cid>()
        .cloned()
        .unwrap_or_else(|| Cid::from_request(None))
}

fn sub_of(req: &Request) -> Option<Arc<str>> {
    req.extensions()
        .get::<ApiIdentity>()
        .and_then(|i| i.user.clone())
}

/// The token check of every authenticated route: the caller, or `401 unauthorized`.
fn authenticate(st: &Shared, req: &Request) -> Result<ApiCaller, Refusal> {
    let sub = sub_of(req).ok_or(Refusal::Token)?;
    Ok(ApiCaller {
        user: st.users.get_or_create(&sub),
        sub,
        cid: cid_of(req),
        generation: st.cfg.generation,
    })
}

/// Judges `X-Sync-Session` for `sub` now (after the global delay, so that a session
/// forgotten meanwhile is unknown).
fn session_of(st: &Shared, req: &Request, sub: Option<&str>) -> SessionCheck {
    let header = req.headers().get(SESSION).and_then(|v| v.to_str().ok());
    match sub {
        Some(sub) => st.sessions.check(header, sub, now_ms()),
        None if header.is_some() => SessionCheck::Unknown,
        None => SessionCheck::Absent,
    }
}

/// The session step: `428` missing/unknown, `403` another user's.
fn require_session(check: SessionCheck) -> Result<(), Refusal> {
    match check {
        SessionCheck::Valid => Ok(()),
        SessionCheck::Absent => Err(Refusal::NoSession),
        SessionCheck::Unknown => Err(Refusal::UnknownSession),
        SessionCheck::Foreign => Err(Refusal::ForeignSession),
    }
}

/// Takes one token from the bucket `pick` chooses, if a limit is configured.
fn take(
    caller: &ApiCaller,
    limit: Option<RateLimit>,
    pick: fn(&mut UserData) -> &mut Option<Bucket>,
) -> Option<Verdict> {
    let limit = limit?;
    let now = std::time::Instant::now();
    let mut data = caller.user.lock();
    let bucket = pick(&mut data).get_or_insert_with(|| Bucket::new(&limit, now));
    Some(bucket.take(&limit, now, now_ms()))
}

/// Runs `rest` behind a limiter verdict: `429` when refused, else whatever `rest` answers,
/// with the rate-limit headers either way.
async fn limited(
    verdict: Option<Verdict>,
    cid: &Cid,
    rest: impl Future<Output = Response>,
) -> Response {
    match verdict {
        Some(v) if !v.allowed => rate_limited(cid, &v),
        Some(v) => {
            let mut response = rest.await;
            v.write_headers(response.headers_mut());
            response
        }
        None => rest.await,
    }
}

/// Layer of the session routes and, current, of tenant lookup and token exchange.
pub(crate) async fn session_gate(
    State(st): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    global_delay(&st).await;
    let caller = match authenticate(&st, &req) {
        Ok(c) => c,
        Err(refusal) => return refusal.respond(&cid_of(&req)),
    };
    let verdict = match st.cfg.generation {
        Generation::Seed => {
            if let Err(refusal) = st.check_tenant(req.headers(), &caller.sub) {
                return refusal.respond(&caller.cid);
            }
            None
        }
        Generation::Current => take(&caller, st.cfg.auth_rate_limit, |d| &mut d.auth_bucket),
    };
    let cid = caller.cid.clone();
    req.extensions_mut().insert(caller);
    limited(verdict, &cid, next.run(req)).await
}

/// Layer of `POST /v1/sync/wipe` and `GET /v1/sync/state`: the same checks as the entity
/// routes up to the session, then nothing more.
pub(crate) async fn account_gate(
    State(st): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    global_delay(&st).await;
    let check = session_of(&st, &req, sub_of(&req).as_deref());
    let mut response = match account_checks(&st, &req, check) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(refusal) => refusal.respond(&cid_of(&req)),
    };
    response.extensions_mut().insert(SessionOutcome(check));
    response
}

/// Token, tenant, session: the checks every data route makes.
fn account_checks(st: &Shared, req: &Request, check: SessionCheck) -> Result<ApiCaller, Refusal> {
    let caller = authenticate(st, req)?;
    st.check_tenant(req.headers(), &caller.sub)?;
    require_session(check)?;
    Ok(caller)
}

/// Layer of the entity routes.
pub(crate) async fn entity_gate(
    State(st): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    global_delay(&st).await;
    let sub = sub_of(&req);
    let check = session_of(&st, &req, sub.as_deref());
    let mut response = match injected_fault(&st, &req, sub.as_deref()) {
        None => checked(&st, req, check, next).await,
        Some(Injected::Answer(response)) => response,
        Some(Injected::Delay(d)) => {
            tokio::time::sleep(d).await;
            checked(&st, req, check, next).await
        }
        Some(Injected::Hangup { processed, reset }) => {
            let hangup = req.extensions().get::<Hangup>().cloned();
            let req = read_whole(req).await;
            if processed {
                drop(checked(&st, req, check, next).await);
            }
            match hangup {
                // The connection task drops this handler with the connection.
                Some(h) => h.cut(reset),
                None => tracing::debug!("no connection to cut: served without the emulator's loop"),
            }
            std::future::pending::<Response>().await
        }
        Some(Injected::Stall { processed }) => {
            if processed {
                drop(checked(&st, req, check, next).await);
            }
            tokio::time::sleep(STALL).await;
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, "stalled by fault injection")
                .respond(&Cid::from_request(None))
        }
    };
    response.extensions_mut().insert(SessionOutcome(check));
    response
}

/// The request with its body read whole, as a server has read it before it answers.
async fn read_whole(req: Request) -> Request {
    let (parts, body) = req.into_parts();
    // The router's body limit already bounds it.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    Request::from_parts(parts, axum::body::Body::from(bytes))
}

/// The checks after the fault: token, tenant, session, rate limit, epoch; then the route.
async fn checked(st: &Shared, mut req: Request, check: SessionCheck, next: Next) -> Response {
    let caller = match account_checks(st, &req, check) {
        Ok(caller) => caller,
        Err(refusal) => return refusal.respond(&cid_of(&req)),
    };
    let verdict = take(&caller, st.cfg.rate_limit, |d| &mut d.bucket);
    let cid = caller.cid.clone();
    limited(verdict, &cid, async move {
        // A missing or non-numeric epoch counts as 0, below every real epoch.
        let claimed: i64 = req
            .headers()
            .get(EPOCH)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let epoch = caller.user.lock().epoch;
        if claimed < epoch {
            return epoch_mismatch(&caller.cid, epoch);
        }
        req.extensions_mut().insert(caller);
        next.run(req).await
    })
    .await
}

/// The injected fault, checked before anything else.
fn injected_fault(st: &Shared, req: &Request, sub: Option<&str>) -> Option<Injected> {
    let fault = st.faults.next()?;
    let epoch = sub.map_or(1, |s| st.users.epoch_of(s));
    let limit = st.cfg.rate_limit.unwrap_or_default();
    Some(fault.apply(&cid_of(req), epoch, limit))
}
