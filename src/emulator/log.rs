//! The request log: what each request carried and how the emulator judged and answered it.

use std::collections::VecDeque;

use axum::http::HeaderMap;
use parking_lot::Mutex;

/// How many requests the log keeps; older ones are dropped first.
pub(crate) const LOG_CAPACITY: usize = 100_000;

/// One request as the emulator saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every header as received, names lower-case, values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The caller's `sub` when its token (or dev-mode `X-Debug-Sub`) was valid.
    pub user: Option<String>,
    /// `"backend"` for a valid backend token (current generation), `"user"` for another
    /// valid token, `None` otherwise (no token, a bad one, or `X-Debug-Sub`).
    pub token_kind: Option<String>,
    /// `X-TB-Tenant-ID` as received.
    pub tenant: Option<String>,
    /// seed: all three tenant headers present, the timestamp within the allowed skew and
    /// the signature valid (always `false` when the emulator has no tenant secret: nothing
    /// could be verified). current: `X-TB-Tenant-ID` present and allowed for `user`.
    pub tenant_valid: bool,
    /// `X-Sync-Session` as sent.
    pub session_id: Option<String>,
    /// That session existed, was unexpired and belonged to `user` when the request arrived.
    pub session_valid: bool,
    /// The status the emulator answered; `499` when the client went away first.
    pub status: u16,
    /// The correlation id of the exchange (the client's, or the one made up for it).
    pub correlation_id: String,
    /// Arrival time, Unix milliseconds.
    pub at_ms: i64,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Copies the headers of a request (`HeaderName`s are already lower-case).
    pub(crate) fn copy_headers(headers: &HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect()
    }
}

/// A bounded, oldest-first log.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<VecDeque<RecordedRequest>>,
}

impl RequestLog {
    pub(crate) fn push(&self, r: RecordedRequest) {
        let mut entries = self.entries.lock();
        if entries.len() >= LOG_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(r);
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.entries.lock().iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
    }
}
