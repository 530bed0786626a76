//! The tokens that passed the check, each with the [`Caller`] it made: a client sends the
//! same bearer token on every call, and the same token checked again gives the same answer
//! until it expires, so `Verifier::caller` looks here first (as Envoy's `jwt_authn` caches
//! verified JWTs). A hit skips the whole check (base64, the signature, the claims' JSON,
//! the user key's HMAC: ~48k of a ~405k-instruction `get_note` call, BENCHMARKS.md) and
//! hands out the same shared caller, whose credential key is then computed once per token.
//!
//! - Keyed by the whole token text, compared exactly on a hit: no prefix or short hash that
//!   could land one user on another's entry. Keys are never logged.
//! - An entry holds until the earliest of the token's `exp` under the check's leeway rule
//!   (on the clock the check uses: past it, the entry is dropped and the full check runs,
//!   which gives the real error, counted as before), [`MAX_AGE`] after it passed, and the
//!   next key set fetched from the issuer's JWKS (which may have withdrawn the token's key:
//!   `jwks::JwksCache::generation`).
//! - Only passes are stored; a refused token is checked (and counted) every time.
//! - Bounded by [`MAX_WEIGHT`]: at most [`MAX_ENTRIES`] entries, and fewer when tokens
//!   are large. A full cache evicts; it never refuses, and a miss costs a check and one
//!   insertion.
//!
//! The map is `quick_cache`'s sync cache rather than a hand-written one: sharded locks
//! held only inside each call (never across an await), a scan-resistant eviction (S3-FIFO)
//! that keeps the tokens in use when one-off tokens stream through, weights for a bound in
//! bytes, and nothing else (no background thread, no timers; its own dependencies were
//! already in the tree). `moka` would bring per-entry expiry, but with housekeeping
//! machinery and dependencies this does not need: the deadlines are checked on the hit.

use std::time::Duration;

use quick_cache::{Weighter, sync::Cache};
use tokio::time::Instant;

use crate::call::Caller;

/// How long a passed token is trusted without another check, whatever its `exp`: its
/// answer can change in ways an entry does not see (the JWKS cache fetches an hour-old key
/// set again only when a check asks it for a key, so a key withdrawn without anyone sending
/// an unknown `kid` is only noticed through a check), so every token in use goes through
/// the whole check at least once a minute. A client calling once a second pays one check
/// a minute instead of sixty.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);

/// The most entries held.
pub(crate) const MAX_ENTRIES: u64 = 4096;

/// The most the entries weigh together, in bytes: each entry weighs what it holds (its
/// token twice, as the key and in the `Authorization` value, its scopes, and
/// [`ENTRY_OVERHEAD`]), and at least `MAX_WEIGHT / MAX_ENTRIES` (4 KiB), so the cache holds
/// at most [`MAX_ENTRIES`] entries of typical tokens (up to ~1.8 KiB) and at most ~16 MiB
/// whatever their size (512 tokens of the 16 KiB the check accepts). Full of 1 KiB tokens
/// it holds about 4096 × 2.3 KiB ≈ 9 MiB.
pub(crate) const MAX_WEIGHT: u64 = 16 << 20;

/// What one entry holds besides its token and scopes: the caller's shared value (user key,
/// credential key, header value, scope set), the entry's deadlines, the map's slot.
const ENTRY_OVERHEAD: usize = 256;

/// The cache of passed tokens (see the module docs).
pub(crate) struct TokenCache(Cache<Box<str>, Entry, ByWeight>);

/// A token that passed: the caller it made, and until when that answer holds.
#[derive(Clone)]
struct Entry {
    caller: Caller,
    /// The last second (Unix time, the check's clock) at which the check still passes the
    /// token: its `exp` plus the leeway; `u64::MAX` when the check never reads time.
    valid_through: u64,
    /// When [`MAX_AGE`] is over (monotonic: a wall-clock step does not stretch it).
    stale_at: Instant,
    /// The issuer's key set (`JwksCache::generation`, 0 without one) when the check began.
    key_set: u64,
    /// Its weight, computed once: the weigher runs inside eviction and must be cheap.
    weight: u64,
}

impl Entry {
    fn holds(&self, unix_now: u64, now: Instant, key_set: u64) -> bool {
        unix_now <= self.valid_through && now < self.stale_at && key_set == self.key_set
    }
}

#[derive(Clone)]
struct ByWeight;

impl Weighter<Box<str>, Entry> for ByWeight {
    fn weight(&self, _token: &Box<str>, entry: &Entry) -> u64 {
        entry.weight
    }
}

