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
        assert!(t.title.is_some(), "{}", t.name);
        assert!(t.output_schema.is_some(), "{}", t.name);
        assert!(
            t.description.as_deref().is_some_and(|d| d.len() > 40),
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
