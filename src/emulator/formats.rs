//! Small wire formats: the clock, timestamps, list cursors, `If-Match`, `limit`, and
//! request bodies read the way the API's Go decoder reads them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The list size when `limit` is absent, non-numeric or not positive.
pub(crate) const DEFAULT_LIMIT: usize = 500;
/// The largest page the API ever returns.
pub(crate) const MAX_LIMIT: usize = 1000;

/// The current Unix time in milliseconds (the one clock of the emulator).
pub(crate) fn now_ms() -> i64 {
    crate::upstream::signing::now_millis()
}

/// RFC 3339 in UTC, as Go's `time.RFC3339Nano` writes it: the fraction's trailing zeros
/// dropped (`...05.12Z`, `...05Z`).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    let full = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // `...05.120000000Z` → `...05.12Z`; `...05.000000000Z` → `...05Z`.
    let body = full.trim_end_matches('Z').trim_end_matches('0');
    format!("{}Z", body.trim_end_matches('.'))
}

/// An entity timestamp: milliseconds, trailing zeros dropped (`2025-01-02T03:04:05.67Z`).
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    rfc3339(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

/// Always three fraction digits (`...05.670Z`): what the task-list delete cascade writes
/// (PostgreSQL's `to_char(..., 'MS')`).
pub(crate) fn rfc3339_ms3(ms: i64) -> String {
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

/// The version an `If-Match` header asks for: a decimal integer, bare or in one pair of
/// double quotes. Anything else (`W/"1"`, `*`, `abc`, `""`) is `None`: the API ignores it
/// and the write is unconditional.
pub(crate) fn if_match(raw: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(raw).ok()?;
    let inner = match text.as_bytes() {
        [b'"', .., b'"'] if text.len() >= 2 => &text[1..text.len() - 1],
        _ => text,
    };
    inner.parse().ok()
}

/// The `412` message, prefix doubled exactly as the API writes it.
pub(crate) fn version_mismatch(expected: i64, actual: i64) -> String {
    format!("version mismatch: version mismatch: expected {expected}, actual {actual}")
}

/// `limit`: default 500, capped at 1000; non-positive or non-numeric falls back to the default.
pub(crate) fn parse_limit(raw: Option<&str>) -> usize {
    match raw.and_then(|s| s.parse::<i64>().ok()) {
        Some(n) if n > 0 => usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT)),
        _ => DEFAULT_LIMIT,
    }
}

/// The first JSON value of a body, as Go's `json.NewDecoder(body).Decode` reads it: leading
/// whitespace skipped, anything after the value ignored. `None` for an empty body or a
/// syntax error.
pub(crate) fn first_json_value(body: &[u8]) -> Option<Value> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .next()?
        .ok()
}

/// A field of a JSON object as Go's decoder finds it for a struct field: the exact key, or
/// else a key equal to it ignoring ASCII case.
pub(crate) fn struct_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A Go `string` struct field: absent or `null` leave it empty, a string sets it, anything
/// else is a decoding error (`Err`).
pub(crate) fn string_field(obj: &Map<String, Value>, name: &str) -> Result<String, ()> {
    match struct_field(obj, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(()),
    }
}

/// A Go `map[string]any` struct field: absent, `null` or an object decode; anything else
/// is a decoding error.
pub(crate) fn object_field(obj: &Map<String, Value>, name: &str) -> Result<(), ()> {
    match struct_field(obj, name) {
        None | Some(Value::Null | Value::Object(_)) => Ok(()),
        Some(_) => Err(()),
    }
}

/// The fields of a body decoded into a Go struct: an object, or `null` (all fields zero);
/// anything else (or no JSON at all) is a decoding error.
pub(crate) fn struct_body(body: &[u8]) -> Result<Map<String, Value>, ()> {
    match first_json_value(body) {
        Some(Value::Object(obj)) => Ok(obj),
        Some(Value::Null) => Ok(Map::new()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn if_match_counts_only_decimal_integers() {
        assert_eq!(if_match(b"3"), Some(3));
        assert_eq!(if_match(b"\"3\""), Some(3));
        assert_eq!(if_match(b"-2"), Some(-2));
        for ignored in [
            &b"W/\"3\""[..],
            b"*",
            b"abc",
            b"\"\"",
            b"\"",
            b" 3",
            b"3.0",
            b"",
        ] {
            assert_eq!(if_match(ignored), None, "{ignored:?}");
        }
        assert_eq!(
            version_mismatch(1, 3),
            "version mismatch: version mismatch: expected 1, actual 3"
        );
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None), 500);
        assert_eq!(parse_limit(Some("2")), 2);
        assert_eq!(parse_limit(Some("5000")), 1000);
        for fallback in ["0", "-4", "ten", " 5", "", "99999999999999999999"] {
            assert_eq!(parse_limit(Some(fallback)), 500, "{fallback}");
        }
    }

    #[test]
    fn timestamps_drop_trailing_zeros() {
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_ms(1_700_000_000_120), "2023-11-14T22:13:20.12Z");
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_ms3(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_700).unwrap();
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.1234567Z");
    }

    #[test]
    fn bodies_are_read_like_go_decodes_them() {
        assert_eq!(
            first_json_value(b" {\"a\":1} trailing"),
            Some(json!({"a": 1}))
        );
        assert_eq!(first_json_value(b"null"), Some(Value::Null));
        assert_eq!(first_json_value(b"[1]"), Some(json!([1])));
        assert_eq!(first_json_value(b""), None);
        assert_eq!(first_json_value(b"{nope"), None);
    }

    #[test]
    fn struct_fields_like_go() {
        let Ok(obj) = struct_body(br#"{"Action": "pin", "metadata": null, "n": 5}"#) else {
            panic!()
        };
        assert_eq!(string_field(&obj, "action"), Ok("pin".into()));
        assert_eq!(string_field(&obj, "missing"), Ok(String::new()));
        assert_eq!(string_field(&obj, "n"), Err(()));
        assert_eq!(object_field(&obj, "metadata"), Ok(()));
        assert_eq!(object_field(&obj, "n"), Err(()));
        assert_eq!(struct_body(b"null"), Ok(Map::new()));
        assert!(struct_body(b"[1]").is_err() && struct_body(b"").is_err());
    }
}
