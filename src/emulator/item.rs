//! One stored item and its JSON shapes (contract sections 4 and 7.7).
//!
//! The stored payload holds only the client's fields; the server fields (`uid`,
//! `updatedTs`, `sync`, and in the current generation `updateTime` and the notes' flat
//! sync fields) are written at serialization time. That makes "server fields overwrite
//! anything the client sent under those names" true by construction, and lets responses be
//! serialized straight from the store without cloning the payload.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::config::Generation;
use super::kinds::EntityKind;

const SEED_FIELDS: &[&str] = &["uid", "updatedTs", "sync"];
const CURRENT_FIELDS: &[&str] = &["uid", "updatedTs", "sync", "updateTime"];
const CURRENT_FLAT_FIELDS: &[&str] = &[
    "uid",
    "updatedTs",
    "sync",
    "updateTime",
    "version",
    "isDirty",
    "isDeleted",
    "remoteUpdatedAt",
    "lastSyncedAt",
];

/// One entity item of one user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) uid: Uuid,
    /// 1 on creation, +1 per accepted change.
    pub(crate) version: i64,
    /// The ordering key of lists.
    pub(crate) updated_ms: i64,
    /// `updated_ms` formatted once, as it is read far more often than written.
    pub(crate) updated_at: String,
    /// Set by a soft delete; such an item is only changed again by an upsert (`POST`).
    pub(crate) deleted_at: Option<String>,
    /// The client's fields, server fields removed.
    pub(crate) payload: Map<String, Value>,
    /// Set by the task-list delete cascade until the next write: its `updatedTs` and
    /// `updateTime` in three-digit form, and a `sync.updatedAt` (the API's SQL writes them so).
    pub(crate) cascade_stamp: Option<String>,
}

/// How items of one entity serialize in one generation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) generation: Generation,
    flat_sync: bool,
}

impl Shape {
    pub(crate) fn of(kind: &EntityKind, generation: Generation) -> Self {
        Self {
            generation,
            flat_sync: kind.flat_sync && generation == Generation::Current,
        }
    }

    /// The payload keys the server owns: never stored from a client body.
    pub(crate) fn server_fields(self) -> &'static [&'static str] {
        match (self.generation, self.flat_sync) {
            (Generation::Seed, _) => SEED_FIELDS,
            (Generation::Current, false) => CURRENT_FIELDS,
            (Generation::Current, true) => CURRENT_FLAT_FIELDS,
        }
    }

    /// Removes the server-owned keys from a client object.
    pub(crate) fn client_fields(self, mut body: Map<String, Value>) -> Map<String, Value> {
        for key in self.server_fields() {
            body.remove(*key);
        }
        body
    }

    /// The answer to a `DELETE`: seed the four-field summary, current the whole item.
    pub(crate) fn deleted(self, item: &Item) -> Deleted<'_> {
        match self.generation {
            Generation::Seed => Deleted::Summary(item),
            Generation::Current => Deleted::Full(ItemJson(item, self)),
        }
    }
}

/// `{"uid","version","updatedAt","deletedAt"?,"payload"}`.
pub(crate) struct ItemJson<'a>(pub(crate) &'a Item, pub(crate) Shape);

/// The payload with its server fields.
struct PayloadJson<'a>(&'a Item, Shape);

/// `{"version","isDeleted","deletedAt"?,"updatedAt"?}`.
struct SyncJson<'a>(&'a Item);

/// The answer to a soft delete.
pub(crate) enum Deleted<'a> {
    /// seed: `{"uid","version","updatedAt","deletedAt"}`, no payload.
    Summary(&'a Item),
    /// current: the full item, deleted payload included.
    Full(ItemJson<'a>),
}

/// A list page: `{"items": [...], "nextCursor"?}`.
pub(crate) struct PageJson<'a> {
    pub(crate) items: Vec<&'a Item>,
    pub(crate) next_cursor: Option<String>,
    pub(crate) shape: Shape,
}

impl Serialize for ItemJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let item = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("uid", &item.uid)?;
        map.serialize_entry("version", &item.version)?;
        map.serialize_entry("updatedAt", &item.updated_at)?;
        if let Some(at) = &item.deleted_at {
            map.serialize_entry("deletedAt", at)?;
        }
        map.serialize_entry("payload", &PayloadJson(item, self.1))?;
        map.end()
    }
}

