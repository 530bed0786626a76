use super::*;

const FIELDS: &[Field] = &[
    Field::required("uid", "", Kind::Uuid, "uid"),
    Field::optional("title", "title", Kind::Text, "title"),
    Field::optional("tags", "tags", Kind::TextList, "tags"),
    Field::optional("updates", "", Kind::Object, "updates"),
    Field::optional("flag", "flag", Kind::Bool, "flag"),
    Field::optional("kind", "kind", Kind::Enum(&["note", "task"]), "kind"),
    Field::optional("limit", "", Kind::Integer { min: 1, max: 1000 }, "limit"),
];

const UID: &str = "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a";

fn args(v: Value) -> Option<JsonObject> {
    match v {
        Value::Object(m) => Some(m),
        _ => panic!("object"),
    }
}

/// (arguments, Ok(expected decoded) or Err(substring of the message))
fn cases() -> Vec<(Value, Result<Value, &'static str>)> {
    vec![
        (json!({"uid": UID}), Ok(json!({"uid": UID}))),
        (json!({"uid": UID.to_uppercase()}), Ok(json!({"uid": UID}))),
        (json!({"uid": "abc"}), Err("must be a UUID")),
        (json!({"uid": 7}), Err("must be a UUID string")),
        (json!({}), Err("missing required parameter `uid`")),
        (
            json!({"uid": null}),
            Err("missing required parameter `uid`"),
        ),
        (
            json!({"uid": UID, "nope": 1}),
            Err("unknown parameter `nope`"),
        ),
        // Objects and arrays sent as JSON strings are decoded.
        (
            json!({"uid": UID, "updates": "{\"a\": 1}"}),
            Ok(json!({"uid": UID, "updates": {"a": 1}})),
        ),
        (
            json!({"uid": UID, "tags": "[\"x\", \"y\"]"}),
            Ok(json!({"uid": UID, "tags": ["x", "y"]})),
        ),
        (
            json!({"uid": UID, "updates": {"a": [1]}}),
            Ok(json!({"uid": UID, "updates": {"a": [1]}})),
        ),
        // ...but not into the wrong container, and not from non-JSON text.
        (
            json!({"uid": UID, "updates": "[1]"}),
            Err("must be a JSON object"),
        ),
        (
            json!({"uid": UID, "tags": "{\"a\":1}"}),
            Err("must be an array of strings"),
        ),
        (
            json!({"uid": UID, "tags": "work"}),
            Err("must be an array of strings"),
        ),
        (json!({"uid": UID, "tags": [1, 2]}), Err("holds a number")),
        // A string parameter is never reinterpreted: JSON-looking text stays text.
        (
            json!({"uid": UID, "title": "{\"a\": 1}"}),
            Ok(json!({"uid": UID, "title": "{\"a\": 1}"})),
        ),
        (
            json!({"uid": UID, "title": "[1,2]"}),
            Ok(json!({"uid": UID, "title": "[1,2]"})),
        ),
        (json!({"uid": UID, "title": 5}), Err("must be a string")),
        (
            json!({"uid": UID, "flag": "true"}),
            Ok(json!({"uid": UID, "flag": true})),
        ),
        (
            json!({"uid": UID, "flag": "yes"}),
            Err("must be true or false"),
        ),
        (
            json!({"uid": UID, "kind": "task"}),
            Ok(json!({"uid": UID, "kind": "task"})),
        ),
        (
            json!({"uid": UID, "kind": "chat"}),
            Err("must be one of \"note\", \"task\""),
        ),
        (
            json!({"uid": UID, "limit": "25"}),
            Ok(json!({"uid": UID, "limit": 25})),
        ),
        (json!({"uid": UID, "limit": 0}), Err("between 1 and 1000")),
        (
            json!({"uid": UID, "limit": 1001}),
            Err("between 1 and 1000"),
        ),
        (json!({"uid": UID, "limit": 2.5}), Err("must be an integer")),
        (json!({"uid": UID, "title": null}), Ok(json!({"uid": UID}))),
    ]
}

#[test]
fn coercion_table() {
    for (input, want) in cases() {
        let got = decode_values(FIELDS, args(input.clone()));
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(Value::Object(got), want, "{input}"),
            (Err(msg), Err(needle)) => assert!(msg.contains(needle), "{input}: {msg}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn schema_lists_required_enums_and_bounds() {
    let s = Value::Object(input_schema(FIELDS));
    assert_eq!(s["required"], json!(["uid"]));
    // Unknown parameters are refused by `decode` (the instructions say so once), not
    // repeated on every schema.
    assert!(s.get("additionalProperties").is_none());
    assert_eq!(s["properties"]["kind"]["enum"], json!(["note", "task"]));
    assert_eq!(s["properties"]["limit"]["maximum"], json!(1000));
    assert_eq!(s["properties"]["tags"]["items"]["type"], json!("string"));
}