/// The clock and the rule of the check's `exp` test (jsonwebtoken's: refused when
/// `exp < now - leeway`, so still good while `now <= exp + leeway`).
fn unix_now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl TokenCache {
    pub(crate) fn new() -> Self {
        Self(Cache::with_weighter(
            MAX_ENTRIES as usize,
            MAX_WEIGHT,
            ByWeight,
        ))
    }

    /// The caller `token` made when it passed, while that answer holds under the issuer's
    /// key set `key_set`; an entry past its time is dropped (the caller then runs the full
    /// check).
    pub(crate) fn get(&self, token: &str, key_set: u64) -> Option<Caller> {
        let entry = self.0.get(token)?;
        let (unix_now, now) = (unix_now(), Instant::now());
        if entry.holds(unix_now, now, key_set) {
            return Some(entry.caller);
        }
        // Only if still stale: another request may have stored a fresh answer meanwhile.
        self.0
            .remove_if(token, |e| !e.holds(unix_now, now, key_set));
        None
    }

    /// Keeps that `token` passed and made `caller`, and that the check would pass it again
    /// until `valid_through` (Unix seconds, inclusive) while the issuer's key set is
    /// `key_set` (read before the check began); for [`MAX_AGE`] at most.
    pub(crate) fn remember(&self, token: &str, caller: &Caller, valid_through: u64, key_set: u64) {
        let held = 2 * token.len() + caller.scopes().held_bytes() + ENTRY_OVERHEAD;
        let entry = Entry {
            caller: caller.clone(),
            valid_through,
            stale_at: Instant::now() + MAX_AGE,
            key_set,
            weight: (held as u64).max(MAX_WEIGHT / MAX_ENTRIES),
        };
        self.0.insert(token.into(), entry);
    }

    /// How many entries it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// What they weigh together.
    #[cfg(test)]
    pub(crate) fn weight(&self) -> u64 {
        self.0.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{Scopes, UserKey};

    fn caller(token: &str) -> Caller {
        Caller::checked(token, UserKey::ANONYMOUS, Scopes::default()).unwrap()
    }

    /// More tokens than fit: the cache stays within its count and its weight, whether the
    /// tokens are small (each weighs the floor) or as large as the check accepts.
    #[test]
    fn the_bound_holds() {
        let cache = TokenCache::new();
        for i in 0..2 * MAX_ENTRIES {
            let t = format!("t.{i}.s");
            cache.remember(&t, &caller(&t), u64::MAX, 0);
        }
        assert!(cache.len() as u64 <= MAX_ENTRIES, "{}", cache.len());
        assert!(cache.len() as u64 > MAX_ENTRIES / 2, "{}", cache.len());
        assert!(cache.weight() <= MAX_WEIGHT);

        // A new cache: in this one the small entries, hot, would stay, and the large ones
        // streaming through would evict each other (as one-off tokens should).
        let cache = TokenCache::new();
        let fat = "a".repeat(crate::auth::token::MAX_TOKEN_LEN - 16);
        for i in 0..MAX_ENTRIES {
            let t = format!("{fat}.{i}.s");
            cache.remember(&t, &caller(&t), u64::MAX, 0);
        }
        assert!(cache.weight() <= MAX_WEIGHT, "{}", cache.weight());
        let per_entry = 2 * fat.len() as u64;
        assert!(
            cache.len() as u64 <= MAX_WEIGHT / per_entry,
            "{}",
            cache.len()
        );
        assert!(
            cache.len() as u64 > MAX_WEIGHT / per_entry / 2,
            "{}",
            cache.len()
        );
    }

    /// An answer given under one JWKS key set is not served under the next one.
    #[test]
    fn a_new_key_set_drops_the_answers_given_under_the_old_one() {
        let cache = TokenCache::new();
        let c = caller("a.b.c");
        cache.remember("a.b.c", &c, u64::MAX, 7);
        assert!(cache.get("a.b.c", 7).is_some_and(|hit| hit.same(&c)));
        assert!(cache.get("a.b.c", 8).is_none());
        assert_eq!(cache.len(), 0);
        assert!(cache.get("a.b.c", 7).is_none());
    }

    #[test]
    fn an_entry_weighs_what_it_holds() {
        let cache = TokenCache::new();
        let scopes = Scopes::from_claims(Some(&"a b c".into()), None);
        let t = "b".repeat(10_000);
        let c = Caller::checked(&t, UserKey::ANONYMOUS, scopes).unwrap();
        cache.remember(&t, &c, u64::MAX, 0);
        let want = 2 * 10_000 + 3 * (1 + 48) + ENTRY_OVERHEAD;
        assert_eq!(cache.weight(), want as u64);
    }
}
