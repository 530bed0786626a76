//! Sync sessions (contract section 3): in memory only, so an "API restart" forgets them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::RwLock;
use serde::Serialize;

use super::auth::{internal_user_id, plain_error};
use super::error::json;
use super::gate::Caller;
use super::wire::rfc3339_ms;
use super::{Shared, now_ms};

/// Expired sessions are swept at most this often (on session creation), which bounds the
/// map by the number of sessions opened per TTL plus one interval.
const SWEEP_EVERY_MS: i64 = 10_000;

/// One session. Serializes as the API's session JSON.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Session {
    pub id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "expiresAt")]
    pub expires_at: String,
    pub epoch: i64,
    /// The JWT `sub` that opened it (the API compares internal ids; same thing).
    #[serde(skip)]
    pub owner: Arc<str>,
    #[serde(skip)]
    pub expires_ms: i64,
}

/// What an `X-Sync-Session` header amounts to for a given caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionCheck {
    /// No header.
    Absent,
    /// Never existed, expired, or forgotten.
    Unknown,
    /// A live session of another user.
    Foreign,
    /// A live session of this caller.
    Valid,
}

/// All live sessions.
#[derive(Debug)]
pub(crate) struct SessionStore {
    map: RwLock<HashMap<String, Session>>,
    ttl_ms: i64,
    last_sweep_ms: AtomicI64,
}

impl SessionStore {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            map: RwLock::default(),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4),
            last_sweep_ms: AtomicI64::new(0),
        }
    }

    /// Opens a session for `owner` at `epoch`.
    pub fn create(&self, owner: Arc<str>, epoch: i64) -> Session {
        let now = now_ms();
        let expires_ms = now.saturating_add(self.ttl_ms);
        let session = Session {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            user_id: internal_user_id(&owner),
            created_at: rfc3339_ms(now),
            expires_at: rfc3339_ms(expires_ms),
            epoch,
            owner,
            expires_ms,
        };
        let mut map = self.map.write();
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now - last >= SWEEP_EVERY_MS {
            map.retain(|_, s| s.expires_ms > now);
            self.last_sweep_ms.store(now, Ordering::Relaxed);
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The session if it exists and has not expired.
    pub fn lookup(&self, id: &str, now: i64) -> Option<Session> {
        self.map
            .read()
            .get(id)
            .filter(|s| s.expires_ms > now)
            .cloned()
    }

    /// Judges an `X-Sync-Session` value for the caller `sub`, without cloning anything.
    pub fn check(&self, id: Option<&str>, sub: &str, now: i64) -> SessionCheck {
        let Some(id) = id else {
            return SessionCheck::Absent;
        };
        match self.map.read().get(id) {
            Some(s) if s.expires_ms > now && &*s.owner == sub => SessionCheck::Valid,
            Some(s) if s.expires_ms > now => SessionCheck::Foreign,
            _ => SessionCheck::Unknown,
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.map.write().remove(id);
    }

    /// Forgets every session, like an API restart.
    pub fn clear(&self) {
        self.map.write().clear();
    }
}

/// `POST /v1/sync/sessions`: `201` with the session JSON and `X-Sync-Epoch`. Any request
/// body is ignored. Not rate-limited.
pub(crate) async fn open(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
) -> Response {
    let epoch = c.user.lock().epoch;
    let session = st.sessions.create(c.sub.clone(), epoch);
    st.sessions_opened.fetch_add(1, Ordering::Relaxed);
    let mut response = json(StatusCode::CREATED, &session);
    response
        .headers_mut()
        .insert("x-sync-epoch", HeaderValue::from(epoch));
    response
}

/// The caller's own live session `id`, or the API's plain-text `404`/`403`. The real API
/// answers these two with Go's `http.Error` (plain text), not with JSON.
fn owned(st: &Shared, caller: &Caller, id: &str) -> Result<Session, (StatusCode, &'static str)> {
    match st.sessions.lookup(id, now_ms()) {
        None => Err((StatusCode::NOT_FOUND, "session not found or expired")),
        Some(s) if s.owner != caller.sub => Err((StatusCode::FORBIDDEN, "forbidden")),
        Some(s) => Ok(s),
    }
}

/// `GET /v1/sync/sessions/{id}`: `200` with the session JSON, owner only.
pub(crate) async fn get_one(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match owned(&st, &c, &id) {
        Ok(session) => json(StatusCode::OK, &session),
        Err((status, msg)) => plain_error(status, msg),
    }
}

/// `DELETE /v1/sync/sessions/{id}`: `204`, owner only.
pub(crate) async fn delete_one(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match owned(&st, &c, &id) {
        Ok(_) => {
            st.sessions.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err((status, msg)) => plain_error(status, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn checks_and_expiry() {
        let store = SessionStore::new(Duration::from_secs(60));
        let s = store.create(Arc::from("alice"), 3);
        let now = now_ms();
        assert_eq!(store.check(None, "alice", now), SessionCheck::Absent);
        assert_eq!(store.check(Some(&s.id), "alice", now), SessionCheck::Valid);
        assert_eq!(store.check(Some(&s.id), "bob", now), SessionCheck::Foreign);
        assert_eq!(
            store.check(Some("nope"), "alice", now),
            SessionCheck::Unknown
        );
        let later = now + 61_000;
        assert_eq!(
            store.check(Some(&s.id), "alice", later),
            SessionCheck::Unknown
        );
        assert!(store.lookup(&s.id, later).is_none());
        assert_eq!(store.lookup(&s.id, now).unwrap().epoch, 3);
        store.clear();
        assert_eq!(
            store.check(Some(&s.id), "alice", now),
            SessionCheck::Unknown
        );
    }

    #[test]
    fn expired_sessions_are_swept() {
        let store = SessionStore::new(Duration::ZERO);
        store.create(Arc::from("a"), 1);
        store.last_sweep_ms.store(0, Ordering::Relaxed);
        store.create(Arc::from("a"), 1);
        assert_eq!(store.map.read().len(), 1, "the first, expired, was swept");
    }
}
