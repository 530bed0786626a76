//! [`Caller`]: who one MCP request comes from. The token check makes it once per token
//! (`auth::Verifier::caller`, called by `http::edge`; the next request with the same token
//! gets the same shared value from its cache of passed tokens); everything after it borrows
//! that value: the user's shares (`http::fair`, by [`Caller::user`]), the scope check (by
//! [`Caller::scopes`]), the MCP handler, which finds it in the request rmcp hands over (rmcp
//! moves the request's parts into the handler's context, it does not copy them), and the
//! upstream chain (by [`Caller::authorization`] and [`Caller::credential_key`]).
//!
//! The two keys derived from a caller are two different things, so two types: the
//! [`UserKey`] names the *user* (the token's `sub`, hashed), whatever token they use; the
//! [`CredentialKey`] names the *token*. Limits and logs count users; the caches of the
//! upstream chain (sync session, exchanged backend token, resolved tenant) belong to a
//! token, because in `passthrough` mode only the API verifies it: keyed by the unverified
//! `sub`, a forged token naming someone's `sub` would be sent out with that person's
//! backend token.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderValue;
use serde_json::Value;
use sha2::Sha256;

use crate::{config::Config, secret::Secret};

/// The caller of one request (or of every call over stdio). Not `Debug`-printed with its
/// token: its `Debug` shows the user key only. Cheap to clone (one shared value): the token
/// check hands out the same caller for every request with the same token
/// (`auth/token_cache.rs`), so its credential key is computed once per token, not per
/// request.
#[derive(Clone)]
pub(crate) struct Caller(Arc<Held>);

/// What a [`Caller`] holds.
struct Held {
    /// The user, for the per-user shares and the logs.
    user: UserKey,
    /// What the token may do (`TOOLBRIDGE_ENFORCE_SCOPES`).
    scopes: Scopes,
    /// The `Authorization` value sent to the API, in canonical `Bearer` form, marked
    /// sensitive (so `http`'s own `Debug` prints `Sensitive`, never the token). Cloning it
    /// for a request shares its bytes.
    authorization: HeaderValue,
    /// The SHA-256 of `authorization`, made by the first API request that needs it (a
    /// request the edge refuses, or a `tools/list`, never does).
    credential_key: OnceLock<CredentialKey>,
}

impl Caller {
    /// The caller of `token` (what followed `Bearer `), once the token check has passed it,
    /// with the user and scopes it found in it. `None` when `token` cannot be a header value
    /// (a token read from a header and checked for shape always can).
    pub(crate) fn checked(token: &str, user: UserKey, scopes: Scopes) -> Option<Self> {
        // Forwarded in canonical form: the API matches the scheme case-sensitively. Built
        // at its exact length, so the header value takes the buffer over without a copy.
        let mut value = String::with_capacity("Bearer ".len() + token.len());
        value.push_str("Bearer ");
        value.push_str(token);
        let mut authorization = HeaderValue::from_maybe_shared(Bytes::from(value)).ok()?;
        authorization.set_sensitive(true);
        Some(Self(Arc::new(Held {
            user,
            scopes,
            authorization,
            credential_key: OnceLock::new(),
        })))
    }

    /// The caller of a configured `Authorization` value that no edge checked (stdio's
    /// `TOOLBRIDGE_TOKEN`, `check --token`, the readiness probe): anonymous (no share limits
    /// it) and without scopes (no scope check runs for it). `None` when the value cannot be
    /// a header value.
    pub(crate) fn configured(authorization: &Secret) -> Option<Self> {
        let mut authorization = HeaderValue::from_str(authorization.expose()).ok()?;
        authorization.set_sensitive(true);
        Some(Self(Arc::new(Held {
            user: UserKey::ANONYMOUS,
            scopes: Scopes::default(),
            authorization,
            credential_key: OnceLock::new(),
        })))
    }

    /// The user, as shares and logs know them.
    pub(crate) fn user(&self) -> UserKey {
        self.0.user
    }

    /// The token's scopes.
    pub(crate) fn scopes(&self) -> &Scopes {
        &self.0.scopes
    }

    /// The `Authorization` value to send to the API (marked sensitive).
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.0.authorization
    }

    /// The key of this caller's entries in the upstream caches.
    pub(crate) fn credential_key(&self) -> CredentialKey {
        *self
            .0
            .credential_key
            .get_or_init(|| CredentialKey::of(self.0.authorization.as_bytes()))
    }

    /// Whether `self` and `other` are the same value (one made from the other by cloning),
    /// not two callers that happen to agree: how the token cache's tests see a hit.
    #[cfg(test)]
    pub(crate) fn same(&self, other: &Caller) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.0.user)
            .finish_non_exhaustive()
    }
}

/// A user as limits and logs know them: an HMAC of the token's `sub` (keyed from the
/// deployment's tenant secret, so it is stable across restarts and cannot be reversed by
/// guessing subs).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct UserKey([u8; 16]);

impl UserKey {
    /// Requests without a token (when the gateway does not require one), and configured
    /// tokens, which no edge checked.
    pub(crate) const ANONYMOUS: UserKey = UserKey([0; 16]);
}

