//! One stored item and its JSON shapes (contract section 4).
//!
//! The stored payload holds only the client's fields; the server fields (`uid`,
//! `updatedTs`, `sync`) are written at serialization time. That makes "server fields
//! overwrite anything the client sent under those names" true by construction, and lets
//! responses be serialized straight from the store without cloning the payload.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Payload keys owned by the server; never stored from a client body.
pub(crate) const SERVER_FIELDS: [&str; 3] = ["uid", "updatedTs", "sync"];

/// One entity item of one user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub uid: Uuid,
    /// 1 on creation, +1 per accepted change.
    pub version: i64,
    /// The ordering key of lists, unique per user.
    pub updated_ms: i64,
    /// `updated_ms` formatted once, as it is read far more often than written.
    pub updated_at: String,
    /// Set by a soft delete; such an item is never changed again.
    pub deleted_at: Option<String>,
    /// The client's fields, server fields removed.
    pub payload: Map<String, Value>,
}

/// Removes the server-owned keys from a client object.
pub(crate) fn client_fields(mut body: Map<String, Value>) -> Map<String, Value> {
    for key in SERVER_FIELDS {
        body.remove(key);
    }
    body
}

/// `{"uid","version","updatedAt","deletedAt"?,"payload"}`.
pub(crate) struct ItemJson<'a>(pub &'a Item);

/// The payload with its server fields.
struct PayloadJson<'a>(&'a Item);

/// `{"version","isDeleted","deletedAt"?}`.
struct SyncJson<'a>(&'a Item);

/// The answer to a soft delete: `{"uid","version","updatedAt","deletedAt"}`, no payload.
pub(crate) struct DeletedJson<'a>(pub &'a Item);

/// A list page: `{"items": [...], "nextCursor"?}`.
pub(crate) struct PageJson<'a> {
    pub items: Vec<&'a Item>,
    pub next_cursor: Option<String>,
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
        map.serialize_entry("payload", &PayloadJson(item))?;
        map.end()
    }
}

impl Serialize for PayloadJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let item = self.0;
        let mut map = s.serialize_map(Some(item.payload.len() + SERVER_FIELDS.len()))?;
        for (k, v) in &item.payload {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("uid", &item.uid)?;
        map.serialize_entry("updatedTs", &item.updated_at)?;
        map.serialize_entry("sync", &SyncJson(item))?;
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
        map.end()
    }
}

impl Serialize for DeletedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let item = self.0;
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
        map.serialize_entry("items", &ItemsJson(&self.items))?;
        if let Some(c) = &self.next_cursor {
            map.serialize_entry("nextCursor", c)?;
        }
        map.end()
    }
}

struct ItemsJson<'a>(&'a [&'a Item]);

impl Serialize for ItemsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|i| ItemJson(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_win_and_deleted_shape() {
        let uid = Uuid::new_v4();
        let body = json!({"title": "t", "uid": "client", "sync": 1, "updatedTs": "x"});
        let Value::Object(body) = body else { panic!() };
        let mut item = Item {
            uid,
            version: 2,
            updated_ms: 5,
            updated_at: "2025-01-01T00:00:00.005Z".into(),
            deleted_at: None,
            payload: client_fields(body),
        };
        let v = serde_json::to_value(ItemJson(&item)).unwrap();
        assert_eq!(v["payload"]["uid"], json!(uid.to_string()));
        assert_eq!(v["payload"]["title"], "t");
        assert_eq!(
            v["payload"]["sync"],
            json!({"version": 2, "isDeleted": false})
        );
        assert!(v.get("deletedAt").is_none());
        item.deleted_at = Some("2025-01-01T00:00:00.006Z".into());
        let d = serde_json::to_value(DeletedJson(&item)).unwrap();
        assert_eq!(d.as_object().unwrap().len(), 4);
        let v = serde_json::to_value(ItemJson(&item)).unwrap();
        assert_eq!(v["payload"]["sync"]["isDeleted"], true);
        assert_eq!(v["deletedAt"], v["payload"]["sync"]["deletedAt"]);
    }
}
