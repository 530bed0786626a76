//! Lenient deserializers for values that come from environment variables, where every
//! value is text that figment may have guessed to be a number or a bool.

use std::fmt;

use serde::{
    Deserializer,
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

/// A secret is written out only as whether it is set (`check`'s effective configuration).
impl serde::Serialize for crate::secret::Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "(unset)" } else { "(set)" })
    }
}
