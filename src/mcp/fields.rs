//! Tool parameters as data: each [`Field`] gives its JSON Schema, how its argument is
//! checked and decoded, and what it is for ([`Role`]), so schemas, validation and the
//! handlers can never disagree. [`decode`] turns a call's arguments into [`Args`], which the
//! verb handlers read without string keys.
//!
//! Decoding is lenient where LLM clients are sloppy in a harmless way: an object or array
//! argument that arrives as a JSON *string* is decoded, an integer may arrive as a numeric
//! string, a bool as `"true"`. A string parameter is never reinterpreted. Unknown
//! parameters are refused, so a misspelt optional field is not silently dropped.

use rmcp::model::JsonObject;
use serde_json::{Map, Value, json};

mod args;
pub(crate) mod params;
pub use args::RESERVED_KEYS;
pub(crate) use args::{Args, decode};

/// How a parameter is typed and checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Any string.
    Text,
    /// A UUID string.
    Uuid,
    /// A boolean.
    Bool,
    /// An array of strings.
    TextList,
    /// A JSON object.
    Object,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// An opaque string handed out by the API (a cursor), at most `max` characters.
    Opaque {
        /// Longest accepted value, in characters.
        max: usize,
    },
    /// The edit review's decisions: an array of `{hunk, action, text?}`
    /// ([`crate::mcp::review::Decision`]).
    Decisions,
    /// An integer within bounds.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
}

/// What a parameter is for: a payload key, or one of the verbs' own parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A payload key, with its name on the wire (camelCase).
    Payload(&'static str),
    /// `additional_fields`: more payload keys, under the named ones.
    Extra,
    /// The item's uid (path).
    Uid,
    /// `include_deleted` (query).
    IncludeDeleted,
    /// Page size (query).
    Limit,
    /// Page cursor (query).
    Cursor,
    /// `fields`: the payload keys to return (list, get).
    Fields,
    /// `If-Match` version.
    IfMatch,
    /// `patch_E`'s keys to merge.
    Updates,
    /// `process_E`'s action.
    Action,
    /// `process_E`'s metadata.
    Metadata,
    /// The edit review's proposed text.
    Proposal,
    /// The edit review's one-line summary.
    Summary,
    /// The edit review's decisions.
    Decisions,
}

/// One tool parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    /// Parameter name (snake_case, as the sidecar had it).
    pub(crate) name: &'static str,
    /// What it is for.
    pub(crate) role: Role,
    /// Type and checks.
    pub(crate) kind: Kind,
    /// Whether the call fails without it.
    pub(crate) required: bool,
    /// Description for the schema.
    pub(crate) doc: &'static str,
    /// Default, for the schema; [`decode`] applies it when the argument is absent.
    pub(crate) default: Option<i64>,
}

impl Field {
    /// A required payload field (`wire`: its key in the payload).
    pub(crate) const fn required(
        name: &'static str,
        wire: &'static str,
        kind: Kind,
        doc: &'static str,
    ) -> Self {
        Self::param(name, Role::Payload(wire), kind, true, doc)
    }

    /// An optional payload field (`wire`: its key in the payload).
    pub(crate) const fn optional(
        name: &'static str,
        wire: &'static str,
        kind: Kind,
        doc: &'static str,
    ) -> Self {
        Self::param(name, Role::Payload(wire), kind, false, doc)
    }

    /// Any parameter.
    pub(crate) const fn param(
        name: &'static str,
        role: Role,
        kind: Kind,
        required: bool,
        doc: &'static str,
    ) -> Self {
        Self {
            name,
            role,
            kind,
            required,
            doc,
            default: None,
        }
    }

    fn schema(&self) -> Value {
        let mut s = match self.kind {
            Kind::Text => json!({"type": "string"}),
            Kind::Uuid => json!({"type": "string", "format": "uuid"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::TextList => json!({"type": "array", "items": {"type": "string"}}),
            Kind::Object => json!({"type": "object"}),
            Kind::Enum(values) => json!({"type": "string", "enum": values}),
            Kind::Opaque { max } => json!({"type": "string", "maxLength": max}),
            Kind::Integer { min, max } => {
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            Kind::Decisions => json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "hunk": {"type": "integer", "minimum": 0, "description": "The hunk's index."},
                        "action": {"type": "string", "enum": ["accept", "reject", "revise"]},
                        "text": {"type": "string", "description": "With revise: the text to put there instead."}
                    },
                    "required": ["hunk", "action"],
                    "additionalProperties": false
                }
            }),
        };
        s["description"] = Value::from(self.doc);
        if let Some(d) = self.default {
            s["default"] = Value::from(d);
        }
        s
    }
}

/// A schema built as JSON, in the shared form rmcp's `Tool` holds.
pub(crate) fn schema_object(v: Value) -> std::sync::Arc<JsonObject> {
    match v {
        Value::Object(m) => std::sync::Arc::new(m),
        _ => unreachable!("schemas are objects"),
    }
}