impl std::fmt::Display for UserKey {
    /// The first 12 hex digits: enough to tell users apart in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Self::ANONYMOUS {
            return f.write_str("anonymous");
        }
        f.write_str(&hex::encode(&self.0[..6]))
    }
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({self})")
    }
}

/// The key [`UserKey`]s are made with, derived once from the deployment's tenant secret.
#[derive(Clone)]
pub(crate) struct UserKeyring(Hmac<Sha256>);

impl UserKeyring {
    /// The keyring of the deployment `cfg` describes.
    pub(crate) fn new(cfg: &Config) -> Self {
        let mut derive =
            Hmac::<Sha256>::new_from_slice(cfg.tenant_header_secret.expose().as_bytes())
                .expect("HMAC takes any key length");
        derive.update(b"toolbridge-mcp user key v1");
        let key = derive.finalize().into_bytes();
        Self(Hmac::new_from_slice(&key).expect("HMAC takes any key length"))
    }

    /// The key of the user `sub`.
    pub(crate) fn key(&self, sub: &str) -> UserKey {
        let mut mac = self.0.clone();
        mac.update(sub.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        UserKey(key)
    }
}

/// A caller's credential as the key of the upstream caches (session, backend token,
/// tenant): a SHA-256 of the whole `Authorization` value, never the value itself. Per
/// token, not per user: see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CredentialKey([u8; 32]);

impl CredentialKey {
    /// The key of a credential (the whole `Authorization` value).
    pub(crate) fn of(credential: &[u8]) -> Self {
        use sha2::Digest;
        Self(Sha256::digest(credential).into())
    }
}

/// The scopes a token carries. Both the OAuth `scope` claim (one space-separated string,
/// RFC 9068) and `scp` (an array, as Okta writes it, or a string, as Entra ID does) count.
/// A claim of any other type counts as no scopes: a malformed claim can only take rights
/// away, never add them. Which scope a tool needs is `auth::scopes`'s business.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scopes(std::collections::BTreeSet<String>);

impl Scopes {
    /// Reads the `scope` and `scp` claim values.
    pub(crate) fn from_claims(scope: Option<&Value>, scp: Option<&Value>) -> Self {
        let mut set = std::collections::BTreeSet::new();
        for claim in [scope, scp].into_iter().flatten() {
            match claim {
                Value::String(s) => set.extend(s.split_ascii_whitespace().map(str::to_owned)),
                Value::Array(items) => set.extend(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .flat_map(str::split_ascii_whitespace)
                        .map(str::to_owned),
                ),
                _ => {}
            }
        }
        Self(set)
    }

    /// Whether `scope` is among them.
    pub(crate) fn has(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Roughly the heap they hold: each scope's text, its `String` and its share of the
    /// set's nodes. What a cache that keeps them weighs them at (a token in `passthrough`
    /// mode, which anyone can write, may carry thousands).
    pub(crate) fn held_bytes(&self) -> usize {
        self.0.iter().map(|s| s.len() + 48).sum()
    }

    /// Whether there are none.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(secret: &str) -> UserKeyring {
        UserKeyring::new(&Config {
            tenant_header_secret: Secret::new(secret),
            ..Config::default()
        })
    }

    #[test]
    fn keys_are_stable_distinct_and_print_no_sub() {
        let u = keyring("s");
        let who = |sub: &str| u.key(sub);
        let (alice, bob) = (who("alice"), who("bob"));
        assert_eq!(alice, who("alice"));
        assert_ne!(alice, bob);
        assert_ne!(alice, UserKey::ANONYMOUS);
        let shown = alice.to_string();
        assert_eq!(shown.len(), 12);
        assert!(!shown.contains("alice"));
        assert_eq!(UserKey::ANONYMOUS.to_string(), "anonymous");
        // Another deployment (another tenant secret) hashes the same sub differently.
        assert_ne!(keyring("t").key("alice"), alice);
    }

    /// The caller of a checked token sends it in canonical form, marked sensitive, and
    /// names it by the same key as a configured caller with the same value; nothing of the
    /// token shows in its `Debug`.
    #[test]
    fn a_caller_forwards_its_token_and_never_prints_it() {
        let user = keyring("s").key("alice");
        let checked = Caller::checked("a.b.c", user, Scopes::default()).unwrap();
        assert_eq!(checked.authorization().as_bytes(), b"Bearer a.b.c");
        assert!(checked.authorization().is_sensitive());
        assert_eq!(checked.user(), user);
        let configured = Caller::configured(&Secret::new("Bearer a.b.c")).unwrap();
        assert_eq!(configured.user(), UserKey::ANONYMOUS);
        assert_eq!(checked.credential_key(), configured.credential_key());
        assert_eq!(checked.credential_key(), CredentialKey::of(b"Bearer a.b.c"));
        assert!(!format!("{checked:?}").contains("a.b.c"));
        assert!(Caller::configured(&Secret::new("Bearer a\nb")).is_none());
        assert!(Caller::checked("a\nb", user, Scopes::default()).is_none());
    }
}
