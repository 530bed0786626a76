//! The OIDC issuer's signing keys (JWKS), fetched lazily and cached by `kid`, from the
//! configured JWKS URL or from the `jwks_uri` the issuer's metadata names (see
//! `discovery`; that answer is cached too, and read again with the keys once it is an
//! hour old or the keys could not be fetched from it).
//!
//! Anyone can send a token with a made-up `kid`, so an unknown `kid` must not turn into a
//! fetch per request: refreshes are single-flight (one at a time, behind an async mutex)
//! and at most one per `min_interval`. A failed refresh keeps the keys we had, so an
//! issuer outage does not log everybody out. A successful one replaces the whole set, so a
//! key the issuer withdrew stops verifying tokens.

use std::{collections::HashMap, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    DecodingKey,
    jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse},
};
use parking_lot::RwLock;
// tokio's clock, not std's: the same, except that tests can pause and advance it to check
// the refresh limits without waiting for them.
use tokio::time::Instant;

pub use super::fetch::FETCH_TIMEOUT;
pub(crate) use super::fetch::JwksError;
use super::fetch::get_bounded;
/// Largest JWKS document read; real ones are a few KiB.
pub(crate) const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most keys kept from one document (bounds memory whatever the issuer serves).
pub(crate) const MAX_KEYS: usize = 64;
/// Keys older than this are refreshed on next use (subject to the same rate limit), so a
/// withdrawn key does not stay trusted for the life of the process.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(3600);
/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum JwksSource {
    /// `TOOLBRIDGE_JWKS_URL`: this URL, always.
    Url(reqwest::Url),
    /// The `jwks_uri` of this issuer's metadata.
    Issuer(reqwest::Url),
}

/// A `jwks_uri` read from the issuer's metadata, and when.
struct Discovered {
    url: reqwest::Url,
    at: Option<Instant>,
}

struct KeySet {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    /// Counts the sets fetched: see [`JwksCache::generation`].
    generation: u64,
}

/// The cached key set of one JWKS URL. Cheap to share behind an `Arc`.
pub(crate) struct JwksCache {
    source: JwksSource,
    /// For [`JwksSource::Issuer`]: the last `jwks_uri` found; `at: None` once it must be
    /// read again. Only touched by the refresh holding `last_attempt`.
    discovered: parking_lot::Mutex<Option<Discovered>>,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// Time of the last fetch attempt; the mutex makes refreshes single-flight.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    min_interval: Duration,
}

impl JwksCache {
    /// A cache for `source`, refreshed at most once per `min_interval` (at least one second).
    pub(crate) fn new(source: JwksSource, client: reqwest::Client, min_interval: Duration) -> Self {
        Self {
            source,
            discovered: parking_lot::Mutex::new(None),
            client,
            keys: RwLock::new(Arc::new(KeySet {
                keys: HashMap::new(),
                fetched_at: None,
                generation: 0,
            })),
            last_attempt: tokio::sync::Mutex::new(None),
            min_interval: min_interval.max(Duration::from_secs(1)),
        }
    }

