//! Sync sessions (contract section 3): every entity request carries `X-Sync-Session` and
//! `X-Sync-Epoch`.
//!
//! `reuse` (the default) keeps one session per caller (keyed by a hash of its credential,
//! never the credential itself), renews it before it expires, and opens it single-flight,
//! so a burst of concurrent calls opens one session. `per_call` opens a session for every
//! entity request and closes it (`DELETE /v1/sync/sessions/{id}`) once the answer is read.
//!
//! In both modes a 428 (session unknown, as after an API restart) opens a new session and
//! retries once, and a 409 `epoch_mismatch` adopts the API's epoch and retries once. Both
//! answers come before the API's handler runs, so the retry cannot apply a change twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{Extensions, HeaderValue, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};
use serde::Deserialize;

use super::{
    UpstreamError,
    answer::{json_answer, read_capped},
    flight::Flights,
    marks::{CORRELATION_ID, EntityRequest, SYNC_EPOCH, SYNC_SESSION},
    retry::record_retry,
};
use crate::{call::CredentialKey, config::SessionMode};

/// A session is renewed this long before the API would expire it.
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// Most bearer tokens with a cached session; past it, expired entries are swept first.
const MAX_CACHED: usize = 10_000;

/// An open sync session.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionInfo {
    /// Session id.
    pub(crate) id: String,
    /// When the API forgets it.
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// The user's epoch at creation.
    #[serde(default)]
    pub(crate) epoch: i64,
}

impl SessionInfo {
    /// How long to use it: until a margin before the API forgets it.
    fn ttl(&self) -> Duration {
        match self.expires_at {
            Some(t) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .saturating_sub(RENEW_MARGIN),
            // No expiry given: the contract's 30 minutes.
            None => Duration::from_secs(30 * 60) - RENEW_MARGIN,
        }
    }
}

pub(crate) struct SyncSessions {
    mode: SessionMode,
    url: reqwest::Url,
    max_body: usize,
    /// `reuse`: each caller's session.
    cache: Flights<SessionInfo>,
}

/// Reads a `201` session answer.
pub(crate) async fn parse_session(
    resp: Response,
    max_body: usize,
) -> std::result::Result<SessionInfo, UpstreamError> {
    let (mut info, headers) = json_answer::<SessionInfo>(resp, max_body).await?;
    if let Some(epoch) = header_epoch(&headers) {
        info.epoch = epoch;
    }
    Ok(info)
}

fn header_epoch(headers: &http::HeaderMap) -> Option<i64> {
    headers.get(SYNC_EPOCH)?.to_str().ok()?.trim().parse().ok()
}

/// The session requests go through the credential and tenant layers as the caller's own.
fn caller_extensions(caller: Option<CredentialKey>) -> Extensions {
    let mut ext = Extensions::new();
    if let Some(c) = caller {
        ext.insert(c);
    }
    ext
}

/// Copies the caller's credential and correlation id onto a session request.
fn session_request(method: http::Method, url: reqwest::Url, template: &Request) -> Request {
    let mut req = Request::new(method, url);
    for name in [
        header::AUTHORIZATION,
        header::HeaderName::from_static(CORRELATION_ID),
    ] {
        if let Some(v) = template.headers().get(&name) {
            req.headers_mut().insert(name, v.clone());
        }
    }
    req
}

impl SyncSessions {
    pub(crate) fn new(mode: SessionMode, url: reqwest::Url, max_body: usize) -> Self {
        Self {
            mode,
            url,
            max_body,
            cache: Flights::new(MAX_CACHED),
        }
    }

    /// Opens a session with the caller's credential, through the layers below (so it is
    /// authenticated and tenant-scoped like every other request).
    async fn open(
        &self,
        template: &Request,
        caller: Option<CredentialKey>,
        next: &Next<'_>,
    ) -> std::result::Result<SessionInfo, UpstreamError> {
        let req = session_request(http::Method::POST, self.url.clone(), template);
        let resp = next
            .clone()
            .run(req, &mut caller_extensions(caller))
            .await
            .map_err(UpstreamError::from_middleware)?;
        let info = parse_session(resp, self.max_body).await?;
        metrics::counter!(crate::telemetry::names::SESSIONS_OPENED).increment(1);
        tracing::debug!(epoch = info.epoch, "sync session opened");
        Ok(info)
    }

