//! The entity table of contract sections 4 and 7.6: one row per entity, keyed by its path
//! segment, so that every route, every message and every state transition is data, not code
//! repeated seven times. A row says which generations have the entity; links and cascades
//! name their target by segment.

use serde_json::Value;

use super::config::Generation;

/// The generations that have an entity, or that perform a field write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gens {
    seed: bool,
    current: bool,
}

impl Gens {
    /// Both generations.
    pub(crate) const ALL: Self = Self {
        seed: true,
        current: true,
    };
    /// The current generation only.
    pub(crate) const CURRENT: Self = Self {
        seed: false,
        current: true,
    };

    /// Whether `generation` is one of them.
    pub(crate) fn has(self, generation: Generation) -> bool {
        match generation {
            Generation::Seed => self.seed,
            Generation::Current => self.current,
        }
    }
}

/// A constant JSON value a transition writes into the payload.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val {
    Str(&'static str),
    Bool(bool),
}

impl Val {
    pub(crate) fn to_json(self) -> Value {
        match self {
            Val::Str(s) => Value::String(s.to_owned()),
            Val::Bool(b) => Value::Bool(b),
        }
    }
}

/// One field write, `payload[field] = value`, in the generations `gens`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Set {
    pub(crate) field: &'static str,
    pub(crate) value: Val,
    pub(crate) gens: Gens,
}

/// A `process` action and its field writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Action {
    pub(crate) name: &'static str,
    pub(crate) sets: &'static [Set],
}

/// How an entity's payload must point at a live item of another entity.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Link {
    /// No link fields.
    None,
    /// `type_field` names the parent kind, one of `allowed` (wire name → segment), and
    /// `uid_field` its uid (comments: `parentType` + `parentUid`).
    Typed {
        type_field: &'static str,
        uid_field: &'static str,
        allowed: &'static [(&'static str, &'static str)],
    },
    /// `uid_field` names an item of the entity at segment `target` (chat messages: `chatUid`).
    Fixed {
        uid_field: &'static str,
        target: &'static str,
    },
}

/// What deleting an item also does, in the same step: every live item of `segment` whose
/// `field` equals the deleted uid (lowercase form) loses that field (task lists → tasks).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cascade {
    pub(crate) segment: &'static str,
    pub(crate) field: &'static str,
}

/// How `POST /v1/E/{uid}/process` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    /// Body first, then lookup, then action; a bad action is `400 invalid action: X`.
    BodyFirst,
    /// Lookup first, then body, then action; a bad action is `400 unknown action: X`.
    LookupFirst,
}

/// One entity of the API.
#[derive(Debug)]
pub(crate) struct EntityKind {
    /// The path segment, `/v1/{segment}`, and the key of the entity's data in each user's store.
    pub(crate) segment: &'static str,
    /// The name in messages: `note not found`, `failed to update chat message`.
    pub(crate) name: &'static str,
    /// The key of its count in the wipe answer (`chat_message`).
    pub(crate) wipe_key: &'static str,
    /// The generations that have it.
    pub(crate) gens: Gens,
    /// What `POST /v1/E/{uid}/archive` writes.
    pub(crate) archive: &'static [Set],
    /// What `POST /v1/E/{uid}/process` accepts.
    pub(crate) actions: &'static [Action],
    pub(crate) process: Process,
    /// The link fields checked on every write but `DELETE`.
    pub(crate) link: Link,
    pub(crate) on_delete: Option<Cascade>,
    /// current: the payload also carries the flat sync fields (`version`, `isDirty`,
    /// `isDeleted`, `remoteUpdatedAt`, `lastSyncedAt`).
    pub(crate) flat_sync: bool,
}

const fn set(field: &'static str, value: Val) -> Set {
    Set {
        field,
        value,
        gens: Gens::ALL,
    }
}

/// A write only the current generation performs (tasks' `done`).
const fn set_current(field: &'static str, value: Val) -> Set {
    Set {
        field,
        value,
        gens: Gens::CURRENT,
    }
}

const fn act(name: &'static str, sets: &'static [Set]) -> Action {
    Action { name, sets }
}

const ARCHIVED: Set = set("status", Val::Str("archived"));
const ARCHIVED_FLAG: Set = set("archived", Val::Bool(true));

