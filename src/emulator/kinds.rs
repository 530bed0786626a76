//! The entity table of contract section 4: one row per entity, so that every route, every
//! message and every state transition is data, not code repeated five times.

use serde_json::Value;

/// A constant JSON value a transition writes into the payload.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val {
    Str(&'static str),
    Bool(bool),
}

impl Val {
    pub fn to_json(self) -> Value {
        match self {
            Val::Str(s) => Value::String(s.to_owned()),
            Val::Bool(b) => Value::Bool(b),
        }
    }
}

/// One field write: `payload[field] = value`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Set {
    pub field: &'static str,
    pub value: Val,
}

/// A `process` action and the field write it performs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Action {
    pub name: &'static str,
    pub set: Set,
}

/// How an entity's payload must point at a live item of another entity.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Link {
    /// No link fields.
    None,
    /// `type_field` names the parent kind (one of `allowed`: wire name → entity index) and
    /// `uid_field` its uid (comments: `parentType` + `parentUid`).
    Typed {
        type_field: &'static str,
        uid_field: &'static str,
        allowed: &'static [(&'static str, usize)],
    },
    /// `uid_field` names an item of one fixed entity (chat messages: `chatUid` of a chat).
    Fixed {
        uid_field: &'static str,
        target: usize,
    },
}

/// One entity of the API.
#[derive(Debug)]
pub(crate) struct EntityKind {
    /// Position in [`ENTITIES`], also the index of its store in each user's data.
    pub index: usize,
    /// The path segment: `/v1/{segment}`.
    pub segment: &'static str,
    /// The name used in messages: `note not found`, `failed to update chat message`.
    pub name: &'static str,
    /// What `POST /v1/E/{uid}/archive` writes.
    pub archive: Set,
    /// What `POST /v1/E/{uid}/process` accepts.
    pub actions: &'static [Action],
    /// The link fields checked on every write.
    pub link: Link,
}

const fn set(field: &'static str, value: Val) -> Set {
    Set { field, value }
}

const fn act(name: &'static str, field: &'static str, value: Val) -> Action {
    Action {
        name,
        set: set(field, value),
    }
}

const NOTES: usize = 0;
const TASKS: usize = 1;
const CHATS: usize = 3;

/// How many entities there are (the size of each user's store array).
pub(crate) const ENTITY_COUNT: usize = 5;

/// Every entity, in the contract's order. Adding one is adding a row.
pub(crate) static ENTITIES: [EntityKind; ENTITY_COUNT] = [
    EntityKind {
        index: NOTES,
        segment: "notes",
        name: "note",
        archive: set("status", Val::Str("archived")),
        actions: &[
            act("pin", "pinned", Val::Bool(true)),
            act("unpin", "pinned", Val::Bool(false)),
            act("archive", "status", Val::Str("archived")),
            act("unarchive", "status", Val::Str("active")),
        ],
        link: Link::None,
    },
    EntityKind {
        index: TASKS,
        segment: "tasks",
        name: "task",
        archive: set("status", Val::Str("archived")),
        actions: &[
            act("start", "status", Val::Str("in_progress")),
            act("complete", "status", Val::Str("completed")),
            act("reopen", "status", Val::Str("open")),
        ],
        link: Link::None,
    },
    EntityKind {
        index: 2,
        segment: "comments",
        name: "comment",
        archive: set("status", Val::Str("archived")),
        actions: &[
            act("resolve", "status", Val::Str("resolved")),
            act("reopen", "status", Val::Str("open")),
        ],
        // `chat` is not a parent type: the API refuses it (the reference sidecar's docs
        // offered it by mistake).
        link: Link::Typed {
            type_field: "parentType",
            uid_field: "parentUid",
            allowed: &[("note", NOTES), ("task", TASKS)],
        },
    },
    EntityKind {
        index: CHATS,
        segment: "chats",
        name: "chat",
        archive: set("archived", Val::Bool(true)),
        actions: &[
            act("resolve", "status", Val::Str("resolved")),
            act("reopen", "status", Val::Str("active")),
        ],
        link: Link::None,
    },
    EntityKind {
        index: 4,
        segment: "chat_messages",
        name: "chat message",
        archive: set("archived", Val::Bool(true)),
        actions: &[
            act("mark_read", "read", Val::Bool(true)),
            act("mark_delivered", "delivered", Val::Bool(true)),
        ],
        link: Link::Fixed {
            uid_field: "chatUid",
            target: CHATS,
        },
    },
];

impl EntityKind {
    /// The action called `name`, if this entity has one.
    pub fn action(&self, name: &str) -> Option<&'static Action> {
        self.actions.iter().find(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_match_positions_and_links_point_inside() {
        for (i, kind) in ENTITIES.iter().enumerate() {
            assert_eq!(kind.index, i, "{}", kind.segment);
            match kind.link {
                Link::None => {}
                Link::Typed { allowed, .. } => {
                    for (name, target) in allowed {
                        assert_eq!(ENTITIES[*target].name, *name);
                    }
                }
                Link::Fixed { target, .. } => assert!(target < ENTITIES.len()),
            }
        }
        assert!(ENTITIES[4].action("mark_read").is_some());
        assert!(ENTITIES[4].action("pin").is_none());
    }
}
