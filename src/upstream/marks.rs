//! The marks the layers of the upstream chain read off a request: header names, and the
//! markers a request carries in its extensions (beside the caller's
//! [`crate::call::CredentialKey`], which `client.rs` puts there too), and the one rule for
//! a URL below the API's base. A leaf: it imports nothing from the chain, so the layers can
//! all import it without circles.

/// Header carrying the per-call correlation id, to the API and back.
pub(crate) const CORRELATION_ID: &str = "x-correlation-id";
/// Header naming the sync session.
pub(crate) const SYNC_SESSION: &str = "x-sync-session";
/// Header carrying the sync epoch.
pub(crate) const SYNC_EPOCH: &str = "x-sync-epoch";

/// Marks a request to an entity route: it needs a sync session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntityRequest;

/// Marks a request that may be sent again after a `502`/`503`/`504` (see `retry.rs`):
/// sending it twice leaves what sending it once leaves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Repeatable;

/// Marks a request the tenant layer leaves alone: the token exchange and the tenant
/// lookup, which need no tenant header (and which the tenant itself may depend on).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoTenant;

/// `path` (starting with `/`) below the base URL, keeping any path prefix of the base (an
/// API mounted below `/api`, say).
pub(crate) fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url
}
