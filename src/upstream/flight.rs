//! [`Flights`]: a per-caller cache (keyed by the caller's [`CredentialKey`]) whose misses are
//! fetched single-flight. Sync sessions, backend tokens and resolved tenants all use it: a
//! burst of concurrent calls by one caller makes one request upstream, not one each, and a `429` on that request is shared by the
//! waiters instead of being repeated by each of them in turn.

use std::{
    collections::HashMap,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use super::UpstreamError;
use crate::call::CredentialKey;

struct Entry<V> {
    value: V,
    fresh_until: Instant,
}

struct Slot<V> {
    entry: Mutex<Option<Entry<V>>>,
    /// Held while fetching, so that only one caller fetches.
    fetching: tokio::sync::Mutex<()>,
    /// A rate-limited fetch: the waiters fail with it until then, instead of asking again.
    backoff: Mutex<Option<(Instant, UpstreamError)>>,
}

impl<V: Clone> Slot<V> {
    fn fresh(&self) -> Option<V> {
        let entry = self.entry.lock();
        entry
            .as_ref()
            .filter(|e| e.fresh_until > Instant::now())
            .map(|e| e.value.clone())
    }
}

/// A bounded map from caller to a cached value, fetched single-flight on a miss.
pub(crate) struct Flights<V> {
    slots: Mutex<HashMap<CredentialKey, Arc<Slot<V>>>>,
    cap: usize,
}

impl<V: Clone> Flights<V> {
    /// At most `cap` callers are remembered; past it stale entries go first, then any.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            cap,
        }
    }

    fn slot(&self, key: CredentialKey) -> Arc<Slot<V>> {
        let mut slots = self.slots.lock();
        if slots.len() >= self.cap && !slots.contains_key(&key) {
            let now = Instant::now();
            slots.retain(|_, s| s.entry.lock().as_ref().is_some_and(|e| e.fresh_until > now));
            if slots.len() >= self.cap
                && let Some(k) = slots.keys().next().copied()
            {
                // Still full of live entries: forget one rather than grow.
                slots.remove(&k);
            }
        }
        slots
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Slot {
                    entry: Mutex::new(None),
                    fetching: tokio::sync::Mutex::new(()),
                    backoff: Mutex::new(None),
                })
            })
            .clone()
    }

    /// The cached value, or the one `fetch` gives (kept for the duration it returns).
    pub(crate) async fn get<F, Fut>(&self, key: CredentialKey, fetch: F) -> Result<V, UpstreamError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, Duration), UpstreamError>>,
    {
        let slot = self.slot(key);
        if let Some(v) = slot.fresh() {
            return Ok(v);
        }
        let _fetching = slot.fetching.lock().await;
        // Someone else may have fetched it while this call waited.
        if let Some(v) = slot.fresh() {
            return Ok(v);
        }
        if let Some((until, err)) = slot.backoff.lock().as_ref()
            && *until > Instant::now()
        {
            return Err(err.clone());
        }
        match fetch().await {
            Ok((value, ttl)) => {
                *slot.entry.lock() = Some(Entry {
                    value: value.clone(),
                    fresh_until: Instant::now() + ttl,
                });
                *slot.backoff.lock() = None;
                Ok(value)
            }
            Err(err) => {
                if let Some(secs) = err.retry_after() {
                    let until = Instant::now() + Duration::from_secs(secs);
                    *slot.backoff.lock() = Some((until, err.clone()));
                }
                Err(err)
            }
        }
    }

    /// Forgets the caller's value if `stale` says it is the one that failed (another call
    /// may already have replaced it).
    pub(crate) fn forget_if(&self, key: CredentialKey, stale: impl FnOnce(&V) -> bool) {
        let slot = self.slots.lock().get(&key).cloned();
        if let Some(slot) = slot {
            let mut entry = slot.entry.lock();
            if entry.as_ref().is_some_and(|e| stale(&e.value)) {
                *entry = None;
            }
        }
    }

    /// Changes the caller's cached value in place, if there is one.
    pub(crate) fn modify(&self, key: CredentialKey, change: impl FnOnce(&mut V)) {
        let slot = self.slots.lock().get(&key).cloned();
        if let Some(slot) = slot
            && let Some(e) = slot.entry.lock().as_mut()
        {
            change(&mut e.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_misses_fetch_once_and_a_rate_limit_is_shared() {
        let flights = Arc::new(Flights::<u32>::new(8));
        let fetches = Arc::new(AtomicUsize::new(0));
        let key = CredentialKey::of(b"Bearer a");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (flights, fetches) = (flights.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .get(key, || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok((7, Duration::from_secs(60)))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 7);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        let other = CredentialKey::of(b"Bearer b");
        let limited = || async {
            Err::<(u32, Duration), _>(UpstreamError::Status {
                status: http::StatusCode::TOO_MANY_REQUESTS,
                message: "Rate limit exceeded".into(),
                body: None,
                retry_after: Some(30),
            })
        };
        assert!(flights.get(other, limited).await.is_err());
        // The next caller gets the same answer without a fetch.
        let again = flights
            .get(other, || async {
                fetches.fetch_add(1, Ordering::SeqCst);
                Ok((1, Duration::from_secs(1)))
            })
            .await;
        assert!(matches!(again, Err(e) if e.retry_after() == Some(30)));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        flights.forget_if(key, |v| *v == 7);
        let refetched = flights
            .get(key, || async { Ok((8, Duration::from_secs(60))) })
            .await;
        assert_eq!(refetched.unwrap(), 8);
    }
}
