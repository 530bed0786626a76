//! The RS256 keys of the OIDC provider, as the API keeps them (contract §1): fetched from
//! the JWKS URL, cached for an hour, and refetched whenever a token names an unknown `kid`.
//! A failed fetch keeps the keys already held. Which keys are usable (RSA, `use` `sig`, a
//! `kid`) is decided by the gateway's own JWKS parser, the one home of that rule.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use parking_lot::RwLock;

use crate::auth::jwks::{FETCH_TIMEOUT, MAX_JWKS_BYTES, parse_jwks};

/// How long a fetched key set is trusted before the next token triggers a refetch.
const CACHE_TTL: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched: Option<Instant>,
}

/// One JWKS URL's keys.
pub(crate) struct Jwks {
    url: String,
    /// `None` when the TLS backend could not initialize: every fetch then fails and RS256
    /// tokens are refused, which is what an API without its keys does too.
    client: Option<reqwest::Client>,
    keys: RwLock<KeySet>,
    /// Makes fetches single-flight: concurrent requests for an unknown `kid` share one.
    fetching: tokio::sync::Mutex<()>,
}

impl Jwks {
    pub(crate) fn new(url: String) -> Self {
        crate::upstream::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .ok();
        Self {
            url,
            client,
            keys: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let set = self.keys.read();
        let fresh = set.fetched.is_some_and(|t| t.elapsed() < CACHE_TTL);
        (set.keys.get(kid).cloned(), fresh)
    }

    /// The key for `kid`, fetching the set when it is stale or lacks that `kid`.
    pub(crate) async fn key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        if let (Some(key), true) = self.cached(kid) {
            return Some(key);
        }
        let started = Instant::now();
        let _one_at_a_time = self.fetching.lock().await;
        // Someone else fetched while we waited: use their result.
        let refreshed = self.keys.read().fetched.is_some_and(|t| t >= started);
        if !refreshed && let Some(keys) = self.fetch().await {
            *self.keys.write() = KeySet {
                keys,
                fetched: Some(Instant::now()),
            };
        }
        self.cached(kid).0
    }

    async fn fetch(&self) -> Option<HashMap<String, Arc<DecodingKey>>> {
        let mut resp = self.client.as_ref()?.get(&self.url).send().await.ok()?;
        if !resp.status().is_success() {
            tracing::warn!(status = %resp.status(), "emulator: JWKS fetch refused");
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.ok()? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body).ok()
    }
}