    /// The key for `kid`, refreshing the set when the `kid` is unknown or the set is old.
    /// `None` when no such key exists (or a refresh is not allowed yet).
    pub(crate) async fn key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let set = self.keys.read().clone();
        let fresh = set.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE);
        if let Some(k) = set.keys.get(kid)
            && fresh
        {
            return Some(k.clone());
        }
        self.refresh().await;
        self.keys.read().keys.get(kid).cloned()
    }

    /// Which key set is in use: it changes with every set fetched (which may have withdrawn
    /// a key), so an answer given under an earlier set is not reused (`token_cache`).
    pub(crate) fn generation(&self) -> u64 {
        self.keys.read().generation
    }

    /// Fetches the set unless another task just did (or is doing it: we wait for it) or
    /// the last attempt is less than `min_interval` ago.
    async fn refresh(&self) {
        let mut last = self.last_attempt.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.min_interval) {
            return;
        }
        *last = Some(Instant::now());
        let fetched = match self.jwks_url().await {
            Ok(url) => self.fetch(&url).await.map_err(|e| (url.to_string(), e)),
            Err(e) => Err(("the issuer's metadata".to_owned(), e)),
        };
        match fetched {
            Ok(keys) => {
                metrics::counter!(crate::telemetry::names::JWKS_FETCHES, "outcome" => "ok")
                    .increment(1);
                tracing::debug!(keys = keys.len(), "JWKS refreshed");
                let mut set = self.keys.write();
                *set = Arc::new(KeySet {
                    keys,
                    fetched_at: Some(Instant::now()),
                    generation: set.generation + 1,
                });
            }
            Err((from, e)) => {
                metrics::counter!(crate::telemetry::names::JWKS_FETCHES, "outcome" => "error")
                    .increment(1);
                // The keys may have moved: read the issuer's metadata again next time.
                if let Some(d) = self.discovered.lock().as_mut() {
                    d.at = None;
                }
                tracing::warn!(error = %e, from = %from, "JWKS refresh failed; keeping the previous keys");
            }
        }
    }

    /// The URL to fetch the keys from: the configured one, or the issuer's `jwks_uri`
    /// (read again when an hour old or after a failed fetch; the last one found is used
    /// while the metadata cannot be read).
    async fn jwks_url(&self) -> Result<reqwest::Url, JwksError> {
        let issuer = match &self.source {
            JwksSource::Url(url) => return Ok(url.clone()),
            JwksSource::Issuer(issuer) => issuer,
        };
        let known = self.discovered.lock().as_ref().map(|d| {
            let fresh = d.at.is_some_and(|t| t.elapsed() < MAX_AGE);
            (d.url.clone(), fresh)
        });
        if let Some((url, true)) = known {
            return Ok(url);
        }
        match super::discovery::discover(&self.client, issuer).await {
            Ok(url) => {
                tracing::debug!(jwks_uri = %url, "issuer metadata read");
                *self.discovered.lock() = Some(Discovered {
                    url: url.clone(),
                    at: Some(Instant::now()),
                });
                Ok(url)
            }
            Err(e) => match known {
                Some((url, _)) => {
                    tracing::warn!(error = %e, "issuer metadata unreadable; using the jwks_uri read before");
                    Ok(url)
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(
        &self,
        url: &reqwest::Url,
    ) -> Result<HashMap<String, Arc<DecodingKey>>, JwksError> {
        parse_jwks(&get_bounded(&self.client, url, MAX_JWKS_BYTES).await?)
    }
}

/// The usable keys of a JWKS document: RSA signing keys with a `kid`, meant for RS256 (or
/// with no `alg`), at least 2048 bits. Other entries are skipped, not fatal: issuers publish
/// encryption and EC keys next to the ones we need.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, JwksError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(body).map_err(|e| JwksError::Invalid(e.to_string()))?;
    let mut keys = HashMap::new();
    for raw in doc.keys {
        if keys.len() >= MAX_KEYS {
            break;
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else {
            continue;
        };
        if let Some((kid, key)) = usable(&jwk) {
            keys.insert(kid, Arc::new(key));
        }
    }
    if keys.is_empty() {
        return Err(JwksError::Invalid("no usable RS256 signing key".into()));
    }
    Ok(keys)
}

fn usable(jwk: &Jwk) -> Option<(String, DecodingKey)> {
    let common = &jwk.common;
    let kid = common.key_id.clone().filter(|k| !k.is_empty())?;
    if !matches!(common.public_key_use, None | Some(PublicKeyUse::Signature)) {
        return None;
    }
    if !matches!(common.key_algorithm, None | Some(KeyAlgorithm::RS256)) {
        return None;
    }
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return None;
    };
    let n = URL_SAFE_NO_PAD.decode(&rsa.n).ok()?;
    let significant = n.iter().skip_while(|b| **b == 0).count();
    if significant < MIN_RSA_MODULUS_BYTES {
        return None;
    }
    let key = DecodingKey::from_rsa_components(&rsa.n, &rsa.e).ok()?;
    Some((kid, key))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use serde_json::json;

    fn rsa_jwk(kid: &str, n_bytes: usize) -> serde_json::Value {
        let mut n = vec![0xC5u8; n_bytes];
        n[n_bytes - 1] = 0x01;
        json!({"kty": "RSA", "kid": kid, "n": URL_SAFE_NO_PAD.encode(&n), "e": "AQAB"})
    }

    #[test]
    fn keeps_only_rsa_signing_keys_with_kid() {
        let mut enc = rsa_jwk("enc", 256);
        enc["use"] = json!("enc");
        let mut ps = rsa_jwk("ps", 256);
        ps["alg"] = json!("PS256");
        let mut nokid = rsa_jwk("", 256);
        nokid.as_object_mut().unwrap().remove("kid");
        let doc = json!({"keys": [
            rsa_jwk("good", 256), rsa_jwk("small", 128), enc, ps, nokid,
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "weird"}, 42
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["good"]);
    }

    #[test]
    fn empty_or_garbage_documents_are_errors() {
        assert!(parse_jwks(b"{\"keys\": []}").is_err());
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(b"{}").is_err());
    }

    /// A JWKS endpoint on a real socket (127.0.0.1:0) that counts its fetches.
    async fn counting_jwks(doc: serde_json::Value) -> (reqwest::Url, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().route(
            "/keys",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/keys", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url.parse().unwrap(), hits)
    }

    /// The limiter on tokio's paused clock: the socket is real, the time is advanced by
    /// hand, so the bounds are checked exactly and without waiting for them.
    #[tokio::test(start_paused = true)]
    async fn refreshes_wait_out_the_interval_and_old_keys_are_fetched_again() {
        crate::upstream::install_crypto_provider();
        let (url, hits) = counting_jwks(json!({"keys": [rsa_jwk("a", 256)]})).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let interval = Duration::from_secs(10);
        let cache = JwksCache::new(JwksSource::Url(url), client, interval);
        let fetches = || hits.load(Ordering::SeqCst);
        assert!(cache.key("a").await.is_some());
        assert_eq!(fetches(), 1, "the first use fetches");
        for i in 0..20 {
            assert!(cache.key(&format!("unknown-{i}")).await.is_none());
        }
        assert_eq!(
            fetches(),
            1,
            "unknown kids within the interval fetch nothing"
        );
        tokio::time::advance(interval - Duration::from_millis(1)).await;
        assert!(cache.key("unknown").await.is_none());
        assert_eq!(fetches(), 1, "a millisecond short of the interval");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(cache.key("unknown").await.is_none());
        assert_eq!(fetches(), 2, "one refresh once the interval is over");

        // A known key comes from the cache until the set is MAX_AGE old, then it is
        // fetched again (a withdrawn key must not stay trusted forever).
        tokio::time::advance(MAX_AGE - Duration::from_secs(1)).await;
        assert!(cache.key("a").await.is_some());
        assert_eq!(fetches(), 2);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.key("a").await.is_some());
        assert_eq!(fetches(), 3, "a set MAX_AGE old is refreshed on use");
    }

    #[test]
    fn key_count_is_bounded() {
        let keys: Vec<_> = (0..200).map(|i| rsa_jwk(&format!("k{i}"), 256)).collect();
        let doc = json!({ "keys": keys });
        assert_eq!(
            parse_jwks(doc.to_string().as_bytes()).unwrap().len(),
            MAX_KEYS
        );
    }
}
