//! The rows of the catalog: one per entity of the API, with its fields. This file is the
//! only place an entity is described; everything else is derived from it.

use super::{Action, Entity};
use crate::config::Generation;
use crate::mcp::fields::{Field, Kind, Role};

const TITLE: Field = Field::required("title", "title", Kind::Text, "Title.");
const CONTENT: Field = Field::required("content", "content", Kind::Text, "Body text.");
const DESCRIPTION: Field = Field::optional(
    "description",
    "description",
    Kind::Text,
    "Longer description.",
);
const TAGS: Field = Field::optional("tags", "tags", Kind::TextList, "Tags, e.g. [\"work\"].");
const EXTRA: Field = Field::param(
    "additional_fields",
    Role::Extra,
    Kind::Object,
    false,
    "More payload keys, e.g. {\"color\":\"blue\"}; named ones win.",
);
const TASK_STATUS: Field = Field::optional(
    "status",
    "status",
    Kind::Text,
    "Status, e.g. \"open\", \"in_progress\", \"completed\".",
);
const TASK_LIST_UID: Field = Field::optional(
    "task_list_uid",
    "taskListUid",
    Kind::Uuid,
    "uid of its task list (see list_task_lists).",
);
const LIST_TITLE: Field = Field::required("title", "title", Kind::Text, "Name of the list.");
const CATEGORY_UID: Field = Field::optional(
    "category_uid",
    "categoryUid",
    Kind::Uuid,
    "uid of its task list category.",
);
const COLOR: Field = Field::optional("color", "color", Kind::Text, "Colour, e.g. \"#3366ff\".");
const ICON: Field = Field::optional("icon", "icon", Kind::Text, "Icon name or emoji.");
const CATEGORY_NAME: Field = Field::required("name", "name", Kind::Text, "Name of the category.");
const PARENT_CATEGORY: Field = Field::optional(
    "parent_uid",
    "parentUid",
    Kind::Uuid,
    "uid of the parent category, for nesting.",
);
const ORDER: Field = Field::optional(
    "order",
    "order",
    Kind::Integer {
        min: i64::MIN,
        max: i64::MAX,
    },
    "Position among its siblings (smaller first).",
);
const UNARCHIVE: &[Action] = &[Action {
    name: "unarchive",
    effect: "archived: false",
}];

/// Every entity of the API, in listing order.
pub(crate) static ENTITIES: [Entity; 7] = [
    Entity {
        singular: "note",
        plural: "notes",
        label: "note",
        label_plural: "notes",
        since: Generation::Seed,
        about: "Notes: documents with a title and content.",
        create: &[TITLE, CONTENT, TAGS, EXTRA],
        update: &[TITLE, CONTENT],
        links: &[],
        link_target: "",
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
        create_example: r#"{"title":"Groceries","content":"eggs, milk","tags":["home"]}"#,
    },
    Entity {
        singular: "task",
        plural: "tasks",
        label: "task",
        label_plural: "tasks",
        since: Generation::Seed,
        about: "Tasks: to-dos with a status, a priority, maybe a due date and a task list \
                (task_list_uid).",
        create: &[
            TITLE,
            DESCRIPTION,
            TASK_STATUS,
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
            TASK_LIST_UID,
            TAGS,
            EXTRA,
        ],
        update: &[TITLE, DESCRIPTION, TASK_STATUS, TASK_LIST_UID],
        links: &[],
        link_target: "",
        archive_effect: "sets status to \"archived\" (and done to true where the API tracks it)",
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
        create_example: r#"{"title":"File taxes","priority":"high","due_date":"2027-04-15"}"#,
    },
    Entity {
        singular: "comment",
        plural: "comments",
        label: "comment",
        label_plural: "comments",
        since: Generation::Seed,
        about: "Comments: on a note or a task (their parent, which must exist, not deleted).",
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
                "uid of the parent note or task (must exist, not deleted).",
            ),
            Field::optional("author", "author", Kind::Text, "Who wrote it."),
            TAGS,
            EXTRA,
        ],
        update: &[CONTENT],
        links: &["parentType", "parentUid"],
        link_target: "parent note or task (parent_type + parent_uid)",
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
        create_example: r#"{"content":"Looks good","parent_type":"note","parent_uid":"0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a"}"#,
    },
    Entity {
        singular: "chat",
        plural: "chats",
        label: "chat",
        label_plural: "chats",
        since: Generation::Seed,
        about: "Chats: conversations, made of chat messages.",
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
        link_target: "",
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
        create_example: r#"{"title":"Trip planning","participants":["ana","ben"]}"#,
    },
    Entity {
        singular: "chat_message",
        plural: "chat_messages",
        label: "chat message",
        label_plural: "chat messages",
        since: Generation::Seed,
        about: "Chat messages: in a chat (which must exist, not deleted).",
        create: &[
            Field::required(
                "chat_uid",
                "chatUid",
                Kind::Uuid,
                "uid of its chat (must exist, not deleted).",
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
        link_target: "chat (chat_uid)",
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
        create_example: r#"{"chat_uid":"0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a","content":"On my way","sender":"ana"}"#,
    },
    Entity {
        singular: "task_list",
        plural: "task_lists",
        label: "task list",
        label_plural: "task lists",
        since: Generation::Current,
        about: "Task lists group tasks (a task joins one through its task_list_uid) and may be \
                filed under a task list category. Deleting a list takes its tasks out of it.",
        create: &[LIST_TITLE, DESCRIPTION, CATEGORY_UID, COLOR, ICON, EXTRA],
        update: &[LIST_TITLE, DESCRIPTION, CATEGORY_UID, COLOR, ICON],
        links: &[],
        link_target: "",
        archive_effect: "sets archived to true",
        actions: UNARCHIVE,
        create_example: r##"{"title":"Groceries","color":"#33aa55"}"##,
    },
    Entity {
        singular: "task_list_category",
        plural: "task_list_categories",
        label: "task list category",
        label_plural: "task list categories",
        since: Generation::Current,
        about: "Task list categories file task lists; a category may nest under a parent category.",
        create: &[CATEGORY_NAME, PARENT_CATEGORY, ORDER, EXTRA],
        update: &[CATEGORY_NAME, PARENT_CATEGORY, ORDER],
        links: &[],
        link_target: "",
        archive_effect: "sets archived to true",
        actions: UNARCHIVE,
        create_example: r#"{"name":"Home","order":1}"#,
    },
];