impl Serialize for PayloadJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (item, shape) = (self.0, self.1);
        let fields = shape.server_fields();
        let mut map = s.serialize_map(Some(item.payload.len() + fields.len()))?;
        for (k, v) in &item.payload {
            map.serialize_entry(k, v)?;
        }
        let stamp = item.cascade_stamp.as_ref().unwrap_or(&item.updated_at);
        map.serialize_entry("uid", &item.uid)?;
        map.serialize_entry("updatedTs", stamp)?;
        map.serialize_entry("sync", &SyncJson(item))?;
        if shape.generation == Generation::Current {
            map.serialize_entry("updateTime", stamp)?;
        }
        if shape.flat_sync {
            map.serialize_entry("version", &item.version)?;
            map.serialize_entry("isDirty", &0)?;
            map.serialize_entry("isDeleted", &i32::from(item.deleted_at.is_some()))?;
            map.serialize_entry("remoteUpdatedAt", &item.updated_at)?;
            map.serialize_entry("lastSyncedAt", &item.updated_at)?;
        }
        map.end()
    }
}

impl Serialize for SyncJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let item = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("version", &item.version)?;
        map.serialize_entry("isDeleted", &item.deleted_at.is_some())?;
        if let Some(at) = &item.deleted_at {
            map.serialize_entry("deletedAt", at)?;
        }
        if let Some(stamp) = &item.cascade_stamp {
            map.serialize_entry("updatedAt", stamp)?;
        }
        map.end()
    }
}

impl Serialize for Deleted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let item = match self {
            Deleted::Full(full) => return full.serialize(s),
            Deleted::Summary(item) => item,
        };
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("uid", &item.uid)?;
        map.serialize_entry("version", &item.version)?;
        map.serialize_entry("updatedAt", &item.updated_at)?;
        map.serialize_entry("deletedAt", &item.deleted_at)?;
        map.end()
    }
}

impl Serialize for PageJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("items", &ItemsJson(&self.items, self.shape))?;
        if let Some(c) = &self.next_cursor {
            map.serialize_entry("nextCursor", c)?;
        }
        map.end()
    }
}

struct ItemsJson<'a>(&'a [&'a Item], Shape);

impl Serialize for ItemsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|i| ItemJson(i, self.1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kinds::by_segment;
    use serde_json::json;

    fn item(payload: Value) -> Item {
        let Value::Object(payload) = payload else {
            panic!()
        };
        Item {
            uid: Uuid::new_v4(),
            version: 2,
            updated_ms: 5,
            updated_at: "2025-01-01T00:00:00.005Z".into(),
            deleted_at: None,
            payload,
            cascade_stamp: None,
        }
    }

    #[test]
    fn server_fields_win_and_deleted_shapes() {
        let notes = by_segment("notes").unwrap();
        let seed = Shape::of(notes, Generation::Seed);
        let body =
            json!({"title": "t", "uid": "client", "sync": 1, "updatedTs": "x", "version": 7});
        let mut it = item(body.clone());
        it.payload = seed.client_fields(it.payload);
        let v = serde_json::to_value(ItemJson(&it, seed)).unwrap();
        assert_eq!(v["payload"]["uid"], json!(it.uid.to_string()));
        assert_eq!(v["payload"]["version"], 7, "seed notes: a client field");
        assert_eq!(
            v["payload"]["sync"],
            json!({"version": 2, "isDeleted": false})
        );
        assert!(v["payload"].get("updateTime").is_none());
        it.deleted_at = Some("2025-01-01T00:00:00.006Z".into());
        let d = serde_json::to_value(seed.deleted(&it)).unwrap();
        assert_eq!(d.as_object().unwrap().len(), 4);

        let current = Shape::of(notes, Generation::Current);
        let mut it = item(body);
        it.payload = current.client_fields(it.payload);
        let v = serde_json::to_value(ItemJson(&it, current)).unwrap();
        let p = &v["payload"];
        assert_eq!(
            (&p["version"], &p["isDirty"], &p["isDeleted"]),
            (&json!(2), &json!(0), &json!(0))
        );
        assert_eq!(p["updateTime"], p["updatedTs"]);
        assert_eq!(p["remoteUpdatedAt"], v["updatedAt"]);
        assert_eq!(p["lastSyncedAt"], v["updatedAt"]);
        it.deleted_at = Some("2025-01-01T00:00:00.006Z".into());
        let d = serde_json::to_value(current.deleted(&it)).unwrap();
        assert_eq!(d["payload"]["isDeleted"], 1);
        assert_eq!(d["payload"]["sync"]["isDeleted"], true);

        let tasks = Shape::of(by_segment("tasks").unwrap(), Generation::Current);
        let v = serde_json::to_value(ItemJson(&item(json!({"version": 9})), tasks)).unwrap();
        assert_eq!(
            v["payload"]["version"], 9,
            "only notes have flat sync fields"
        );
    }
}
