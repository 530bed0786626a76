//! Small wire formats: timestamps, list cursors, `If-Match`, `limit`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat};
use uuid::Uuid;

/// The list size when `limit` is absent, non-numeric or not positive.
pub(crate) const DEFAULT_LIMIT: usize = 500;
/// The largest page the API ever returns.
pub(crate) const MAX_LIMIT: usize = 1000;

/// RFC 3339 in UTC with milliseconds (`2025-01-02T03:04:05.678Z`): the API's timestamps.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The opaque cursor pointing just after `(ms, uid)`: base64url (no padding) of
/// `"<updatedAtMs>|<uuid>"`, as the real API makes it today.
pub(crate) fn encode_cursor(ms: i64, uid: &Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ms}|{}", uid.hyphenated()))
}

/// The position a cursor names, or `None` when it cannot be decoded (the caller then
/// restarts from the beginning, silently, like the API).
pub(crate) fn decode_cursor(cursor: &str) -> Option<(i64, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (ms, uid) = text.split_once('|')?;
    Some((ms.parse().ok()?, Uuid::parse_str(uid).ok()?))
}

/// What an `If-Match` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IfMatch {
    /// `*`: any current version.
    Any,
    /// A version number (`3`, `"3"`, `W/"3"`).
    Version(i64),
    /// Something that names no version at all; it can never match, so it gets the same
    /// `412` as a wrong version (the raw text goes into the message).
    Unparseable(String),
}

impl IfMatch {
    /// Parses the header value: quotes and a weak `W/` prefix are tolerated.
    pub fn parse(raw: &str) -> Self {
        let trimmed = raw.trim();
        if trimmed == "*" {
            return Self::Any;
        }
        let unweak = trimmed
            .strip_prefix("W/")
            .or_else(|| trimmed.strip_prefix("w/"))
            .unwrap_or(trimmed);
        let unquoted = unweak
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(unweak);
        match unquoted.trim().parse() {
            Ok(v) => Self::Version(v),
            Err(_) => Self::Unparseable(trimmed.to_owned()),
        }
    }

    /// `None` when `current` satisfies it, else the `412` message.
    pub fn mismatch(&self, current: i64) -> Option<String> {
        match self {
            Self::Any => None,
            Self::Version(v) if *v == current => None,
            Self::Version(v) => Some(format!("version mismatch: expected {v}, current {current}")),
            Self::Unparseable(raw) => Some(format!(
                "version mismatch: expected {raw}, current {current}"
            )),
        }
    }
}

/// `limit`: default 500, capped at 1000; non-positive or non-numeric falls back to the default.
pub(crate) fn parse_limit(raw: Option<&str>) -> usize {
    match raw.and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(n) if n > 0 => (n as u64).min(MAX_LIMIT as u64) as usize,
        _ => DEFAULT_LIMIT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let uid = Uuid::new_v4();
        let c = encode_cursor(1_700_000_000_123, &uid);
        assert!(!c.contains('='), "no padding: {c}");
        assert_eq!(decode_cursor(&c), Some((1_700_000_000_123, uid)));
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&c).unwrap(),
            format!("1700000000123|{uid}").into_bytes()
        );
        for bad in [
            "",
            "!!!",
            "bm90LWEtY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("12|nope"),
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn if_match_forms() {
        assert_eq!(IfMatch::parse("3"), IfMatch::Version(3));
        assert_eq!(IfMatch::parse("\"3\""), IfMatch::Version(3));
        assert_eq!(IfMatch::parse(" W/\"12\" "), IfMatch::Version(12));
        assert_eq!(IfMatch::parse("*"), IfMatch::Any);
        assert_eq!(IfMatch::parse("abc"), IfMatch::Unparseable("abc".into()));
        assert_eq!(IfMatch::parse("3").mismatch(3), None);
        assert_eq!(
            IfMatch::parse("\"2\"").mismatch(3).as_deref(),
            Some("version mismatch: expected 2, current 3")
        );
        assert!(IfMatch::parse("abc").mismatch(1).is_some());
        assert_eq!(IfMatch::Any.mismatch(9), None);
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None), 500);
        assert_eq!(parse_limit(Some("2")), 2);
        assert_eq!(parse_limit(Some("5000")), 1000);
        assert_eq!(parse_limit(Some("0")), 500);
        assert_eq!(parse_limit(Some("-4")), 500);
        assert_eq!(parse_limit(Some("ten")), 500);
    }

    #[test]
    fn timestamps_have_millis() {
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
