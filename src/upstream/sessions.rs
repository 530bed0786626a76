//! Sync sessions (contract section 3): every entity request carries `X-Sync-Session` and
//! `X-Sync-Epoch`.
//!
//! `per_call` opens a session for every entity request. `reuse` keeps one session per
//! bearer token (keyed by a hash of it, never the token itself), renews it before it
//! expires, and opens it single-flight so that many concurrent calls open one session.
//!
//! In both modes a 428 (session unknown, as after an API restart) opens a new session and
//! retries once, and a 409 `epoch_mismatch` adopts the API's epoch and retries once. Both
//! answers come before the API's handler runs, so the retry cannot apply a change twice.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use http::{Extensions, HeaderValue, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    UpstreamError,
    answer::{content_type, error_from, read_capped},
    client::CORRELATION_ID,
    middleware::EntityRequest,
};
use crate::config::SessionMode;

/// Header naming the session.
pub const SYNC_SESSION: &str = "x-sync-session";
/// Header carrying the epoch.
pub const SYNC_EPOCH: &str = "x-sync-epoch";

/// A session is renewed this long before the API would expire it.
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// Most bearer tokens with a cached session; past it, expired entries are swept first.
const MAX_CACHED: usize = 10_000;

/// An open sync session.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// The API's internal user id.
    #[serde(default)]
    pub user_id: String,
    /// When the API forgets it.
    pub expires_at: Option<DateTime<Utc>>,
    /// The user's epoch at creation.
    #[serde(default)]
    pub epoch: i64,
}

impl SessionInfo {
    fn fresh(&self) -> bool {
        self.expires_at
            .is_none_or(|t| t - RENEW_MARGIN > Utc::now())
    }
}

/// Counters for sessions and retries (read by metrics and tests).
#[derive(Debug, Default)]
pub struct SessionStats {
    /// Sessions opened.
    pub opened: AtomicU64,
    /// Retries after a 428.
    pub retries_session: AtomicU64,
    /// Retries after a 409 epoch mismatch.
    pub retries_epoch: AtomicU64,
    /// Retries after a 429.
    pub retries_rate_limited: AtomicU64,
}

impl SessionStats {
    pub(crate) fn record_retry(&self, reason: &'static str) {
        let counter = match reason {
            "session_expired" => &self.retries_session,
            "epoch_mismatch" => &self.retries_epoch,
            _ => &self.retries_rate_limited,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("toolbridge_upstream_retries_total", "reason" => reason).increment(1);
    }
}

/// One token's cached session. `opening` makes the open single-flight.
#[derive(Default)]
struct Slot {
    current: parking_lot::Mutex<Option<SessionInfo>>,
    opening: tokio::sync::Mutex<()>,
}

pub(crate) struct SyncSessions {
    mode: SessionMode,
    url: reqwest::Url,
    max_body: usize,
    timeout_secs: f64,
    stats: Arc<SessionStats>,
    slots: parking_lot::Mutex<HashMap<[u8; 32], Arc<Slot>>>,
}

fn mw(e: UpstreamError) -> Error {
    Error::Middleware(anyhow::Error::new(e))
}

/// Reads a `201` session answer.
pub(crate) async fn parse_session(
    mut resp: Response,
    max_body: usize,
    timeout_secs: f64,
) -> std::result::Result<SessionInfo, UpstreamError> {
    let status = resp.status();
    // Moved out, not cloned: reading the body needs no headers.
    let headers = std::mem::take(resp.headers_mut());
    let bytes = read_capped(resp, max_body, timeout_secs).await?;
    if !status.is_success() {
        return Err(error_from(status, &headers, &bytes));
    }
    let mut info: SessionInfo =
        serde_json::from_slice(&bytes).map_err(|_| UpstreamError::NotJson {
            status,
            content_type: content_type(&headers),
        })?;
    if let Some(epoch) = header_epoch(&headers) {
        info.epoch = epoch;
    }
    Ok(info)
}

fn header_epoch(headers: &http::HeaderMap) -> Option<i64> {
    headers.get(SYNC_EPOCH)?.to_str().ok()?.trim().parse().ok()
}

impl SyncSessions {
    pub(crate) fn new(
        mode: SessionMode,
        url: reqwest::Url,
        max_body: usize,
        timeout_secs: f64,
        stats: Arc<SessionStats>,
    ) -> Self {
        Self {
            mode,
            url,
            max_body,
            timeout_secs,
            stats,
            slots: Default::default(),
        }
    }

