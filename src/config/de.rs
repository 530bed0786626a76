//! Lenient deserializers for values that come from environment variables, where every
//! value is text that figment may have guessed to be a number or a bool.

use std::{fmt, time::Duration};

use super::Issuer;
use serde::{
    Deserialize, Deserializer, Serializer,
    de::{self, SeqAccess, Visitor},
};

struct StringLike;

impl<'de> Visitor<'de> for StringLike {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A string, also from a number or bool (`TOOLBRIDGE_TENANT_ID=123`).
pub(crate) fn string_like<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringLike)
}

/// An optional string; an empty one counts as unset.
pub(crate) fn opt_string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string_like(d)?;
    Ok((!s.trim().is_empty()).then(|| s.trim().to_owned()))
}

struct ListLike;

impl<'de> Visitor<'de> for ListLike {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list or a comma-separated string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        Ok(v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            match v {
                serde_json::Value::String(s) => out.push(s),
                other => out.push(other.to_string()),
            }
        }
        Ok(out)
    }
}

/// A list of strings, from a TOML array or a comma-separated env value.
pub(crate) fn list_like<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(ListLike)
}

/// A secret comes from the environment like any other text; it lives in [`Secret`](crate::secret::Secret) from
/// the moment it is read. (Here, not in `secret.rs`, so that the secret type needs nothing
/// of the configuration.)
impl<'de> serde::Deserialize<'de> for crate::secret::Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_like(d).map(crate::secret::Secret::new)
    }
}

/// `Some(T)`, or `None` for an empty string (how `.env` and the key table say "unset").
pub(crate) fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::de::IntoDeserializer;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        // The value again, as its own deserializer: `T` reads it as if it came directly.
        value => T::deserialize(value.into_deserializer())
            .map(Some)
            .map_err(de::Error::custom),
    }
}

/// A number of seconds (decimals allowed) as a [`Duration`]; written back as seconds.
pub(crate) mod seconds {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(|_| {
            de::Error::custom(format!(
                "{secs} is not a number of seconds (0 or more, finite)"
            ))
        })
    }

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// A whole number of seconds as a [`Duration`]; written back as whole seconds.
pub(crate) mod whole_seconds {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

/// Parses an http(s) URL with a host; the error is the text an operator reads.
pub(crate) fn parse_http_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http(s) URL".into());
    }
    Ok(url)
}

/// An http(s) URL; written back as its text.
pub(crate) mod http_url {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<reqwest::Url, D::Error> {
        parse_http_url(&string_like(d)?).map_err(de::Error::custom)
    }

    pub(crate) fn serialize<S: Serializer>(u: &reqwest::Url, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(u.as_str())
    }
}

/// An http(s) URL, or `None` for an empty string; written back as its text.
pub(crate) mod opt_http_url {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<reqwest::Url>, D::Error> {
        match opt_string_like(d)? {
            None => Ok(None),
            Some(s) => parse_http_url(&s).map(Some).map_err(de::Error::custom),
        }
    }

    pub(crate) fn serialize<S: Serializer>(
        u: &Option<reqwest::Url>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match u {
            Some(u) => s.serialize_some(u.as_str()),
            None => s.serialize_none(),
        }
    }
}

/// An issuer, or `None` for an empty string.
pub(crate) fn opt_issuer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Issuer>, D::Error> {
    match opt_string_like(d)? {
        None => Ok(None),
        Some(s) => Issuer::parse(&s).map(Some).map_err(de::Error::custom),
    }
}

/// A list of issuers (a TOML array or a comma-separated string); the error names the bad one.
pub(crate) fn issuers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Issuer>, D::Error> {
    list_like(d)?
        .iter()
        .map(|s| Issuer::parse(s).map_err(|e| de::Error::custom(format!("{s}: {e}"))))
        .collect()
}

/// A secret is written out only as whether it is set (`check`'s effective configuration).
impl serde::Serialize for crate::secret::Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "(unset)" } else { "(set)" })
    }
}

/// An issuer is written as configured.
impl serde::Serialize for Issuer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
