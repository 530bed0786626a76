//! The tenant of a request: the signed headers of the seed generation (contract §2), and
//! the plain header of the current one, allowed per user by organization membership (§7.1)
//! with a membership table standing in for WorkOS.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use parking_lot::{Mutex, RwLock};

use super::config::{EmulatorConfig, Organization};
use crate::upstream::signing::{SIGNATURE, TENANT_ID, TIMESTAMP, verify};

/// How long a granted (`sub`, tenant) allowance is remembered (§7.1).
pub(crate) const ALLOWANCE_TTL: Duration = Duration::from_secs(5 * 60);
/// Most allowances kept at once; past it expired ones are swept, and if none are, a new
/// one is simply not remembered (it is recomputed next time, which is always correct).
const MAX_ALLOWANCES: usize = 100_000;

/// The header value, read as UTF-8 bytes (not visible ASCII only: a tenant id such as
/// `tenant-ü` is legal and signed over its UTF-8 form).
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
}

/// seed: all three headers present, a decimal-millisecond timestamp within ±`max_skew_ms`
/// of `now_ms`, and a signature that verifies (in constant time) over the header values
/// exactly as sent. Any tenant id the secret signs is accepted: the API checks nothing else.
pub(crate) fn signed_headers_valid(
    secret: &[u8],
    headers: &HeaderMap,
    now_ms: i64,
    max_skew_ms: i64,
) -> bool {
    let (Some(tenant), Some(ts), Some(sig)) = (
        text(headers, TENANT_ID),
        text(headers, TIMESTAMP),
        text(headers, SIGNATURE),
    ) else {
        return false;
    };
    if tenant.is_empty() || sig.is_empty() {
        return false;
    }
    // Go's `strconv.ParseInt(ts, 10, 64)`: an optional sign, then decimal digits.
    let Ok(at) = ts.parse::<i64>() else {
        return false;
    };
    if now_ms.abs_diff(at) > max_skew_ms.unsigned_abs() {
        return false;
    }
    verify(secret, tenant, ts, sig)
}

/// current: the `X-TB-Tenant-ID` value, `None` when missing or empty.
pub(crate) fn plain_header(headers: &HeaderMap) -> Option<&str> {
    text(headers, TENANT_ID).filter(|t| !t.is_empty())
}

/// current: who may use which tenant.
#[derive(Debug)]
pub(crate) struct Tenancy {
    default_tenant: String,
    /// `None`: no membership service configured (no `WORKOS_API_KEY`).
    memberships: RwLock<Option<HashMap<String, Vec<Organization>>>>,
    /// Granted (`sub`, tenant) pairs and when they were granted; refusals are never kept.
    allowances: Mutex<HashMap<(String, String), Instant>>,
}

/// What the membership service says about a user.
pub(crate) enum Lookup {
    /// No service configured.
    NotConfigured,
    /// The service failed.
    Failed,
    /// The user's organizations (empty: none).
    Orgs(Vec<Organization>),
}

impl Tenancy {
    pub(crate) fn new(cfg: &EmulatorConfig) -> Self {
        Self {
            default_tenant: cfg.default_tenant_id.clone(),
            memberships: RwLock::new(cfg.memberships.clone()),
            allowances: Mutex::default(),
        }
    }

    /// `DEFAULT_TENANT_ID`.
    pub(crate) fn default_tenant(&self) -> &str {
        &self.default_tenant
    }

    /// Replaces `sub`'s organizations (configuring the service if it was not).
    pub(crate) fn set_memberships(&self, sub: &str, orgs: Vec<Organization>) {
        let mut table = self.memberships.write();
        table
            .get_or_insert_with(HashMap::new)
            .insert(sub.to_owned(), orgs);
    }

    /// Asks the membership service about `sub`.
    pub(crate) fn lookup(&self, sub: &str, outage: bool) -> Lookup {
        match &*self.memberships.read() {
            None => Lookup::NotConfigured,
            Some(_) if outage => Lookup::Failed,
            Some(table) => Lookup::Orgs(table.get(sub).cloned().unwrap_or_default()),
        }
    }

