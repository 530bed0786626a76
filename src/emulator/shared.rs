//! Everything the routes share, and the few operations that span several parts of it (the
//! tenant check of each generation, an account wipe).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::http::HeaderMap;
use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};

use super::auth::Authenticator;
use super::config::{EmulatorConfig, Generation};
use super::error::Refusal;
use super::faults::Faults;
use super::formats::{now_ms, rfc3339};
use super::log::RequestLog;
use super::session_store::{SessionStore, internal_user_id};
use super::store::{UserData, WipeRecord};
use super::tenant_check::{Tenancy, plain_header, signed_headers_valid};

/// Every user's data, created on first use.
#[derive(Debug, Default)]
pub(crate) struct Users {
    map: RwLock<HashMap<String, Arc<Mutex<UserData>>>>,
}

impl Users {
    /// The user's data; the map's write lock is taken only the first time a user is seen.
    pub(crate) fn get_or_create(&self, sub: &str) -> Arc<Mutex<UserData>> {
        if let Some(user) = self.map.read().get(sub) {
            return user.clone();
        }
        self.map.write().entry(sub.to_owned()).or_default().clone()
    }

    /// The user's data if the user was ever seen.
    pub(crate) fn get(&self, sub: &str) -> Option<Arc<Mutex<UserData>>> {
        self.map.read().get(sub).cloned()
    }

    /// The user's current epoch (1 for a user never seen).
    pub(crate) fn epoch_of(&self, sub: &str) -> i64 {
        self.get(sub).map_or(1, |u| u.lock().epoch)
    }

    /// Forgets every user's rate-limit buckets (they live in the API's memory).
    pub(crate) fn forget_buckets(&self) {
        for user in self.map.read().values() {
            let mut data = user.lock();
            data.bucket = None;
            data.auth_bucket = None;
        }
    }

    /// Raises the user's epoch by one and returns it (nothing else changes).
    pub(crate) fn bump_epoch(&self, sub: &str) -> i64 {
        let user = self.get_or_create(sub);
        let mut data = user.lock();
        data.epoch += 1;
        data.epoch
    }
}

/// Counters read by the emulator's introspection methods.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sessions_opened: AtomicU64,
    pub(crate) token_exchanges: AtomicU64,
    pub(crate) tenant_lookups: AtomicU64,
    pub(crate) aborted: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) peak_in_flight: AtomicU64,
}

/// The state of one emulator.
pub(crate) struct Shared {
    pub(crate) cfg: EmulatorConfig,
    pub(crate) auth: Authenticator,
    pub(crate) tenancy: Tenancy,
    pub(crate) users: Users,
    pub(crate) sessions: SessionStore,
    pub(crate) log: RequestLog,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    tenant_secret: Option<Vec<u8>>,
    max_skew_ms: i64,
}

impl Shared {
    /// What an API restart forgets: what it keeps in process memory (sessions, rate
    /// limits). Data, users and epochs are in the database and stay.
    pub(crate) fn restarted(&self) {
        self.sessions.clear();
        self.users.forget_buckets();
    }

    pub(crate) fn new(cfg: EmulatorConfig) -> Self {
        Self {
            auth: Authenticator::new(&cfg),
            tenancy: Tenancy::new(&cfg),
            sessions: SessionStore::new(cfg.session_ttl),
            users: Users::default(),
            log: RequestLog::default(),
            faults: Faults::default(),
            counters: Counters::default(),
            tenant_secret: cfg
                .tenant_header_secret
                .as_ref()
                .filter(|_| cfg.generation == Generation::Seed)
                .map(|s| s.as_bytes().to_vec()),
            max_skew_ms: i64::try_from(cfg.max_skew.as_millis()).unwrap_or(i64::MAX),
            cfg,
        }
    }

    /// The tenant check of the routes that have one (seed: every authenticated route when
    /// a tenant secret is set; current: entity routes, wipe and state), for caller `sub`.
    /// `Err` is the API's refusal: seed `401 invalid tenant headers`; current `401 missing
    /// tenant header` or `403 not authorized for requested tenant`.
    pub(crate) fn check_tenant(&self, headers: &HeaderMap, sub: &str) -> Result<(), Refusal> {
        match self.cfg.generation {
            Generation::Seed => match &self.tenant_secret {
                None => Ok(()),
                Some(secret)
                    if signed_headers_valid(secret, headers, now_ms(), self.max_skew_ms) =>
                {
                    Ok(())
                }
                Some(_) => Err(Refusal::TenantHeaders),
            },
            Generation::Current => {
                let tenant = plain_header(headers).ok_or(Refusal::MissingTenant)?;
                let outage = self.faults.membership_outage();
                match self.tenancy.allowed(sub, tenant, outage, true) {
                    true => Ok(()),
                    false => Err(Refusal::TenantNotAllowed),
                }
            }
        }
    }

    /// What the request log says about the tenant headers, judged without side effects:
    /// seed: the signed headers verify (always `false` without a tenant secret); current:
    /// `X-TB-Tenant-ID` is present and allowed for `sub`.
    pub(crate) fn tenant_valid(&self, headers: &HeaderMap, sub: Option<&str>) -> bool {
        match self.cfg.generation {
            Generation::Seed => self.tenant_secret.as_ref().is_some_and(|secret| {
                signed_headers_valid(secret, headers, now_ms(), self.max_skew_ms)
            }),
            Generation::Current => match (plain_header(headers), sub) {
                (Some(tenant), Some(sub)) => {
                    let outage = self.faults.membership_outage();
                    self.tenancy.allowed(sub, tenant, outage, false)
                }
                _ => false,
            },
        }
    }

    /// An account wipe (contract §3): hard-deletes the user's rows, raises the epoch and
    /// ends all the user's sessions. Returns the new epoch and the rows deleted per entity.
    pub(crate) fn wipe(&self, sub: &str) -> (i64, Map<String, Value>) {
        let user = self.users.get_or_create(sub);
        let (epoch, deleted) = {
            let mut data = user.lock();
            let record = WipeRecord {
                at: rfc3339(chrono::Utc::now()),
                by: internal_user_id(sub),
            };
            let deleted = data.wipe(self.cfg.generation, record);
            (data.epoch, deleted)
        };
        self.sessions.end_all_of(sub);
        (epoch, deleted)
    }
}