/// The JSON Schema of a parameter list.
pub(crate) fn input_schema(fields: &[Field]) -> JsonObject {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.to_owned(), f.schema()))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    // Unknown parameters are refused (`decode`); the server instructions say so once,
    // instead of `"additionalProperties": false` on every tool.
    let mut schema = json!({
        "type": "object",
        "properties": properties,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    match schema {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// Checks and decodes the arguments of one call into values by parameter name (defaults
/// applied). The error is a sentence for the model.
fn decode_values(fields: &[Field], args: Option<JsonObject>) -> Result<Map<String, Value>, String> {
    let mut args = args.unwrap_or_default();
    if let Some(unknown) = args
        .keys()
        .find(|k| !fields.iter().any(|f| f.name == k.as_str()))
    {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        return Err(if names.is_empty() {
            format!("unknown parameter `{unknown}`: this tool takes no parameters")
        } else {
            format!(
                "unknown parameter `{unknown}`: this tool takes {}",
                names.join(", ")
            )
        });
    }
    let mut out = Map::new();
    for f in fields {
        match args.remove(f.name) {
            None | Some(Value::Null) if f.required => {
                return Err(format!(
                    "missing required parameter `{}`: {}",
                    f.name, f.doc
                ));
            }
            None | Some(Value::Null) => {
                if let Some(d) = f.default {
                    out.insert(f.name.to_owned(), Value::from(d));
                }
            }
            Some(v) => {
                out.insert(f.name.to_owned(), decode_one(f, v)?);
            }
        }
    }
    Ok(out)
}

fn decode_one(f: &Field, v: Value) -> Result<Value, String> {
    let name = f.name;
    match (f.kind, v) {
        (Kind::Text, v @ Value::String(_)) => Ok(v),
        (Kind::Text, other) => Err(format!(
            "`{name}` must be a string, got {}",
            type_name(&other)
        )),
        (Kind::Opaque { max }, Value::String(s)) if s.chars().count() <= max => {
            Ok(Value::String(s))
        }
        (Kind::Opaque { max }, Value::String(_)) => Err(format!(
            "`{name}` is longer than any value the API hands out (at most {max} characters): \
             pass it back exactly as the previous result gave it"
        )),
        (Kind::Opaque { .. }, other) => Err(format!(
            "`{name}` must be a string, got {}",
            type_name(&other)
        )),
        (Kind::Uuid, Value::String(s)) => match uuid::Uuid::parse_str(s.trim()) {
            Ok(u) => Ok(Value::String(u.hyphenated().to_string())),
            Err(_) => Err(format!(
                "`{name}` must be a UUID such as \"0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a\", got {}",
                truncate(&s)
            )),
        },
        (Kind::Uuid, other) => Err(format!(
            "`{name}` must be a UUID string, got {}",
            type_name(&other)
        )),
        (Kind::Bool, v @ Value::Bool(_)) => Ok(v),
        (Kind::Bool, Value::String(s)) if s == "true" || s == "false" => {
            Ok(Value::Bool(s == "true"))
        }
        (Kind::Bool, other) => Err(format!(
            "`{name}` must be true or false, got {}",
            type_name(&other)
        )),
        (Kind::Enum(values), Value::String(s)) if values.contains(&s.as_str()) => {
            Ok(Value::String(s))
        }
        (Kind::Enum(values), other) => Err(format!(
            "`{name}` must be one of {}, got {}",
            values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", "),
            describe(&other)
        )),
        (Kind::Integer { min, max }, v) => {
            let n = match &v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match n {
                Some(n) if (min..=max).contains(&n) => Ok(Value::from(n)),
                Some(n) => Err(format!("`{name}` must be between {min} and {max}, got {n}")),
                None => Err(format!("`{name}` must be an integer, got {}", describe(&v))),
            }
        }
        (Kind::Object, v @ Value::Object(_)) => Ok(v),
        // The array's items are typed once, by `decode` (fields/args.rs), which reports them.
        (Kind::Decisions, v @ Value::Array(_)) => Ok(v),
        (Kind::Decisions, Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Err(format!(
                "`{name}` must be an array of decisions, got {}",
                truncate(&s)
            )),
        },
        (Kind::TextList, Value::Array(items)) => text_list(name, items),
        // The lenient part: a JSON object or array sent as a string.
        (Kind::Object | Kind::TextList, Value::String(s)) => {
            match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(m)) if matches!(f.kind, Kind::Object) => Ok(Value::Object(m)),
                Ok(Value::Array(items)) if matches!(f.kind, Kind::TextList) => {
                    text_list(name, items)
                }
                _ => Err(expected_container(f, &Value::String(s))),
            }
        }
        (_, other) => Err(expected_container(f, &other)),
    }
}

fn text_list(name: &str, items: Vec<Value>) -> Result<Value, String> {
    if let Some(bad) = items.iter().find(|v| !v.is_string()) {
        return Err(format!(
            "`{name}` must be an array of strings, but it holds {}",
            type_name(bad)
        ));
    }
    Ok(Value::Array(items))
}

fn expected_container(f: &Field, got: &Value) -> String {
    let want = match f.kind {
        Kind::Object => "a JSON object, e.g. {\"key\": \"value\"}",
        Kind::Decisions => "an array of decisions, e.g. [{\"hunk\": 0, \"action\": \"accept\"}]",
        _ => "an array of strings, e.g. [\"a\", \"b\"]",
    };
    format!("`{}` must be {want}, got {}", f.name, describe(got))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s),
        other => type_name(other).to_owned(),
    }
}

fn truncate(s: &str) -> String {
    let short: String = s.chars().take(60).collect();
    if short.len() < s.len() {
        format!("\"{short}…\"")
    } else {
        format!("\"{short}\"")
    }
}

#[cfg(test)]
mod tests;
