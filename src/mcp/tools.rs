//! Builds the rmcp [`Tool`] list (schemas, titles, descriptions, annotations) from the
//! catalog, once per process and API generation.

use std::{collections::HashMap, sync::Arc, sync::OnceLock};

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use super::{
    catalog::{Entity, HEALTH_CHECK, Verb, entities},
    edit::{self, Review},
    fields::{
        Field, Kind, Role, input_schema,
        params::{
            CREATE_UID, CURSOR, EXTRA_UPDATE, IF_MATCH, INCLUDE_DELETED, LIMIT, METADATA, UID,
            UPDATES,
        },
        schema_object,
    },
    views,
};
use crate::config::Generation;

/// What a tool does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// `health_check`.
    Health,
    /// An entity tool.
    Entity(&'static Entity, Verb),
    /// One of the note edit review's tools.
    Review(Review),
}

/// What a tool name resolves to.
#[derive(Debug)]
pub(crate) struct ToolSpec {
    /// What it does.
    pub(crate) target: Target,
    /// Its parameters.
    pub(crate) fields: Vec<Field>,
}

/// The tools of one API generation, built once.
pub(crate) struct ToolSet {
    /// The listing, in order.
    pub(crate) tools: Vec<Tool>,
    by_name: HashMap<String, ToolSpec>,
}

impl ToolSet {
    /// Resolves a tool name; also returns the set's own copy of the name, which lives as
    /// long as the set (a `&'static str` for [`tools()`]: a metric label without a copy).
    pub(crate) fn get(&self, name: &str) -> Option<(&str, &ToolSpec)> {
        self.by_name
            .get_key_value(name)
            .map(|(name, spec)| (name.as_str(), spec))
    }
}

/// The parameters of one tool.
fn fields(e: &'static Entity, verb: Verb) -> Vec<Field> {
    match verb {
        Verb::List => vec![LIMIT, CURSOR, INCLUDE_DELETED],
        Verb::Get => vec![UID, INCLUDE_DELETED],
        Verb::Create => [e.create, &[CREATE_UID]].concat(),
        Verb::Update => [&[UID][..], e.update, &[IF_MATCH, EXTRA_UPDATE]].concat(),
        Verb::Patch => vec![UID, UPDATES],
        Verb::Delete | Verb::Archive => vec![UID],
        Verb::Process => {
            // Built once per process (the catalog is a OnceLock), so leaking is bounded.
            let names: &'static [&'static str] = Box::leak(e.action_names().into_boxed_slice());
            let doc: &'static str = Box::leak(
                format!(
                    "The action: {}.",
                    e.actions
                        .iter()
                        .map(|a| format!("\"{}\" sets {}", a.name, a.effect))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
                .into_boxed_str(),
            );
            vec![
                UID,
                Field::param("action", Role::Action, Kind::Enum(names), true, doc),
                METADATA,
            ]
        }
    }
}

fn title(e: &Entity, verb: Verb) -> String {
    match verb {
        Verb::List => format!("List {}", e.label_plural),
        Verb::Get => format!("Get a {}", e.label),
        Verb::Create => format!("Create a {}", e.label),
        Verb::Update => format!("Replace a {}", e.label),
        Verb::Patch => format!("Edit some fields of a {}", e.label),
        Verb::Delete => format!("Delete a {}", e.label),
        Verb::Archive => format!("Archive a {}", e.label),
        Verb::Process => format!("Apply an action to a {}", e.label),
    }
}

fn description(e: &Entity, verb: Verb) -> String {
    let (l, ls, s) = (e.label, e.label_plural, e.singular);
    let eg = r#""uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a""#;
    match verb {
        Verb::List => format!(
            "List {ls}, oldest change first, one page at a time. {about} Returns {{items, nextCursor, hasMore}}. \
             When hasMore is true, call {name} again with cursor set to nextCursor to get the next page. \
             Deleted {ls} are left out unless include_deleted is true. Example: {{\"limit\": 20}}.",
            about = e.about,
            name = e.tool_name(Verb::List)
        ),
        Verb::Get => format!(
            "Get one {l} by uid, with its version and payload. A deleted {l} is an error unless include_deleted is true. \
             Example: {{{eg}}}."
        ),
        Verb::Create => format!(
            "Create a {l}. {about} Returns the new item: its uid (use it with the other {s} tools) and version 1. \
             Example: {ex}.",
            about = e.about,
            ex = e.create_example
        ),
        Verb::Update => {
            let links = if e.links.is_empty() {
                String::new()
            } else {
                format!(
                    " The link fields ({}) are carried over from the current {l} automatically.",
                    e.links.join(", ")
                )
            };
            format!(
                "Replace a {l}'s payload (HTTP PUT): it becomes exactly the fields given here plus additional_fields; \
                 keys not given are removed. To change only some keys and keep the rest, use patch_{s}.{links} \
                 Pass if_match (the version you read) to refuse the change if the {l} was edited meanwhile."
            )
        }
        Verb::Patch => format!(
            "Change some payload keys of a {l} and keep the others (a shallow merge). Returns the updated item. \
             Example: {{{eg}, \"updates\": {{\"title\": \"New title\"}}}}."
        ),
        Verb::Delete => format!(
            "Delete a {l} (soft delete: it can still be read with include_deleted=true, but no longer changed). \
             Returns the deleted item: at least {{uid, version, updatedAt, deletedAt}} (newer APIs add its payload). \
             Example: {{{eg}}}."
        ),
        Verb::Archive => format!(
            "Archive a {l}: {effect}. Returns the updated item. Example: {{{eg}}}.",
            effect = e.archive_effect
        ),
        Verb::Process => format!(
            "Apply a state-changing action to a {l}. Actions: {actions}. Returns the updated item. \
             Example: {{{eg}, \"action\": \"{first}\"}}.",
            actions = e
                .actions
                .iter()
                .map(|a| format!("{} ({})", a.name, a.effect))
                .collect::<Vec<_>>()
                .join(", "),
            first = e.actions[0].name
        ),
    }
}