    /// Whether `sub` may use `tenant` (§7.1): a remembered allowance; else, without a
    /// membership service, only the default tenant; with one, an organization whose id is
    /// the tenant, or the default tenant for a user with no organization at all. A granted
    /// allowance is remembered for [`ALLOWANCE_TTL`] when `remember` (the real check does;
    /// the request log's judgment does not, so that logging changes nothing).
    pub(crate) fn allowed(&self, sub: &str, tenant: &str, outage: bool, remember: bool) -> bool {
        let key = (sub.to_owned(), tenant.to_owned());
        let now = Instant::now();
        if self
            .allowances
            .lock()
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < ALLOWANCE_TTL)
        {
            return true;
        }
        let granted = match self.lookup(sub, outage) {
            Lookup::NotConfigured => tenant == self.default_tenant,
            // A failed lookup refuses, and the refusal is not remembered.
            Lookup::Failed => false,
            Lookup::Orgs(orgs) => {
                orgs.iter().any(|o| o.id == tenant)
                    || (orgs.is_empty() && tenant == self.default_tenant)
            }
        };
        if granted && remember {
            self.remember(key, now);
        }
        granted
    }

    fn remember(&self, key: (String, String), now: Instant) {
        let mut allowances = self.allowances.lock();
        if allowances.len() >= MAX_ALLOWANCES {
            allowances.retain(|_, at| now.duration_since(*at) < ALLOWANCE_TTL);
        }
        if allowances.len() < MAX_ALLOWANCES {
            allowances.insert(key, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::signing::sign;
    use axum::http::HeaderValue;

    fn org(id: &str) -> Organization {
        Organization {
            id: id.into(),
            name: format!("{id} Inc"),
        }
    }

    #[test]
    fn signed_headers() {
        let now = 1_763_553_600_000_i64;
        let headers = |tenant: &str, ts: &str, secret: &str| {
            let mut h = HeaderMap::new();
            h.insert(TENANT_ID, HeaderValue::from_str(tenant).unwrap());
            h.insert(TIMESTAMP, HeaderValue::from_str(ts).unwrap());
            let sig = sign(secret.as_bytes(), tenant, ts);
            h.insert(SIGNATURE, HeaderValue::from_str(&sig).unwrap());
            h
        };
        let ok = |h: &HeaderMap| signed_headers_valid(b"s3cret", h, now, 300_000);
        assert!(ok(&headers("t", &now.to_string(), "s3cret")));
        assert!(ok(&headers("any-tenant", &now.to_string(), "s3cret")));
        assert!(ok(&headers("t", &(now - 300_000).to_string(), "s3cret")));
        assert!(!ok(&headers("t", &(now - 300_001).to_string(), "s3cret")));
        assert!(!ok(&headers("t", &(now + 300_001).to_string(), "s3cret")));
        assert!(!ok(&headers("t", &now.to_string(), "wrong")));
        assert!(!ok(&headers("t", "12e3", "s3cret")));
        let mut missing = headers("t", &now.to_string(), "s3cret");
        missing.remove(SIGNATURE);
        assert!(!ok(&missing));
    }

    #[test]
    fn allowance_rules() {
        let mut cfg = EmulatorConfig::current();
        cfg.memberships = None;
        let t = Tenancy::new(&cfg);
        let default = t.default_tenant().to_owned();
        assert!(t.allowed("alice", &default, false, true));
        assert!(!t.allowed("alice", "org_1", false, true));

        t.set_memberships("bob", vec![org("org_1")]);
        t.set_memberships("carol", vec![org("org_1"), org("org_2")]);
        assert!(t.allowed("bob", "org_1", false, true));
        assert!(!t.allowed("bob", "org_2", false, true));
        assert!(
            !t.allowed("bob", &default, false, true),
            "members lose the default"
        );
        assert!(t.allowed("carol", "org_2", false, true));
        assert!(
            t.allowed("dave", &default, false, true),
            "no organization at all"
        );

        // Granted pairs are remembered; refusals and log-only judgments are not.
        t.set_memberships("bob", vec![]);
        assert!(
            t.allowed("bob", "org_1", false, true),
            "cached for 5 minutes"
        );
        assert!(!t.allowed("erin", "org_9", true, true), "an outage refuses");
        t.set_memberships("erin", vec![org("org_9")]);
        assert!(!t.allowed("erin", "org_9", true, false));
        assert!(
            t.allowed("erin", "org_9", false, false),
            "the refusal was not cached"
        );
        t.set_memberships("erin", vec![]);
        assert!(
            !t.allowed("erin", "org_9", false, true),
            "nor the log-only grant"
        );
    }
}
