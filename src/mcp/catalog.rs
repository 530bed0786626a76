//! The tool catalog: five entities × eight verbs, plus `health_check`.
//!
//! Everything that differs between entities is a row of [`ENTITIES`]; everything that
//! differs between verbs is a branch of [`Verb`]. A sixth entity is one more row.

use super::fields::{Field, Kind};

/// The eight things a tool can do to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
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
    pub const ALL: [Verb; 8] = [
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
    pub fn prefix(self) -> &'static str {
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
pub struct Action {
    /// The action name the API expects.
    pub name: &'static str,
    /// Its effect, for the tool description.
    pub effect: &'static str,
}

/// One entity of the API.
#[derive(Debug)]
pub struct Entity {
    /// Singular name used in tool names (`get_note`).
    pub singular: &'static str,
    /// Plural name used in `list_` tool names and as the API path segment.
    pub plural: &'static str,
    /// Human name (`chat message`).
    pub label: &'static str,
    /// One line on what the entity is, for descriptions.
    pub about: &'static str,
    /// Fields of `create_E`, besides the common ones.
    pub create: &'static [Field],
    /// Fields of `update_E`, besides `uid`, `if_match` and `additional_fields`.
    pub update: &'static [Field],
    /// Payload keys the API checks on every write and a PUT must repeat. `update_E`
    /// carries them over from the current item.
    pub links: &'static [&'static str],
    /// What archiving sets.
    pub archive_effect: &'static str,
    /// The `process_E` actions.
    pub actions: &'static [Action],
    /// Example `create_E` arguments, as JSON, for the description.
    pub create_example: &'static str,
}

impl Entity {
    /// The tool name for a verb (`list_chat_messages`, `get_chat_message`).
    pub fn tool_name(&self, verb: Verb) -> String {
        let noun = if verb == Verb::List {
            self.plural
        } else {
            self.singular
        };
        format!("{}_{noun}", verb.prefix())
    }

    /// The action names, for the `action` enum and error messages.
    pub fn action_names(&self) -> Vec<&'static str> {
        self.actions.iter().map(|a| a.name).collect()
    }
}

const TITLE: Field = Field::required("title", "title", Kind::Text, "Title.");
const CONTENT: Field = Field::required("content", "content", Kind::Text, "Body text.");
const DESCRIPTION: Field = Field::optional(
    "description",
    "description",
    Kind::Text,
    "Longer description.",
);
const TAGS: Field = Field::optional(
    "tags",
    "tags",
    Kind::TextList,
    "Tags, e.g. [\"work\", \"urgent\"].",
);
const EXTRA: Field = Field::optional(
    "additional_fields",
    "",
    Kind::Object,
    "Any other payload keys to store, merged into the payload, e.g. {\"color\": \"blue\"}. \
     Named parameters win over keys given here.",
);

