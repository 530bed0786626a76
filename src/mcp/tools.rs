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
            CREATE_UID, CURSOR, EXTRA_UPDATE, FIELDS, IF_MATCH, INCLUDE_DELETED, LIMIT, METADATA,
            UID, UPDATES,
        },
        schema_object,
    },
    shape::PREVIEW_CHARS,
    views,
};
use crate::config::{Generation, ResultShape};

mod choice;
pub(crate) use choice::Choice;

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
    /// The listing, in order, with the output schemas of the compact result shape.
    pub(crate) tools: Vec<Tool>,
    /// The same with the output schemas of the full result shape.
    full: Vec<Tool>,
    by_name: HashMap<String, ToolSpec>,
}

impl ToolSet {
    /// The listing whose output schemas describe results of `shape`.
    pub(crate) fn listing(&self, shape: ResultShape) -> &[Tool] {
        match shape {
            ResultShape::Compact => &self.tools,
            ResultShape::Full => &self.full,
        }
    }

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
        Verb::List => vec![LIMIT, CURSOR, INCLUDE_DELETED, FIELDS],
        Verb::Get => vec![UID, INCLUDE_DELETED, FIELDS],
        Verb::Create => [e.create, &[CREATE_UID]].concat(),
        Verb::Update => [&[UID][..], e.update, &[IF_MATCH, EXTRA_UPDATE]].concat(),
        Verb::Patch => vec![UID, UPDATES],
        Verb::Delete | Verb::Archive => vec![UID],
        Verb::Process => {
            // Built once per process (the catalog is a OnceLock), so leaking is bounded.
            let names: &'static [&'static str] = Box::leak(e.action_names().into_boxed_slice());
            let doc: &'static str = Box::leak(
                format!(
                    "What it sets: {}.",
                    e.actions
                        .iter()
                        .map(|a| format!("{}: {}", a.name, a.effect))
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
        Verb::Patch => format!("Patch a {}", e.label),
        Verb::Delete => format!("Delete a {}", e.label),
        Verb::Archive => format!("Archive a {}", e.label),
        Verb::Process => format!("Act on a {}", e.label),
    }
}

/// An example uid, for the examples of the verbs that take one.
const EG_UID: &str = r#""uid":"0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a""#;

/// What the tool does and when to use it. What every tool shares (uids, versions and
/// if_match, the result's shape) is said once, in the server instructions
/// ([`crate::mcp::catalog::instructions`]); parameters are described in the schema.
fn description(e: &Entity, verb: Verb) -> String {
    let (l, s) = (e.label, e.singular);
    match verb {
        Verb::List => format!(
            "{about} Text over {PREVIEW_CHARS} characters is previewed; \
             get_{s} gives it whole. \
             Example: {{\"limit\":20,\"fields\":[\"title\"]}}.",
            about = e.about,
        ),
        Verb::Get => format!("One {l}, whole. Example: {{{EG_UID}}}."),
        Verb::Create => format!(
            "Create a {l}; returns it with its uid. Example: {ex}.",
            ex = e.create_example
        ),
        Verb::Update => {
            let links = if e.links.is_empty() {
                String::new()
            } else {
                format!(" Its {} are carried over.", e.links.join(", "))
            };
            format!(
                "Replace a {l}'s payload (PUT): keys not given are removed (patch_{s} keeps them).{links}"
            )
        }
        Verb::Patch => format!(
            "Set some payload keys of a {l}, keep the rest. \
             Example: {{{EG_UID},\"updates\":{{\"title\":\"New title\"}}}}."
        ),
        Verb::Delete => format!(
            "Soft-delete a {l} (then read-only, with include_deleted). \
             Example: {{{EG_UID}}}."
        ),
        Verb::Archive => format!(
            "Archive a {l}: {effect}. Example: {{{EG_UID}}}.",
            effect = e.archive_effect
        ),
        Verb::Process => format!(
            "A state action on a {l}. Example: {{{EG_UID},\"action\":\"{first}\"}}.",
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

/// The schema of one item in results of `shape`. What its keys mean (version, deletedAt) is
/// said once, in the server instructions.
/// The item of a reading tool's result (list, get): what the payload holds in `shape`.
/// The writing tools' results are the same item; their schemas only require its uid and
/// version, and the server instructions describe an item once.
fn item_schema(shape: ResultShape) -> Value {
    let payload = match shape {
        ResultShape::Compact => "Its own fields, no sync bookkeeping.",
        ResultShape::Full => "Its fields and the API's sync bookkeeping.",
    };
    json!({
        "type": "object",
        "properties": {
            "uid": {"type": "string"},
            "version": {"type": "integer"},
            "payload": {"type": "object", "description": payload}
        },
        "required": ["uid", "version"]
    })
}

fn output_schema(verb: Verb, shape: ResultShape) -> Arc<JsonObject> {
    schema_object(match verb {
        Verb::List => {
            let mut item = item_schema(shape);
            item["properties"]["cut"] = json!({"type": "object"});
            json!({
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": item},
                    "nextCursor": {"type": "string"},
                    "hasMore": {"type": "boolean"},
                    "bounded": {"type": "boolean"}
                },
                "required": ["items", "hasMore"]
            })
        }
        // The seed API answers {uid, version, updatedAt, deletedAt}; the current one the
        // whole item: both fit.
        Verb::Delete => json!({"type": "object", "required": ["uid", "version", "deletedAt"]}),
        Verb::Get => item_schema(shape),
        _ => json!({"type": "object", "required": ["uid", "version"]}),
    })
}

fn health_tool() -> Tool {
    let mut t = Tool::new(
        HEALTH_CHECK,
        "Whether the gateway and the ToolBridge API are up. No parameters; needs no token.",
        schema_object(Value::Object(input_schema(&[]))),
    );
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
            // The display title lives in the annotations only: clients read `title` first
            // and `annotations.title` next, so one copy serves every revision.
            tool.annotations = Some(annotations(e, verb));
            tool.output_schema = Some(output_schema(verb, ResultShape::Compact));
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
    let full = tools
        .iter()
        .map(|t| {
            let mut t = t.clone();
            if let Some((
                _,
                ToolSpec {
                    target: Target::Entity(_, verb),
                    ..
                },
            )) = by_name.get_key_value(t.name.as_ref())
            {
                t.output_schema = Some(output_schema(*verb, ResultShape::Full));
            }
            t
        })
        .collect();
    ToolSet {
        tools,
        full,
        by_name,
    }
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