    /// `per_call`: ends a session that served its one request, so sessions do not pile up
    /// in the API's memory for their 30 minutes. Best effort: a failure is logged and
    /// counted, and the session expires on its own.
    async fn close(
        &self,
        template: &Request,
        caller: Option<CredentialKey>,
        id: &str,
        next: &Next<'_>,
    ) {
        let Ok(url) = self.url.join(&format!("sessions/{id}")) else {
            return;
        };
        let req = session_request(http::Method::DELETE, url, template);
        let outcome = match next.clone().run(req, &mut caller_extensions(caller)).await {
            Ok(r) if r.status().is_success() => "ok",
            Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            Ok(_) => "refused",
            Err(_) => "error",
        };
        metrics::counter!(crate::telemetry::names::SESSIONS_CLOSED, "outcome" => outcome)
            .increment(1);
        if outcome != "ok" {
            tracing::debug!(
                outcome,
                "closing a per-call sync session failed; it will expire"
            );
        }
    }

    /// The caller's session: `reuse` (a `key`) from the cache, `per_call` a new one.
    async fn acquire(
        &self,
        req: &Request,
        caller: Option<CredentialKey>,
        key: Option<CredentialKey>,
        next: &Next<'_>,
    ) -> Result<SessionInfo> {
        match key {
            Some(key) => self
                .cache
                .get(key, || async {
                    let info = self.open(req, caller, next).await?;
                    Ok((info.clone(), info.ttl()))
                })
                .await
                .map_err(Error::from),
            None => self.open(req, caller, next).await.map_err(Error::from),
        }
    }
}

/// The epoch a 409 asks for, when the 409 is an epoch mismatch.
fn epoch_mismatch(headers: &http::HeaderMap, body: &[u8]) -> Option<i64> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    if json.get("error")?.as_str()? != "epoch_mismatch" {
        return None;
    }
    header_epoch(headers).or_else(|| json.get("epoch")?.as_i64())
}

#[async_trait::async_trait]
impl Middleware for SyncSessions {
    async fn handle(&self, req: Request, ext: &mut Extensions, next: Next<'_>) -> Result<Response> {
        if ext.get::<EntityRequest>().is_none() {
            return next.run(req, ext).await;
        }
        let caller = ext.get::<CredentialKey>().copied();
        let key = match self.mode {
            SessionMode::PerCall => None,
            SessionMode::Reuse => caller,
        };
        let mut session = self.acquire(&req, caller, key, &next).await?;
        let (mut retried_session, mut retried_epoch) = (false, false);
        loop {
            let mut attempt = req.try_clone().ok_or_else(|| {
                Error::from(UpstreamError::Other(
                    "request body cannot be retried".into(),
                ))
            })?;
            let h = attempt.headers_mut();
            h.insert(
                SYNC_SESSION,
                HeaderValue::from_str(&session.id).map_err(|_| {
                    Error::from(UpstreamError::Other("the API sent a bad session id".into()))
                })?,
            );
            h.insert(SYNC_EPOCH, HeaderValue::from(session.epoch));
            // No middleware below this one changes the extensions: no copy per attempt.
            let resp = next.clone().run(attempt, ext).await?;
            match resp.status() {
                StatusCode::PRECONDITION_REQUIRED if !retried_session => {
                    retried_session = true;
                    record_retry("session_expired");
                    tracing::info!(
                        "sync session unknown to the API (restarted?); opening a new one"
                    );
                    match key {
                        Some(k) => self.cache.forget_if(k, |s| s.id == session.id),
                        None => self.close(&req, caller, &session.id, &next).await,
                    }
                    session = self.acquire(&req, caller, key, &next).await?;
                }
                StatusCode::CONFLICT if !retried_epoch => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = read_capped(resp, self.max_body)
                        .await
                        .map_err(Error::from)?;
                    let Some(epoch) = epoch_mismatch(&headers, &body) else {
                        // Another kind of conflict: hand the answer back untouched.
                        let mut rebuilt = http::Response::new(body);
                        *rebuilt.status_mut() = status;
                        *rebuilt.headers_mut() = headers;
                        return Ok(Response::from(rebuilt));
                    };
                    retried_epoch = true;
                    record_retry("epoch_mismatch");
                    tracing::info!(epoch, "sync epoch moved on (account reset); adopting it");
                    if let Some(k) = key {
                        self.cache.modify(k, |s| {
                            if s.id == session.id {
                                s.epoch = s.epoch.max(epoch);
                            }
                        });
                    }
                    session.epoch = epoch;
                }
                _ if key.is_none() => {
                    // per_call: the answer is read before the session is closed, so the
                    // session outlives its one request and no longer.
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = read_capped(resp, self.max_body).await;
                    self.close(&req, caller, &session.id, &next).await;
                    let mut rebuilt = http::Response::new(body.map_err(Error::from)?);
                    *rebuilt.status_mut() = status;
                    *rebuilt.headers_mut() = headers;
                    return Ok(Response::from(rebuilt));
                }
                _ => return Ok(resp),
            }
        }
    }
}
