//! The catalog: the one home of what an entity is (names, fields, links, actions, and
//! which API generations have it). Tools, schemas, descriptions, instructions, advice in
//! error messages and the tests' counts are all derived from `ENTITIES`; everything that
//! differs between verbs is a branch of `Verb`. A new entity is one more row (in
//! `catalog/rows.rs`) plus its fields.

mod rows;

pub(crate) use rows::ENTITIES;

use super::fields::Field;
use crate::config::Generation;

/// The eight things a tool can do to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Verb {
    /// `list_E`: a page of items, oldest change first.
    List,
    /// `get_E`: one item.
    Get,
    /// `create_E`.
    Create,
    /// `update_E`: replace the payload (PUT).
    Update,
    /// `patch_E`: shallow-merge some keys into the payload.
    Patch,
    /// `delete_E`: soft delete.
    Delete,
    /// `archive_E`.
    Archive,
    /// `process_E`: a state transition by action name.
    Process,
}

impl Verb {
    /// Every verb, in the order tools are listed.
    pub(crate) const ALL: [Verb; 8] = [
        Verb::List,
        Verb::Get,
        Verb::Create,
        Verb::Update,
        Verb::Patch,
        Verb::Delete,
        Verb::Archive,
        Verb::Process,
    ];

    /// The tool-name prefix.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Verb::List => "list",
            Verb::Get => "get",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::Archive => "archive",
            Verb::Process => "process",
        }
    }
}

/// A process action and what it does to the payload.
#[derive(Debug)]
pub(crate) struct Action {
    /// The action name the API expects.
    pub(crate) name: &'static str,
    /// Its effect, for the tool description.
    pub(crate) effect: &'static str,
}

/// One entity of the API.
#[derive(Debug)]
pub(crate) struct Entity {
    /// Singular name used in tool names (`get_note`).
    pub(crate) singular: &'static str,
    /// Plural name used in `list_` tool names and as the API path segment.
    pub(crate) plural: &'static str,
    /// Human name (`chat message`).
    pub(crate) label: &'static str,
    /// Human plural (`chat messages`, `task list categories`).
    pub(crate) label_plural: &'static str,
    /// The oldest API generation that has it.
    pub(crate) since: Generation,
    /// One line on what the entity is, for descriptions.
    pub(crate) about: &'static str,
    /// Fields of `create_E`, besides the common ones.
    pub(crate) create: &'static [Field],
    /// Fields of `update_E`, besides `uid`, `if_match` and `additional_fields`.
    pub(crate) update: &'static [Field],
    /// Payload keys the API checks on every write and a PUT must repeat. `update_E`
    /// carries them over from the current item.
    pub(crate) links: &'static [&'static str],
    /// What the link fields point at, for advice when the API refuses a write
    /// (`its parent note or task (parent_type + parent_uid)`); empty without links.
    pub(crate) link_target: &'static str,
    /// What archiving sets.
    pub(crate) archive_effect: &'static str,
    /// The `process_E` actions.
    pub(crate) actions: &'static [Action],
    /// Example `create_E` arguments, as JSON, for the description.
    pub(crate) create_example: &'static str,
}

impl Entity {
    /// The tool name for a verb (`list_chat_messages`, `get_chat_message`).
    pub(crate) fn tool_name(&self, verb: Verb) -> String {
        let noun = if verb == Verb::List {
            self.plural
        } else {
            self.singular
        };
        format!("{}_{noun}", verb.prefix())
    }

    /// The action names, for the `action` enum and error messages.
    pub(crate) fn action_names(&self) -> Vec<&'static str> {
        self.actions.iter().map(|a| a.name).collect()
    }

    /// Whether an API of this generation has the entity.
    pub(crate) fn offered_by(&self, generation: Generation) -> bool {
        generation >= self.since
    }
}

/// The entities an API of this generation has, in listing order.
pub(crate) fn entities(generation: Generation) -> impl Iterator<Item = &'static Entity> {
    ENTITIES.iter().filter(move |e| e.offered_by(generation))
}

/// Name of the tool that reports gateway and API health.
pub(crate) const HEALTH_CHECK: &str = "health_check";

/// The note edit review (`src/mcp/edit.rs`): shows a proposed edit by hunks in a view.
pub const EDIT_NOTE_UI: &str = "edit_note_ui";
/// The note edit review's apply step, which only its view calls.
pub const APPLY_NOTE_EDIT: &str = "apply_note_edit";
/// The tools that are not entity × verb, after them in the listing.
pub const REVIEW_TOOLS: [&str; 2] = [EDIT_NOTE_UI, APPLY_NOTE_EDIT];

/// Every tool name for a generation, in listing order: `health_check`, entity × verb,
/// then the review tools.
pub fn tool_names(generation: Generation) -> Vec<String> {
    std::iter::once(HEALTH_CHECK.to_owned())
        .chain(entities(generation).flat_map(|e| Verb::ALL.iter().map(move |v| e.tool_name(*v))))
        .chain(REVIEW_TOOLS.iter().map(|t| (*t).to_owned()))
        .collect()
}

/// The server instructions for a generation: what the tools cover, from the rows, and what
/// every tool shares, said once here instead of in each description. `previews`: list pages
/// shorten long text (the compact result shape).
pub(crate) fn instructions(generation: Generation, previews: bool) -> String {
    let names: Vec<&str> = entities(generation).map(|e| e.label_plural).collect();
    let (last, rest) = names.split_last().expect("at least one entity");
    let lists = if previews {
        "They preview long text (cut: each previewed key's full length); get_ tools return an item whole; \
         both take fields to return only some payload keys, whole."
    } else {
        "list_ and get_ tools take fields to return only some payload keys."
    };
    format!(
        "Tools for the user's ToolBridge data: {} and {last}. Each kind has list_, get_, create_, \
         update_ (replace), patch_ (edit some fields), delete_, archive_ and process_ (state actions) \
         tools. Items are addressed by uid; pass the version you read as if_match to avoid \
         overwriting concurrent edits. A create whose outcome is unknown may be retried with the \
         uid its result named: the same item is written, never a second one. list_ tools page, \
         oldest change first: while hasMore, call again with cursor=nextCursor; bounded: fewer \
         items than asked, to keep the result small. {lists} An item is its uid, version (+1 per change: the if_match \
         value), updatedAt, deletedAt (only when deleted) and payload (its fields). Unknown \
         parameters are refused.",
        rest.join(", ")
    )
}

#[cfg(test)]
mod tests;
