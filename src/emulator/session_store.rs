//! Sync sessions (contract section 3): in memory only, so an "API restart" forgets them.
//! The routes that open, read and end them live in `sync_routes`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::RwLock;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::formats::rfc3339;

/// Expired sessions are swept at most this often (on session creation), which bounds the
/// map by the number of sessions opened per TTL plus one interval.
const SWEEP_EVERY_MS: i64 = 10_000;

/// One session. Serializes as the API's session JSON.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    #[serde(rename = "userId")]
    pub(crate) user_id: String,
    #[serde(rename = "createdAt")]
    pub(crate) created_at: String,
    #[serde(rename = "expiresAt")]
    pub(crate) expires_at: String,
    pub(crate) epoch: i64,
    /// The JWT `sub` that opened it (the API compares internal ids; same thing).
    #[serde(skip)]
    pub(crate) owner: Arc<str>,
    #[serde(skip)]
    pub(crate) expires_ms: i64,
}

/// What an `X-Sync-Session` header amounts to for a given caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionCheck {
    /// No header.
    Absent,
    /// Never existed, expired, ended, or forgotten.
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
    ttl: TimeDelta,
    last_sweep_ms: AtomicI64,
}

/// The API's internal user id for a `sub`: a UUID, stable, and never the `sub` itself
/// (the API creates one per `sub` on first sight; this one is derived from a digest).
pub(crate) fn internal_user_id(sub: &str) -> String {
    let digest = Sha256::digest(sub.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl SessionStore {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            map: RwLock::default(),
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
            last_sweep_ms: AtomicI64::new(0),
        }
    }

    /// Opens a session for `owner` at `epoch` (timestamps to the nanosecond, like the API's).
    pub(crate) fn create(&self, owner: Arc<str>, epoch: i64) -> Session {
        let now: DateTime<Utc> = Utc::now();
        let expires = now
            .checked_add_signed(self.ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let now_ms = now.timestamp_millis();
        let session = Session {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            user_id: internal_user_id(&owner),
            created_at: rfc3339(now),
            expires_at: rfc3339(expires),
            epoch,
            owner,
            expires_ms: expires.timestamp_millis(),
        };
        let mut map = self.map.write();
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now_ms - last >= SWEEP_EVERY_MS {
            map.retain(|_, s| s.expires_ms > now_ms);
            self.last_sweep_ms.store(now_ms, Ordering::Relaxed);
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The session if it exists and has not expired.
    pub(crate) fn lookup(&self, id: &str, now: i64) -> Option<Session> {
        self.map
            .read()
            .get(id)
            .filter(|s| s.expires_ms > now)
            .cloned()
    }

    /// Judges an `X-Sync-Session` value for the caller `sub`, without cloning anything.
    pub(crate) fn check(&self, id: Option<&str>, sub: &str, now: i64) -> SessionCheck {
        let Some(id) = id else {
            return SessionCheck::Absent;
        };
        match self.map.read().get(id) {
            Some(s) if s.expires_ms > now && &*s.owner == sub => SessionCheck::Valid,
            Some(s) if s.expires_ms > now => SessionCheck::Foreign,
            _ => SessionCheck::Unknown,
        }
    }

    /// How many live sessions `sub` has.
    pub(crate) fn live_of(&self, sub: &str, now: i64) -> usize {
        let map = self.map.read();
        map.values()
            .filter(|s| &*s.owner == sub && s.expires_ms > now)
            .count()
    }

    /// Ends a session.
    pub(crate) fn remove(&self, id: &str) {
        self.map.write().remove(id);
    }

    /// Ends every session of `sub` (an account wipe); returns how many there were.
    pub(crate) fn end_all_of(&self, sub: &str) -> usize {
        let mut map = self.map.write();
        let before = map.len();
        map.retain(|_, s| &*s.owner != sub);
        before - map.len()
    }

    /// Forgets every session, like an API restart.
    pub(crate) fn clear(&self) {
        self.map.write().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::formats::now_ms;
    use std::time::Duration;

    #[test]
    fn checks_expiry_and_ending() {
        let store = SessionStore::new(Duration::from_secs(60));
        let s = store.create(Arc::from("alice"), 3);
        let now = now_ms();
        assert_eq!(store.check(None, "alice", now), SessionCheck::Absent);
        assert_eq!(store.check(Some(&s.id), "alice", now), SessionCheck::Valid);
        assert_eq!(store.check(Some(&s.id), "bob", now), SessionCheck::Foreign);
        let nope = store.check(Some("nope"), "alice", now);
        assert_eq!(nope, SessionCheck::Unknown);
        let later = now + 61_000;
        assert_eq!(
            store.check(Some(&s.id), "alice", later),
            SessionCheck::Unknown
        );
        assert!(store.lookup(&s.id, later).is_none());
        assert_eq!(store.lookup(&s.id, now).unwrap().epoch, 3);
        store.create(Arc::from("alice"), 3);
        store.create(Arc::from("bob"), 1);
        assert_eq!(
            (store.live_of("alice", now), store.live_of("alice", later)),
            (2, 0)
        );
        assert_eq!(store.end_all_of("alice"), 2);
        assert_eq!(
            (store.live_of("alice", now), store.live_of("bob", now)),
            (0, 1)
        );
        store.clear();
        assert_eq!(store.live_of("bob", now), 0);
    }

    #[test]
    fn expired_sessions_are_swept() {
        let store = SessionStore::new(Duration::ZERO);
        store.create(Arc::from("a"), 1);
        store.last_sweep_ms.store(0, Ordering::Relaxed);
        store.create(Arc::from("a"), 1);
        assert_eq!(store.map.read().len(), 1, "the first, expired, was swept");
    }

    #[test]
    fn internal_ids_are_stable_opaque_uuids() {
        let id = internal_user_id("alice");
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert!(!id.contains("alice"));
        assert_eq!(id, internal_user_id("alice"));
        assert_ne!(id, internal_user_id("bob"));
    }
}