/// Every entity. Adding one is adding a row.
pub(crate) static ENTITIES: &[EntityKind] = &[
    EntityKind {
        segment: "notes",
        name: "note",
        wipe_key: "note",
        gens: Gens::ALL,
        archive: &[ARCHIVED],
        actions: &[
            act("pin", &[set("pinned", Val::Bool(true))]),
            act("unpin", &[set("pinned", Val::Bool(false))]),
            act("archive", &[ARCHIVED]),
            act("unarchive", &[set("status", Val::Str("active"))]),
        ],
        process: Process::BodyFirst,
        link: Link::None,
        on_delete: None,
        flat_sync: true,
    },
    EntityKind {
        segment: "tasks",
        name: "task",
        wipe_key: "task",
        gens: Gens::ALL,
        archive: &[ARCHIVED, set_current("done", Val::Bool(true))],
        actions: &[
            act(
                "start",
                &[
                    set("status", Val::Str("in_progress")),
                    set_current("done", Val::Bool(false)),
                ],
            ),
            act(
                "complete",
                &[
                    set("status", Val::Str("completed")),
                    set_current("done", Val::Bool(true)),
                ],
            ),
            act(
                "reopen",
                &[
                    set("status", Val::Str("open")),
                    set_current("done", Val::Bool(false)),
                ],
            ),
        ],
        process: Process::BodyFirst,
        link: Link::None,
        on_delete: None,
        flat_sync: false,
    },
    EntityKind {
        segment: "comments",
        name: "comment",
        wipe_key: "comment",
        gens: Gens::ALL,
        archive: &[ARCHIVED],
        actions: &[
            act("resolve", &[set("status", Val::Str("resolved"))]),
            act("reopen", &[set("status", Val::Str("open"))]),
        ],
        process: Process::BodyFirst,
        // `chat` is not a parent type: the API refuses it (the reference sidecar's docs
        // offered it by mistake).
        link: Link::Typed {
            type_field: "parentType",
            uid_field: "parentUid",
            allowed: &[("note", "notes"), ("task", "tasks")],
        },
        on_delete: None,
        flat_sync: false,
    },
    EntityKind {
        segment: "chats",
        name: "chat",
        wipe_key: "chat",
        gens: Gens::ALL,
        archive: &[ARCHIVED_FLAG],
        actions: &[
            act("resolve", &[set("status", Val::Str("resolved"))]),
            act("reopen", &[set("status", Val::Str("active"))]),
        ],
        process: Process::BodyFirst,
        link: Link::None,
        on_delete: None,
        flat_sync: false,
    },
    EntityKind {
        segment: "chat_messages",
        name: "chat message",
        wipe_key: "chat_message",
        gens: Gens::ALL,
        archive: &[ARCHIVED_FLAG],
        actions: &[
            act("mark_read", &[set("read", Val::Bool(true))]),
            act("mark_delivered", &[set("delivered", Val::Bool(true))]),
        ],
        process: Process::BodyFirst,
        link: Link::Fixed {
            uid_field: "chatUid",
            target: "chats",
        },
        on_delete: None,
        flat_sync: false,
    },
    EntityKind {
        segment: "task_lists",
        name: "task_list",
        wipe_key: "task_list",
        gens: Gens::CURRENT,
        archive: &[ARCHIVED_FLAG],
        actions: &[act("unarchive", &[set("archived", Val::Bool(false))])],
        process: Process::LookupFirst,
        link: Link::None,
        on_delete: Some(Cascade {
            segment: "tasks",
            field: "taskListUid",
        }),
        flat_sync: false,
    },
    EntityKind {
        segment: "task_list_categories",
        name: "task_list_category",
        wipe_key: "task_list_category",
        gens: Gens::CURRENT,
        archive: &[ARCHIVED_FLAG],
        actions: &[act("unarchive", &[set("archived", Val::Bool(false))])],
        process: Process::LookupFirst,
        link: Link::None,
        on_delete: None,
        flat_sync: false,
    },
];

/// The entity at `segment`, whatever the generation.
pub(crate) fn by_segment(segment: &str) -> Option<&'static EntityKind> {
    ENTITIES.iter().find(|k| k.segment == segment)
}

/// The entities `generation` has, in the contract's order.
pub(crate) fn of(generation: Generation) -> impl Iterator<Item = &'static EntityKind> {
    ENTITIES.iter().filter(move |k| k.gens.has(generation))
}

/// Writes `sets` (those of `generation`) into `payload`.
pub(crate) fn apply(
    sets: &[Set],
    generation: Generation,
    payload: &mut serde_json::Map<String, Value>,
) {
    for s in sets.iter().filter(|s| s.gens.has(generation)) {
        payload.insert(s.field.to_owned(), s.value.to_json());
    }
}

impl EntityKind {
    /// The action called `name`, if this entity has one.
    pub(crate) fn action(&self, name: &str) -> Option<&'static Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The `400` message for an action this entity does not have.
    pub(crate) fn bad_action(&self, name: &str) -> String {
        match self.process {
            Process::BodyFirst => format!("invalid action: {name}"),
            Process::LookupFirst => format!("unknown action: {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rows_are_unique_and_links_point_at_rows() {
        let segments: HashSet<_> = ENTITIES.iter().map(|k| k.segment).collect();
        assert_eq!(segments.len(), ENTITIES.len());
        for kind in ENTITIES {
            let targets: Vec<&str> = match kind.link {
                Link::None => vec![],
                Link::Typed { allowed, .. } => {
                    for (name, target) in allowed {
                        assert_eq!(by_segment(target).unwrap().name, *name);
                    }
                    allowed.iter().map(|(_, t)| *t).collect()
                }
                Link::Fixed { target, .. } => vec![target],
            };
            let cascade = kind.on_delete.map(|c| c.segment);
            for target in targets.into_iter().chain(cascade) {
                let row = by_segment(target).unwrap_or_else(|| panic!("{target}"));
                // A target exists wherever the entity pointing at it does.
                for g in [Generation::Seed, Generation::Current] {
                    assert!(!kind.gens.has(g) || row.gens.has(g), "{}", kind.segment);
                }
            }
        }
        assert_eq!(of(Generation::Seed).count(), 5);
        assert_eq!(of(Generation::Current).count(), 7);
        let messages = by_segment("chat_messages").unwrap();
        assert!(messages.action("mark_read").is_some() && messages.action("pin").is_none());
    }

    #[test]
    fn current_only_writes() {
        let tasks = by_segment("tasks").unwrap();
        let mut seed = serde_json::Map::new();
        apply(tasks.archive, Generation::Seed, &mut seed);
        assert_eq!(
            Value::Object(seed),
            serde_json::json!({"status": "archived"})
        );
        let mut current = serde_json::Map::new();
        apply(tasks.archive, Generation::Current, &mut current);
        assert_eq!(current["done"], true);
    }
}