/// The five entities of the API.
pub static ENTITIES: [Entity; 5] = [
    Entity {
        singular: "note",
        plural: "notes",
        label: "note",
        about: "Notes are free-form documents with a title and content.",
        create: &[TITLE, CONTENT, TAGS, EXTRA],
        update: &[TITLE, CONTENT],
        links: &[],
        archive_effect: "sets status to \"archived\"",
        actions: &[
            Action {
                name: "pin",
                effect: "pinned: true",
            },
            Action {
                name: "unpin",
                effect: "pinned: false",
            },
            Action {
                name: "archive",
                effect: "status: \"archived\"",
            },
            Action {
                name: "unarchive",
                effect: "status: \"active\"",
            },
        ],
        create_example: r#"{"title": "Groceries", "content": "eggs, milk", "tags": ["home"]}"#,
    },
    Entity {
        singular: "task",
        plural: "tasks",
        label: "task",
        about: "Tasks are to-dos with a status, a priority and an optional due date.",
        create: &[
            TITLE,
            DESCRIPTION,
            Field::optional(
                "status",
                "status",
                Kind::Text,
                "Status, e.g. \"open\", \"in_progress\", \"completed\".",
            ),
            Field::optional(
                "priority",
                "priority",
                Kind::Text,
                "Priority, e.g. \"low\", \"medium\", \"high\".",
            ),
            Field::optional(
                "due_date",
                "dueDate",
                Kind::Text,
                "Due date, ISO 8601, e.g. \"2026-12-01\" or \"2026-12-01T17:00:00Z\".",
            ),
            TAGS,
            EXTRA,
        ],
        update: &[
            TITLE,
            DESCRIPTION,
            Field::optional(
                "status",
                "status",
                Kind::Text,
                "Status, e.g. \"open\", \"in_progress\", \"completed\".",
            ),
        ],
        links: &[],
        archive_effect: "sets status to \"archived\"",
        actions: &[
            Action {
                name: "start",
                effect: "status: \"in_progress\"",
            },
            Action {
                name: "complete",
                effect: "status: \"completed\"",
            },
            Action {
                name: "reopen",
                effect: "status: \"open\"",
            },
        ],
        create_example: r#"{"title": "File taxes", "priority": "high", "due_date": "2027-04-15"}"#,
    },
    Entity {
        singular: "comment",
        plural: "comments",
        label: "comment",
        about: "Comments are attached to a note or a task (their parent), which must exist and not be deleted.",
        create: &[
            CONTENT,
            Field::required(
                "parent_type",
                "parentType",
                Kind::Enum(&["note", "task"]),
                "Kind of parent: \"note\" or \"task\".",
            ),
            Field::required(
                "parent_uid",
                "parentUid",
                Kind::Uuid,
                "uid of the parent note or task.",
            ),
            Field::optional("author", "author", Kind::Text, "Who wrote it."),
            TAGS,
            EXTRA,
        ],
        update: &[CONTENT],
        links: &["parentType", "parentUid"],
        archive_effect: "sets status to \"archived\"",
        actions: &[
            Action {
                name: "resolve",
                effect: "status: \"resolved\"",
            },
            Action {
                name: "reopen",
                effect: "status: \"open\"",
            },
        ],
        create_example: r#"{"content": "Looks good", "parent_type": "note", "parent_uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a"}"#,
    },
    Entity {
        singular: "chat",
        plural: "chats",
        label: "chat",
        about: "Chats are conversations; their messages are chat messages.",
        create: &[
            TITLE,
            DESCRIPTION,
            Field::optional(
                "participants",
                "participants",
                Kind::TextList,
                "Participant names or ids.",
            ),
            Field::optional(
                "archived",
                "archived",
                Kind::Bool,
                "Create it already archived.",
            ),
            TAGS,
            EXTRA,
        ],
        update: &[TITLE, DESCRIPTION],
        links: &[],
        archive_effect: "sets archived to true",
        actions: &[
            Action {
                name: "resolve",
                effect: "status: \"resolved\"",
            },
            Action {
                name: "reopen",
                effect: "status: \"active\"",
            },
        ],
        create_example: r#"{"title": "Trip planning", "participants": ["ana", "ben"]}"#,
    },
    Entity {
        singular: "chat_message",
        plural: "chat_messages",
        label: "chat message",
        about: "Chat messages belong to a chat, which must exist and not be deleted.",
        create: &[
            Field::required(
                "chat_uid",
                "chatUid",
                Kind::Uuid,
                "uid of the chat this message belongs to.",
            ),
            CONTENT,
            Field::optional("sender", "sender", Kind::Text, "Who sent it."),
            Field::optional(
                "message_type",
                "messageType",
                Kind::Text,
                "Kind of message, e.g. \"text\".",
            ),
            TAGS,
            EXTRA,
        ],
        update: &[CONTENT],
        links: &["chatUid"],
        archive_effect: "sets archived to true",
        actions: &[
            Action {
                name: "mark_read",
                effect: "read: true",
            },
            Action {
                name: "mark_delivered",
                effect: "delivered: true",
            },
        ],
        create_example: r#"{"chat_uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a", "content": "On my way", "sender": "ana"}"#,
    },
];

/// Name of the tool that reports gateway and API health.
pub const HEALTH_CHECK: &str = "health_check";

/// Every tool name, in listing order: `health_check`, then entity × verb.
pub fn tool_names() -> Vec<String> {
    std::iter::once(HEALTH_CHECK.to_owned())
        .chain(
            ENTITIES
                .iter()
                .flat_map(|e| Verb::ALL.iter().map(move |v| e.tool_name(*v))),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 41 names of the sidecar we replace (contract section 6), written out by hand.
    const CONTRACT: &str = "health_check \
        list_notes get_note create_note update_note patch_note delete_note archive_note process_note \
        list_tasks get_task create_task update_task patch_task delete_task archive_task process_task \
        list_comments get_comment create_comment update_comment patch_comment delete_comment archive_comment process_comment \
        list_chats get_chat create_chat update_chat patch_chat delete_chat archive_chat process_chat \
        list_chat_messages get_chat_message create_chat_message update_chat_message patch_chat_message \
        delete_chat_message archive_chat_message process_chat_message";

    #[test]
    fn forty_one_unique_names_equal_to_the_contract() {
        let names = tool_names();
        let unique: std::collections::BTreeSet<_> = names.iter().map(String::as_str).collect();
        assert_eq!(names.len(), 41);
        assert_eq!(unique.len(), 41);
        let contract: std::collections::BTreeSet<_> = CONTRACT.split_whitespace().collect();
        assert_eq!(unique, contract);
    }

    #[test]
    fn create_fields_match_the_contract_parameters() {
        let want = [
            ("note", "title content tags additional_fields"),
            (
                "task",
                "title description status priority due_date tags additional_fields",
            ),
            (
                "comment",
                "content parent_type parent_uid author tags additional_fields",
            ),
            (
                "chat",
                "title description participants archived tags additional_fields",
            ),
            (
                "chat_message",
                "chat_uid content sender message_type tags additional_fields",
            ),
        ];
        for (entity, fields) in want {
            let e = ENTITIES.iter().find(|e| e.singular == entity).unwrap();
            let got: Vec<_> = e.create.iter().map(|f| f.name).collect();
            assert_eq!(got.join(" "), fields, "{entity}");
        }
    }
}
