//! The parameters several tools share, each written once.

use super::{Field, Kind, Role};

/// The item's uid (every verb that addresses one item).
pub(crate) const UID: Field = Field::param(
    "uid",
    Role::Uid,
    Kind::Uuid,
    true,
    "uid of the item (a UUID, as returned by create or list).",
);
/// The uid a create writes under (create; optional). Every create carries a uid (this one,
/// or one the gateway picks), so a create sent twice upserts one item (contract §4): a
/// model whose create had an unknown outcome repeats it with the uid the result named.
pub(crate) const CREATE_UID: Field = Field::param(
    "uid",
    Role::Uid,
    Kind::Uuid,
    false,
    "Optional uid (a UUID) to create the item under; without it one is picked. To repeat a create whose outcome was      unknown, pass the uid its result named: the same item is written again, never a second one. An item that      already has this uid is replaced.",
);
/// Whether soft-deleted items are wanted (list, get).
pub(crate) const INCLUDE_DELETED: Field = Field::param(
    "include_deleted",
    Role::IncludeDeleted,
    Kind::Bool,
    false,
    "Also return soft-deleted items (default false).",
);
/// The version a write is conditional on (update).
pub(crate) const IF_MATCH: Field = Field::param(
    "if_match",
    Role::IfMatch,
    Kind::Integer {
        min: 1,
        max: i64::MAX,
    },
    false,
    "The version you last read. The change is refused if the item has changed since, instead of overwriting someone else's edit.",
);
/// Page size, default 100 (list).
pub(crate) const LIMIT: Field = Field {
    default: Some(100),
    ..Field::param(
        "limit",
        Role::Limit,
        Kind::Integer { min: 1, max: 1000 },
        false,
        "Page size, 1 to 1000 (default 100).",
    )
};
/// The next page's cursor (list). The API's cursors are about 70 characters; anything far
/// longer is not one of them.
pub(crate) const CURSOR: Field = Field::param(
    "cursor",
    Role::Cursor,
    Kind::Opaque { max: 1024 },
    false,
    "nextCursor from the previous page; omit for the first page.",
);
/// The keys a patch merges (patch).
pub(crate) const UPDATES: Field = Field::param(
    "updates",
    Role::Updates,
    Kind::Object,
    true,
    "Payload keys to set, e.g. {\"title\": \"New title\"}. Other keys are kept. Keys the server \
     writes itself (uid, sync, version, updatedTs, ...) are refused.",
);
/// Context for a process action.
pub(crate) const METADATA: Field = Field::param(
    "metadata",
    Role::Metadata,
    Kind::Object,
    false,
    "Optional context for the action, e.g. {\"reason\": \"done\"}.",
);
/// More payload keys beside the named ones (update).
pub(crate) const EXTRA_UPDATE: Field = Field::param(
    "additional_fields",
    Role::Extra,
    Kind::Object,
    false,
    "Other payload keys to store alongside the named ones, e.g. {\"tags\": [\"work\"]}.",
);