    async fn open(&self, template: &Request, next: &Next<'_>) -> Result<SessionInfo> {
        let mut req = Request::new(http::Method::POST, self.url.clone());
        for name in [
            header::AUTHORIZATION,
            header::HeaderName::from_static(CORRELATION_ID),
        ] {
            if let Some(v) = template.headers().get(&name) {
                req.headers_mut().insert(name, v.clone());
            }
        }
        let resp = next.clone().run(req, &mut Extensions::new()).await?;
        let info = parse_session(resp, self.max_body, self.timeout_secs)
            .await
            .map_err(mw)?;
        self.stats.opened.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("toolbridge_sessions_opened_total").increment(1);
        tracing::debug!(epoch = info.epoch, "sync session opened");
        Ok(info)
    }

    fn slot(&self, auth: &HeaderValue) -> Arc<Slot> {
        let key: [u8; 32] = Sha256::digest(auth.as_bytes()).into();
        let mut slots = self.slots.lock();
        if slots.len() >= MAX_CACHED && !slots.contains_key(&key) {
            slots.retain(|_, s| s.current.lock().as_ref().is_some_and(SessionInfo::fresh));
            if slots.len() >= MAX_CACHED {
                // Still full of live sessions: drop one at random rather than grow.
                if let Some(k) = slots.keys().next().copied() {
                    slots.remove(&k);
                }
            }
        }
        slots.entry(key).or_default().clone()
    }

    async fn acquire(
        &self,
        req: &Request,
        slot: Option<&Slot>,
        next: &Next<'_>,
    ) -> Result<SessionInfo> {
        let Some(slot) = slot else {
            return self.open(req, next).await;
        };
        if let Some(s) = slot.current.lock().as_ref().filter(|s| s.fresh()) {
            return Ok(s.clone());
        }
        let _opening = slot.opening.lock().await;
        // Someone else may have opened it while this call waited.
        if let Some(s) = slot.current.lock().as_ref().filter(|s| s.fresh()) {
            return Ok(s.clone());
        }
        let info = self.open(req, next).await?;
        *slot.current.lock() = Some(info.clone());
        Ok(info)
    }

    /// Forgets a session the API no longer knows, unless another call already replaced it.
    fn invalidate(slot: Option<&Slot>, id: &str) {
        if let Some(slot) = slot {
            let mut cur = slot.current.lock();
            if cur.as_ref().is_some_and(|s| s.id == id) {
                *cur = None;
            }
        }
    }

    fn adopt_epoch(slot: Option<&Slot>, id: &str, epoch: i64) {
        if let Some(slot) = slot
            && let Some(s) = slot.current.lock().as_mut().filter(|s| s.id == id)
        {
            s.epoch = s.epoch.max(epoch);
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
        let slot = match self.mode {
            SessionMode::PerCall => None,
            SessionMode::Reuse => req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|a| self.slot(a)),
        };
        let slot = slot.as_deref();
        let mut session = self.acquire(&req, slot, &next).await?;
        let (mut retried_session, mut retried_epoch) = (false, false);
        loop {
            let mut attempt = req.try_clone().ok_or_else(|| {
                mw(UpstreamError::Other(
                    "request body cannot be retried".into(),
                ))
            })?;
            let h = attempt.headers_mut();
            h.insert(
                SYNC_SESSION,
                HeaderValue::from_str(&session.id).map_err(|_| {
                    mw(UpstreamError::Other("the API sent a bad session id".into()))
                })?,
            );
            h.insert(SYNC_EPOCH, HeaderValue::from(session.epoch));
            // No middleware below this one changes the extensions: no copy per attempt.
            let resp = next.clone().run(attempt, ext).await?;
            match resp.status() {
                StatusCode::PRECONDITION_REQUIRED if !retried_session => {
                    retried_session = true;
                    self.stats.record_retry("session_expired");
                    tracing::info!(
                        "sync session unknown to the API (restarted?); opening a new one"
                    );
                    Self::invalidate(slot, &session.id);
                    session = self.acquire(&req, slot, &next).await?;
                }
                StatusCode::CONFLICT if !retried_epoch => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = read_capped(resp, self.max_body, self.timeout_secs)
                        .await
                        .map_err(mw)?;
                    let Some(epoch) = epoch_mismatch(&headers, &body) else {
                        // Another kind of conflict: hand the answer back untouched.
                        let mut rebuilt = http::Response::new(body);
                        *rebuilt.status_mut() = status;
                        *rebuilt.headers_mut() = headers;
                        return Ok(Response::from(rebuilt));
                    };
                    retried_epoch = true;
                    self.stats.record_retry("epoch_mismatch");
                    tracing::info!(epoch, "sync epoch moved on (account reset); adopting it");
                    Self::adopt_epoch(slot, &session.id, epoch);
                    session.epoch = epoch;
                }
                _ => return Ok(resp),
            }
        }
    }
}
