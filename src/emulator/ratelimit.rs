//! The per-user token bucket of contract section 3, and the headers it answers with.

use std::time::Instant;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::config::RateLimit;

/// One user's bucket. It lives inside that user's data, under the same lock, so the rate
/// limit costs no extra map lookup.
#[derive(Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The outcome of one [`Bucket::take`], enough to write every rate-limit header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verdict {
    pub(crate) allowed: bool,
    /// Whole tokens left after this request.
    pub(crate) remaining: u32,
    /// Seconds until the next token (at least 1), for `Retry-After`.
    pub(crate) retry_after_secs: u64,
    /// Unix seconds at which the bucket is full again, for `X-RateLimit-Reset`.
    pub(crate) reset_unix: i64,
    pub(crate) limit: RateLimit,
}

impl Bucket {
    /// A full bucket: a new user may burst straight away.
    pub(crate) fn new(limit: &RateLimit, now: Instant) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Refills for the time elapsed, then takes one token if there is one.
    pub(crate) fn take(&mut self, limit: &RateLimit, now: Instant, now_unix_ms: i64) -> Verdict {
        let rate = f64::from(limit.per_minute.max(1)) / 60.0;
        let capacity = f64::from(limit.burst.max(1));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let to_full_ms = ((capacity - self.tokens) / rate * 1000.0).ceil() as i64;
        let to_next = ((1.0 - self.tokens) / rate).ceil().max(1.0) as u64;
        Verdict {
            allowed,
            remaining: self.tokens.floor() as u32,
            retry_after_secs: to_next,
            reset_unix: (now_unix_ms + to_full_ms + 999) / 1000,
            limit: *limit,
        }
    }
}

impl Verdict {
    /// A refusal with a fixed `Retry-After`, for the injected `RateLimited` fault.
    pub(crate) fn refused(limit: RateLimit, retry_after_secs: u64, now_unix_ms: i64) -> Self {
        Self {
            allowed: false,
            remaining: 0,
            retry_after_secs,
            reset_unix: now_unix_ms / 1000 + retry_after_secs as i64,
            limit,
        }
    }

    /// Writes `X-RateLimit-Limit/-Remaining/-Reset/-Burst`, plus `Retry-After` on refusal.
    /// The real API sets the four informational headers on every limited response,
    /// successes included, so the emulator does too.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        let mut put = |name: &'static str, value: u64| {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        };
        put("x-ratelimit-limit", u64::from(self.limit.per_minute));
        put("x-ratelimit-remaining", u64::from(self.remaining));
        put("x-ratelimit-reset", self.reset_unix.max(0) as u64);
        put("x-ratelimit-burst", u64::from(self.limit.burst));
        if !self.allowed {
            put("retry-after", self.retry_after_secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refusal_then_refill() {
        let limit = RateLimit {
            per_minute: 60,
            burst: 2,
        };
        let t0 = Instant::now();
        let mut b = Bucket::new(&limit, t0);
        assert!(b.take(&limit, t0, 0).allowed);
        let second = b.take(&limit, t0, 0);
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        let refused = b.take(&limit, t0, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.reset_unix, 2, "two tokens at 1/s");
        // One second later exactly one token is back.
        let later = t0 + Duration::from_secs(1);
        assert!(b.take(&limit, later, 1000).allowed);
        assert!(!b.take(&limit, later, 1000).allowed);
    }

    #[test]
    fn headers_on_refusal() {
        let v = Verdict::refused(RateLimit::default(), 7, 10_000);
        let mut h = HeaderMap::new();
        v.write_headers(&mut h);
        assert_eq!(h["retry-after"], "7");
        assert_eq!(h["x-ratelimit-limit"], "600");
        assert_eq!(h["x-ratelimit-remaining"], "0");
        assert_eq!(h["x-ratelimit-reset"], "17");
        assert_eq!(h["x-ratelimit-burst"], "120");
    }
}