fn annotations(e: &Entity, verb: Verb) -> ToolAnnotations {
    let a = ToolAnnotations::with_title(title(e, verb)).open_world(false);
    match verb {
        Verb::List | Verb::Get => a.read_only(true),
        Verb::Create => a.read_only(false).destructive(false).idempotent(false),
        Verb::Delete => a.read_only(false).destructive(true).idempotent(true),
        // Repeating the same replacement, merge, archive or action leaves the same state.
        Verb::Update | Verb::Patch | Verb::Archive | Verb::Process => {
            a.read_only(false).destructive(false).idempotent(true)
        }
    }
}

fn item_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "uid": {"type": "string", "description": "The item's uid."},
            "version": {"type": "integer", "description": "Goes up by one on every change; pass it as if_match."},
            "updatedAt": {"type": "string", "description": "Last change, RFC 3339."},
            "deletedAt": {"type": "string", "description": "When it was deleted (only for deleted items)."},
            "payload": {"type": "object", "description": "The item's fields, plus uid, updatedTs and sync."}
        },
        "required": ["uid", "version", "payload"]
    })
}

fn output_schema(verb: Verb) -> Arc<JsonObject> {
    schema_object(match verb {
        Verb::List => json!({
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": item_schema()},
                "nextCursor": {"type": "string", "description": "Pass as cursor to get the next page."},
                "hasMore": {"type": "boolean", "description": "True when the page was full, so there may be more."}
            },
            "required": ["items", "hasMore"]
        }),
        // The seed API answers {uid, version, updatedAt, deletedAt}; the current one the
        // whole item: both fit.
        Verb::Delete => json!({
            "type": "object",
            "properties": {
                "uid": {"type": "string"},
                "version": {"type": "integer"},
                "updatedAt": {"type": "string"},
                "deletedAt": {"type": "string"},
                "payload": {"type": "object", "description": "The deleted item's fields (current API only)."}
            },
            "required": ["uid", "version", "deletedAt"]
        }),
        _ => item_schema(),
    })
}

fn health_tool() -> Tool {
    let mut t = Tool::new(
        HEALTH_CHECK,
        "Check that the gateway is up and whether the ToolBridge API answers its health check. \
         Takes no parameters; needs no token.",
        schema_object(Value::Object(input_schema(&[]))),
    );
    t.title = Some("Check gateway and API health".into());
    t.annotations = Some(
        ToolAnnotations::with_title("Check gateway and API health")
            .read_only(true)
            .open_world(false),
    );
    t.output_schema = Some(schema_object(json!({
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "gateway": {"type": "string"},
            "api": {"type": "string", "enum": ["reachable", "unreachable", "unhealthy"]},
            "detail": {"type": "string"},
            "version": {"type": "string"}
        },
        "required": ["status", "gateway", "api", "version"]
    })));
    t
}

fn build(generation: Generation) -> ToolSet {
    let mut tools = vec![health_tool()];
    let mut by_name = HashMap::new();
    by_name.insert(
        HEALTH_CHECK.to_owned(),
        ToolSpec {
            target: Target::Health,
            fields: Vec::new(),
        },
    );
    for e in entities(generation) {
        for verb in Verb::ALL {
            let name = e.tool_name(verb);
            let fields = fields(e, verb);
            let mut tool = Tool::new(
                name.clone(),
                description(e, verb),
                schema_object(Value::Object(input_schema(&fields))),
            );
            tool.title = Some(title(e, verb));
            tool.annotations = Some(annotations(e, verb));
            tool.output_schema = Some(output_schema(verb));
            tool.meta = views::for_tool(e.singular, verb).map(|v| views::tool_meta(v.uri));
            tools.push(tool);
            by_name.insert(
                name,
                ToolSpec {
                    target: Target::Entity(e, verb),
                    fields,
                },
            );
        }
    }
    for (tool, review, fields) in edit::tools() {
        by_name.insert(
            tool.name.to_string(),
            ToolSpec {
                target: Target::Review(review),
                fields,
            },
        );
        tools.push(tool);
    }
    ToolSet { tools, by_name }
}

/// The tools of an API generation, built on first use.
pub(crate) fn tools(generation: Generation) -> &'static ToolSet {
    static SEED: OnceLock<ToolSet> = OnceLock::new();
    static CURRENT: OnceLock<ToolSet> = OnceLock::new();
    let cell = match generation {
        Generation::Seed => &SEED,
        Generation::Current => &CURRENT,
    };
    cell.get_or_init(|| build(generation))
}

#[cfg(test)]
mod tests;
