//! The parameters several tools share, each written once.

use super::{Field, Kind, Role};

/// The item's uid (every verb that addresses one item).
pub(crate) const UID: Field = Field::param("uid", Role::Uid, Kind::Uuid, true, "The item's uid.");
/// The uid a create writes under (create; optional). Every create carries a uid (this one,
/// or one the gateway picks), so a create sent twice upserts one item (contract §4): a
/// model whose create had an unknown outcome repeats it with the uid the result named.
pub(crate) const CREATE_UID: Field = Field::param(
    "uid",
    Role::Uid,
    Kind::Uuid,
    false,
    "Optional uid to create under (an item with it is replaced).",
);
/// Whether soft-deleted items are wanted (list, get).
pub(crate) const INCLUDE_DELETED: Field = Field::param(
    "include_deleted",
    Role::IncludeDeleted,
    Kind::Bool,
    false,
    "With soft-deleted items.",
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
    "The version you read: refused if changed since.",
);
/// Page size, default 100 (list).
pub(crate) const LIMIT: Field = Field {
    default: Some(100),
    ..Field::param(
        "limit",
        Role::Limit,
        Kind::Integer { min: 1, max: 1000 },
        false,
        "Page size.",
    )
};
/// The next page's cursor (list). The API's cursors are about 70 characters; anything far
/// longer is not one of them.
pub(crate) const CURSOR: Field = Field::param(
    "cursor",
    Role::Cursor,
    Kind::Opaque { max: 1024 },
    false,
    "The previous page's nextCursor.",
);
/// The keys a patch merges (patch).
pub(crate) const UPDATES: Field = Field::param(
    "updates",
    Role::Updates,
    Kind::Object,
    true,
    "Payload keys to set, e.g. {\"title\":\"New\"}; others kept. Keys the API writes \
     (uid, sync, version, ...) are refused.",
);
/// Context for a process action.
pub(crate) const METADATA: Field = Field::param(
    "metadata",
    Role::Metadata,
    Kind::Object,
    false,
    "Context, e.g. {\"reason\":\"done\"}.",
);
/// More payload keys beside the named ones (update).
pub(crate) const EXTRA_UPDATE: Field = Field::param(
    "additional_fields",
    Role::Extra,
    Kind::Object,
    false,
    "More payload keys, e.g. {\"tags\":[\"work\"]}.",
);
/// The payload keys to return (list, get).
pub(crate) const FIELDS: Field = Field::param(
    "fields",
    Role::Fields,
    Kind::TextList,
    false,
    "Payload keys to return whole, e.g. [\"title\"]; unknown: absent.",
);
