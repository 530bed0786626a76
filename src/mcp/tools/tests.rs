use super::*;
use crate::mcp::catalog::tool_names;

#[test]
fn every_tool_has_schemas_titles_and_annotations() {
    for generation in [Generation::Seed, Generation::Current] {
        let c = tools(generation);
        assert_eq!(c.tools.len(), tool_names(generation).len());
        every_tool_is_described(c);
    }
}

fn every_tool_is_described(c: &ToolSet) {
    for t in &c.tools {
        let display = t
            .title
            .as_ref()
            .or(t.annotations.as_ref().and_then(|a| a.title.as_ref()));
        assert!(display.is_some(), "{}", t.name);
        assert!(t.output_schema.is_some(), "{}", t.name);
        assert!(
            t.description.as_deref().is_some_and(|d| d.len() > 30),
            "{}",
            t.name
        );
        let a = t.annotations.as_ref().unwrap();
        let read_only = t.name.starts_with("list_")
            || t.name.starts_with("get_")
            || t.name == "health_check"
            || t.name == "edit_note_ui";
        assert_eq!(a.read_only_hint, Some(read_only), "{}", t.name);
        if !read_only {
            assert_eq!(
                a.destructive_hint,
                Some(t.name.starts_with("delete_")),
                "{}",
                t.name
            );
        }
    }
}

#[test]
fn enums_and_bounds_are_in_the_schemas() {
    let c = tools(Generation::Current);
    let schema = |name: &str| {
        let t = c.tools.iter().find(|t| t.name == name).unwrap();
        Value::Object((*t.input_schema).clone())
    };
    assert_eq!(
        schema("process_note")["properties"]["action"]["enum"],
        json!(["pin", "unpin", "archive", "unarchive"])
    );
    assert_eq!(
        schema("process_chat_message")["properties"]["action"]["enum"],
        json!(["mark_read", "mark_delivered"])
    );
    assert_eq!(
        schema("create_comment")["properties"]["parent_type"]["enum"],
        json!(["note", "task"])
    );
    let limit = &schema("list_tasks")["properties"]["limit"];
    assert_eq!(
        (
            limit["minimum"].as_i64(),
            limit["maximum"].as_i64(),
            limit["default"].as_i64()
        ),
        (Some(1), Some(1000), Some(100))
    );
    assert_eq!(
        schema("update_note")["required"],
        json!(["uid", "title", "content"])
    );
    assert_eq!(schema("patch_chat")["required"], json!(["uid", "updates"]));
}

#[test]
fn views_are_linked_from_their_tools_and_apply_is_for_the_view_only() {
    let c = tools(Generation::Current);
    let meta = |name: &str| {
        let t = c.tools.iter().find(|t| t.name == name).unwrap();
        t.meta.as_ref().map(|m| Value::Object(m.0.clone()))
    };
    for (tool, uri) in [
        ("list_notes", "ui://toolbridge/notes"),
        ("get_note", "ui://toolbridge/note"),
        ("list_tasks", "ui://toolbridge/tasks"),
        ("get_task", "ui://toolbridge/task"),
        ("process_task", "ui://toolbridge/task"),
        ("edit_note_ui", "ui://toolbridge/note-edit"),
    ] {
        let m = meta(tool).unwrap_or_else(|| panic!("{tool} has no view"));
        assert_eq!(m["ui"]["resourceUri"], json!(uri), "{tool}");
        assert_eq!(m["ui/resourceUri"], json!(uri), "{tool}");
    }
    assert_eq!(
        meta("apply_note_edit").unwrap()["ui"]["visibility"],
        json!(["app"])
    );
    assert!(meta("create_chat").is_none());
}

/// What a model needs to call one tool right: its annotations' hints, which parameters
/// are required, and each parameter's type, enum, bounds, default and format; and whether
/// the description gives an example.
fn facts(t: &Tool) -> Value {
    let schema = Value::Object((*t.input_schema).clone());
    let mut params = serde_json::Map::new();
    if let Some(props) = schema["properties"].as_object() {
        for (name, p) in props {
            let mut f = serde_json::Map::new();
            for key in [
                "type",
                "enum",
                "minimum",
                "maximum",
                "maxLength",
                "default",
                "format",
                "items",
            ] {
                if let Some(v) = p.get(key) {
                    f.insert(key.into(), v.clone());
                }
            }
            params.insert(name.clone(), Value::Object(f));
        }
    }
    let a = t.annotations.as_ref();
    json!({
        "hints": [
            a.and_then(|a| a.read_only_hint),
            a.and_then(|a| a.destructive_hint),
            a.and_then(|a| a.idempotent_hint),
            a.and_then(|a| a.open_world_hint),
        ],
        "required": schema.get("required").cloned().unwrap_or(json!([])),
        "params": params,
        "example": t.description.as_deref().is_some_and(|d| d.contains("Example")),
    })
}

/// The descriptions and schemas were rewritten in fewer bytes (issue 23); nothing a model
/// needs was lost. `facts.json` holds the facts of every tool as the gateway listed them
/// before (commit 631d4f4, read from its `tools/list` on both generations): every tool
/// still has them all, every parameter (the new `fields` too) has a description, and
/// what a description showed by example it still does.
#[test]
fn shorter_listing_keeps_every_fact() {
    let before: Value = serde_json::from_str(include_str!("facts.json")).unwrap();
    for (generation, key) in [(Generation::Seed, "seed"), (Generation::Current, "current")] {
        let set = tools(generation);
        let old = before[key].as_object().unwrap();
        assert_eq!(old.len(), set.tools.len(), "{key}: the same tools");
        for t in &set.tools {
            let was = &old[t.name.as_ref()];
            let now = facts(t);
            assert_eq!(now["hints"], was["hints"], "{}", t.name);
            assert_eq!(now["required"], was["required"], "{}", t.name);
            assert_eq!(now["example"], was["example"], "{}: example", t.name);
            for (param, old_facts) in was["params"].as_object().unwrap() {
                assert_eq!(&now["params"][param], old_facts, "{}.{param}", t.name);
            }
            for (param, new_facts) in now["params"].as_object().unwrap() {
                assert!(
                    was["params"].get(param).is_some()
                        || param == "fields"
                        || (param == "uid" && t.name.starts_with("create_")),
                    "{}.{param} is new",
                    t.name
                );
                let _ = new_facts;
                let described = t.input_schema["properties"][param]["description"]
                    .as_str()
                    .is_some_and(|d| d.len() > 5);
                assert!(described, "{}.{param} has no description", t.name);
            }
        }
    }
}

/// The listing in at most 60% of the bytes it took before (issue 23), on both generations.
#[test]
fn listing_takes_at_most_sixty_percent_of_its_old_bytes() {
    let before: Value = serde_json::from_str(include_str!("facts.json")).unwrap();
    for (generation, key) in [(Generation::Seed, "seed"), (Generation::Current, "current")] {
        let old = before["bytes"][key].as_u64().unwrap() as usize;
        let now = serde_json::to_string(&tools(generation).tools)
            .unwrap()
            .len();
        println!("{key}: {now} bytes, {}% of {old}", now * 100 / old);
        assert!(now * 10 <= old * 6, "{key}: {now} bytes, before {old}");
    }
}
