//! [`Args`]: a call's decoded arguments, sorted by what they are for, so the verb handlers
//! read typed values instead of looking names up. The rule for server-owned payload keys
//! lives here too, so every write tool applies the same one.

use rmcp::model::JsonObject;
use serde_json::{Map, Value};

use super::{Field, Role, decode_values};
use crate::mcp::review::Decision;

/// Payload keys the API writes itself on every change (contract §4 and §7.7). A client
/// that sets one through `additional_fields` or `updates` would at best be ignored and at
/// worst make an item look deleted or at another version, so every write tool refuses them.
pub const RESERVED_KEYS: &[&str] = &[
    "uid",
    "sync",
    "updatedTs",
    "updateTime",
    "updatedAt",
    "version",
    "deletedAt",
    "isDeleted",
    "isDirty",
    "remoteUpdatedAt",
    "lastSyncedAt",
];

/// The decoded arguments of one tool call.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// The item's uid, canonical lower-case hyphenated form.
    pub(crate) uid: Option<String>,
    /// Whether deleted items are wanted.
    pub(crate) include_deleted: bool,
    /// Page size (the field's default applied).
    pub(crate) limit: Option<i64>,
    /// Page cursor, non-empty.
    pub(crate) cursor: Option<String>,
    /// The payload keys to return, when the caller chose them.
    pub(crate) fields: Option<Vec<String>>,
    /// Version for `If-Match`.
    pub(crate) if_match: Option<i64>,
    /// `process_E`'s action (one of the entity's).
    pub(crate) action: Option<String>,
    /// `process_E`'s metadata.
    pub(crate) metadata: Option<Map<String, Value>>,
    /// `patch_E`'s keys.
    pub(crate) updates: Option<Map<String, Value>>,
    /// The payload: named fields by their wire names, over `additional_fields`.
    pub(crate) payload: Map<String, Value>,
    /// The edit review's proposed text.
    pub(crate) proposal: Option<String>,
    /// The edit review's summary.
    pub(crate) summary: Option<String>,
    /// The edit review's decisions.
    pub(crate) decisions: Vec<Decision>,
}

/// Checks and decodes the arguments of one call. The error is a sentence for the model.
pub(crate) fn decode(fields: &[Field], raw: Option<JsonObject>) -> Result<Args, String> {
    let mut values = decode_values(fields, raw)?;
    let mut args = Args::default();
    let mut named = Map::new();
    for f in fields {
        let Some(v) = values.remove(f.name) else {
            continue;
        };
        match (f.role, v) {
            (Role::Payload(wire), v) => {
                named.insert(wire.to_owned(), v);
            }
            (Role::Extra, Value::Object(extra)) => {
                refuse_reserved(f.name, &extra)?;
                args.payload = extra;
            }
            (Role::Updates, Value::Object(updates)) => {
                refuse_reserved(f.name, &updates)?;
                args.updates = Some(updates);
            }
            (Role::Metadata, Value::Object(m)) => args.metadata = Some(m),
            (Role::Uid, Value::String(s)) => args.uid = Some(s),
            (Role::Cursor, Value::String(s)) => args.cursor = Some(s).filter(|c| !c.is_empty()),
            (Role::Action, Value::String(s)) => args.action = Some(s),
            (Role::Fields, Value::Array(keys)) => {
                args.fields = Some(
                    keys.into_iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect(),
                )
            }
            (Role::IncludeDeleted, v) => args.include_deleted = v.as_bool() == Some(true),
            (Role::Limit, v) => args.limit = v.as_i64(),
            (Role::Proposal, Value::String(s)) => args.proposal = Some(s),
            (Role::Summary, Value::String(s)) => args.summary = Some(s).filter(|s| !s.is_empty()),
            (Role::Decisions, v) => {
                args.decisions = serde_json::from_value(v).map_err(|e| {
                    format!(
                        "`{}` must be an array of {{\"hunk\": <index>, \"action\": \"accept\" | \
                         \"reject\" | \"revise\", \"text\": <with revise>}}: {e}",
                        f.name
                    )
                })?
            }
            (Role::IfMatch, v) => args.if_match = v.as_i64(),
            // decode_values checked every kind, so nothing else can arrive.
            (role, v) => unreachable!("{role:?} decoded to {v}"),
        }
    }
    // Named parameters win over the same keys in additional_fields.
    args.payload.extend(named);
    Ok(args)
}

fn refuse_reserved(param: &str, keys: &Map<String, Value>) -> Result<(), String> {
    match keys.keys().find(|k| RESERVED_KEYS.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "`{param}` may not set `{k}`: the API writes {} itself{}",
            RESERVED_KEYS.join(", "),
            if k == "uid" {
                " (a create takes its uid as the `uid` parameter)"
            } else {
                ""
            }
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mcp::fields::Kind;

    const FIELDS: &[Field] = &[
        Field::param("uid", Role::Uid, Kind::Uuid, true, "uid"),
        Field::required("title", "title", Kind::Text, "title"),
        Field::optional("due_date", "dueDate", Kind::Text, "due"),
        Field::param("additional_fields", Role::Extra, Kind::Object, false, "x"),
        crate::mcp::fields::params::LIMIT,
    ];
    const UID: &str = "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a";

    fn run(v: Value) -> Result<Args, String> {
        decode(FIELDS, v.as_object().cloned())
    }

    #[test]
    fn named_fields_win_and_go_by_wire_name() {
        let a = run(json!({"uid": UID, "title": "T", "due_date": "2027-01-01",
            "additional_fields": {"title": "lost", "color": "blue"}}))
        .unwrap();
        assert_eq!(a.uid.as_deref(), Some(UID));
        assert_eq!(
            Value::Object(a.payload),
            json!({"title": "T", "dueDate": "2027-01-01", "color": "blue"})
        );
        // The default lives with the field.
        assert_eq!(a.limit, Some(100));
    }

    #[test]
    fn server_keys_are_refused_in_every_write_container() {
        for key in [
            "uid",
            "sync",
            "version",
            "deletedAt",
            "isDeleted",
            "updatedTs",
        ] {
            let err =
                run(json!({"uid": UID, "title": "T", "additional_fields": {key: 1}})).unwrap_err();
            assert!(err.contains(&format!("may not set `{key}`")), "{err}");
        }
        let updates = [Field::param(
            "updates",
            Role::Updates,
            Kind::Object,
            true,
            "u",
        )];
        let err = decode(
            &updates,
            json!({"updates": {"version": 9}}).as_object().cloned(),
        )
        .unwrap_err();
        assert!(err.contains("`updates` may not set `version`"), "{err}");
        let ok = decode(
            &updates,
            json!({"updates": {"title": "x"}}).as_object().cloned(),
        )
        .unwrap();
        assert_eq!(Value::Object(ok.updates.unwrap()), json!({"title": "x"}));
    }
}
