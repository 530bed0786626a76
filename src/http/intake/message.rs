//! The shape the intake's one parse reads a JSON-RPC message into: `id`, `method`, and of
//! `params` only `name` and the `_meta` keys the edge and the tracing need. Everything else
//! is skipped by serde without being built.

use std::fmt;

use rmcp::model::RequestId;
use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor},
};

/// A JSON-RPC message as far as the edge reads it.
#[derive(Deserialize)]
pub(super) struct Message {
    #[serde(default)]
    pub(super) id: Option<RequestId>,
    #[serde(default)]
    pub(super) method: Option<Method>,
    #[serde(default)]
    pub(super) params: Option<Params>,
}

/// A method name, kept only when short enough to be one.
pub(super) struct Method(pub(super) Option<String>);

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Method((s.len() <= 64).then_some(s)))
    }
}

/// `params.name` as read: only a tool call cares, so a bad one is recorded, not refused.
#[derive(Default)]
pub(super) enum Name {
    #[default]
    Absent,
    Str(String),
    /// Not a string, or given twice: what serde would have said.
    Invalid(String),
}

/// The members of `params` the edge reads.
#[derive(Default)]
pub(super) struct Params {
    pub(super) name: Name,
    pub(super) meta: Meta,
}

/// Keys of `params`, matched without allocating.
enum ParamsKey {
    Name,
    Meta,
    Other,
}

impl<'de> Deserialize<'de> for ParamsKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor(|k| match k {
            "name" => ParamsKey::Name,
            "_meta" => ParamsKey::Meta,
            _ => ParamsKey::Other,
        }))
    }
}

/// Keys of `params._meta` the edge keeps.
enum MetaKey {
    ProtocolVersion,
    Traceparent,
    Tracestate,
    Baggage,
    Other,
}

impl<'de> Deserialize<'de> for MetaKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor(|k| match k {
            crate::mcp::protocol::META_PROTOCOL_VERSION => MetaKey::ProtocolVersion,
            "traceparent" => MetaKey::Traceparent,
            "tracestate" => MetaKey::Tracestate,
            "baggage" => MetaKey::Baggage,
            _ => MetaKey::Other,
        }))
    }
}

struct KeyVisitor<K>(fn(&str) -> K);

impl<'de, K> Visitor<'de> for KeyVisitor<K> {
    type Value = K;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<K, E> {
        Ok((self.0)(v))
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Params;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("struct Params")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
                let mut params = Params::default();
                let mut meta_seen = false;
                while let Some(key) = map.next_key::<ParamsKey>()? {
                    match key {
                        ParamsKey::Name => {
                            let value = map.next_value::<NameValue>()?;
                            params.name = match params.name {
                                Name::Absent => value.0,
                                _ => Name::Invalid("duplicate field `name`".into()),
                            };
                        }
                        // The first `_meta` counts; rmcp judges a message with two.
                        ParamsKey::Meta if !meta_seen => {
                            meta_seen = true;
                            params.meta = map.next_value::<MetaValue>()?.0;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(params)
            }
        }
        d.deserialize_map(V)
    }
}

/// `params.name`: a string, or the reason it is not one.
struct NameValue(Name);

impl<'de> Deserialize<'de> for NameValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn not_a_string<E>(u: Unexpected<'_>) -> Result<NameValue, E> {
            Ok(NameValue(Name::Invalid(format!(
                "invalid type: {u}, expected a string"
            ))))
        }
        impl<'de> Visitor<'de> for V {
            type Value = NameValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NameValue, E> {
                Ok(NameValue(Name::Str(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<NameValue, E> {
                Ok(NameValue(Name::Str(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<NameValue, E> {
                not_a_string(Unexpected::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NameValue, E> {
                not_a_string(Unexpected::Signed(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NameValue, E> {
                not_a_string(Unexpected::Unsigned(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NameValue, E> {
                not_a_string(Unexpected::Float(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<NameValue, E> {
                not_a_string(Unexpected::Unit)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NameValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                not_a_string(Unexpected::Seq)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NameValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                not_a_string(Unexpected::Map)
            }
        }
        d.deserialize_any(V)
    }
}

/// `params._meta`: the kept keys whose values are strings (others are rmcp's to judge).
struct MetaValue(Meta);

impl<'de> Deserialize<'de> for MetaValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MetaValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetaValue, A::Error> {
                let mut meta = Meta::default();
                while let Some(key) = map.next_key::<MetaKey>()? {
                    let slot = match key {
                        MetaKey::ProtocolVersion => &mut meta.protocol_version,
                        MetaKey::Traceparent => &mut meta.traceparent,
                        MetaKey::Tracestate => &mut meta.tracestate,
                        MetaKey::Baggage => &mut meta.baggage,
                        MetaKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    // A repeated key: the last one counts, as in the map rmcp parses
                    // `_meta` into (the request's revision is rmcp's to decide).
                    *slot = map.next_value::<StringOrNot>()?.0;
                }
                Ok(MetaValue(meta))
            }
        }
        d.deserialize_map(V)
    }
}

/// A string value, or `None` for any other value (skipped unbuilt).
struct StringOrNot(Option<String>);

impl<'de> Deserialize<'de> for StringOrNot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(StringOrNot(match NameValue::deserialize(d)?.0 {
            Name::Str(s) => Some(s),
            _ => None,
        }))
    }
}

/// The `params._meta` keys the edge keeps, as the raw strings the client sent (a key
/// whose value is not a string is left out here; rmcp judges it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "the trace fields are for the tracing work (issue 20)"
)]
pub(crate) struct Meta {
    /// `io.modelcontextprotocol/protocolVersion`: the revision of a 2026-07-28 request.
    pub(crate) protocol_version: Option<String>,
    /// W3C trace context and baggage (MCP 2026-07-28 carries them in `_meta`).
    pub(crate) traceparent: Option<String>,
    pub(crate) tracestate: Option<String>,
    pub(crate) baggage: Option<String>,
}
