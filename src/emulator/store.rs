//! Per-user data: one item store per entity (keyed by the entity's row), the epoch, the
//! wipe record and the rate-limit buckets.
//!
//! Each user's data sits behind its own mutex, so users never contend with each other and
//! no lock is ever held across an `.await` (handlers lock, work, serialize, unlock).

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::config::Generation;
use super::formats::{now_ms, rfc3339_ms, rfc3339_ms3};
use super::item::Item;
use super::kinds::{self, EntityKind, Link};
use super::ratelimit::Bucket;

/// Why a store operation was refused; the handler turns it into a status and message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// 404 `<entity> not found`.
    NotFound,
    /// 410 `<entity> deleted` (or `already deleted`), with the deletion time.
    Deleted(String),
    /// 412: an `If-Match` named another version.
    VersionMismatch { expected: i64, actual: i64 },
    /// 500 `failed to <verb> <entity>`: a link field is missing or names no live item.
    LinkBroken,
}

/// One entity's items of one user, with the list order as a separate index.
#[derive(Debug, Default)]
struct EntityStore {
    items: HashMap<Uuid, Item>,
    /// `(updated_ms, uid)` of every item: lists walk this in order.
    order: BTreeSet<(i64, Uuid)>,
}

/// The last account wipe (`GET /v1/sync/state`).
#[derive(Debug, Clone)]
pub(crate) struct WipeRecord {
    pub(crate) at: String,
    pub(crate) by: String,
}

/// Everything the emulator keeps about one user (one JWT `sub`).
#[derive(Debug)]
pub(crate) struct UserData {
    /// Starts at 1; a wipe raises it.
    pub(crate) epoch: i64,
    pub(crate) last_wipe: Option<WipeRecord>,
    /// The entity-route bucket, created on the first limited request.
    pub(crate) bucket: Option<Bucket>,
    /// current: the auth-route bucket (§7.5).
    pub(crate) auth_bucket: Option<Bucket>,
    /// The last `updated_ms` handed out: keeps timestamps strictly increasing per user even
    /// when several changes land in the same millisecond, so a change always moves an item
    /// to the end of the list order.
    last_ms: i64,
    stores: HashMap<&'static str, EntityStore>,
}

impl Default for UserData {
    fn default() -> Self {
        Self {
            epoch: 1,
            last_wipe: None,
            bucket: None,
            auth_bucket: None,
            last_ms: 0,
            stores: HashMap::new(),
        }
    }
}

impl UserData {
    fn next_ms(&mut self) -> i64 {
        self.last_ms = now_ms().max(self.last_ms + 1);
        self.last_ms
    }

    fn store(&self, kind: &EntityKind) -> Option<&EntityStore> {
        self.stores.get(kind.segment)
    }

    fn store_mut(&mut self, kind: &'static EntityKind) -> &mut EntityStore {
        self.stores.entry(kind.segment).or_default()
    }

    /// The item, deleted or not.
    pub(crate) fn get(&self, kind: &EntityKind, uid: &Uuid) -> Option<&Item> {
        self.store(kind)?.items.get(uid)
    }

    /// The item if it exists and is not deleted.
    pub(crate) fn live(&self, kind: &EntityKind, uid: &Uuid) -> Result<&Item, StoreError> {
        match self.get(kind, uid) {
            None => Err(StoreError::NotFound),
            Some(Item {
                deleted_at: Some(at),
                ..
            }) => Err(StoreError::Deleted(at.clone())),
            Some(item) => Ok(item),
        }
    }

    /// Up to `limit` items strictly after `after`, oldest change first.
    pub(crate) fn list(
        &self,
        kind: &EntityKind,
        after: Option<(i64, Uuid)>,
        limit: usize,
        include_deleted: bool,
    ) -> Vec<&Item> {
        let Some(store) = self.store(kind) else {
            return Vec::new();
        };
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        store
            .order
            .range((start, Bound::Unbounded))
            .filter_map(|(_, uid)| store.items.get(uid))
            .filter(|item| include_deleted || item.deleted_at.is_none())
            .take(limit)
            .collect()
    }

    /// `POST`: a new item at version 1, or, for a uid that exists (live or deleted), its
    /// payload replaced, version + 1 and the item revived.
    pub(crate) fn upsert(
        &mut self,
        kind: &'static EntityKind,
        uid: Uuid,
        payload: Map<String, Value>,
    ) -> Result<&Item, StoreError> {
        if !self.links_ok(kind, &payload) {
            return Err(StoreError::LinkBroken);
        }
        if self.get(kind, &uid).is_none() {
            let ms = self.next_ms();
            let store = self.store_mut(kind);
            store.order.insert((ms, uid));
            let item = Item {
                uid,
                version: 1,
                updated_ms: ms,
                updated_at: rfc3339_ms(ms),
                deleted_at: None,
                payload,
                cascade_stamp: None,
            };
            return Ok(store.items.entry(uid).or_insert(item));
        }
        let item = self.bump(kind, &uid, false);
        item.payload = payload;
        item.deleted_at = None;
        Ok(item)
    }

    /// Applies `edit` to a copy of a live item's payload and, if the links still hold,
    /// stores it as the next version. `if_match` is compared with the current version.
    pub(crate) fn change(
        &mut self,
        kind: &'static EntityKind,
        uid: &Uuid,
        if_match: Option<i64>,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<&Item, StoreError> {
        let current = self.live(kind, uid)?;
        if let Some(expected) = if_match.filter(|v| *v != current.version) {
            return Err(StoreError::VersionMismatch {
                expected,
                actual: current.version,
            });
        }
        // Work on a copy so that a refused change leaves the stored item untouched.
        let mut payload = current.payload.clone();
        edit(&mut payload);
        if !self.links_ok(kind, &payload) {
            return Err(StoreError::LinkBroken);
        }
        let item = self.bump(kind, uid, false);
        item.payload = payload;
        Ok(item)
    }

    /// Soft-deletes a live item (version + 1, `deletedAt` = `updatedAt` = now) and runs the
    /// entity's cascade in the same step, at the same instant.
    pub(crate) fn delete(
        &mut self,
        kind: &'static EntityKind,
        uid: &Uuid,
    ) -> Result<&Item, StoreError> {
        self.live(kind, uid)?;
        let ms = self.bump(kind, uid, true).updated_ms;
        if let Some(cascade) = kind.on_delete
            && let Some(target) = kinds::by_segment(cascade.segment)
        {
            self.detach(target, cascade.field, &uid.hyphenated().to_string(), ms);
        }
        Ok(self.get(kind, uid).expect("just deleted"))
    }

    /// Removes `field` from every live item of `target` whose value is `uid`, with version
    /// + 1 and the cascade's three-digit timestamps (`updatedAt` in the payload too).
    fn detach(&mut self, target: &'static EntityKind, field: &str, uid: &str, ms: i64) {
        let store = self.store_mut(target);
        let stamp = rfc3339_ms3(ms);
        for item in store.items.values_mut() {
            let linked = item.payload.get(field).and_then(Value::as_str) == Some(uid);
            if !linked || item.deleted_at.is_some() {
                continue;
            }
            store.order.remove(&(item.updated_ms, item.uid));
            store.order.insert((ms, item.uid));
            item.payload.remove(field);
            item.payload
                .insert("updatedAt".to_owned(), Value::String(stamp.clone()));
            item.version += 1;
            item.updated_ms = ms;
            item.updated_at = rfc3339_ms(ms);
            item.cascade_stamp = Some(stamp.clone());
        }
    }

    /// Hard-deletes every item and raises the epoch; returns the number of rows each entity
    /// of `generation` lost, under its wipe key.
    pub(crate) fn wipe(
        &mut self,
        generation: Generation,
        record: WipeRecord,
    ) -> Map<String, Value> {
        let counts = kinds::of(generation)
            .map(|k| {
                let n = self.store(k).map_or(0, |s| s.items.len());
                (k.wipe_key.to_owned(), Value::from(n))
            })
            .collect();
        self.stores.clear();
        self.epoch += 1;
        self.last_wipe = Some(record);
        counts
    }

    /// Bumps the version and timestamp of an existing item, moving it in the list order.
    fn bump(&mut self, kind: &'static EntityKind, uid: &Uuid, delete: bool) -> &mut Item {
        let ms = self.next_ms();
        let store = self.store_mut(kind);
        let item = store.items.get_mut(uid).expect("checked by the caller");
        store.order.remove(&(item.updated_ms, *uid));
        store.order.insert((ms, *uid));
        item.version += 1;
        item.updated_ms = ms;
        item.updated_at = rfc3339_ms(ms);
        item.cascade_stamp = None;
        if delete {
            item.deleted_at = Some(item.updated_at.clone());
        }
        item
    }

    /// Whether `payload` satisfies the entity's link rule: the named parent is a live item
    /// of the right entity belonging to this same user.
    fn links_ok(&self, kind: &EntityKind, payload: &Map<String, Value>) -> bool {
        let (target, uid_field) = match kind.link {
            Link::None => return true,
            Link::Fixed { uid_field, target } => (target, uid_field),
            Link::Typed {
                type_field,
                uid_field,
                allowed,
            } => {
                let wanted = payload.get(type_field).and_then(Value::as_str);
                match allowed.iter().find(|(name, _)| Some(*name) == wanted) {
                    Some((_, target)) => (*target, uid_field),
                    None => return false,
                }
            }
        };
        let parent = payload
            .get(uid_field)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
        let target = kinds::by_segment(target);
        match (parent, target) {
            (Some(uid), Some(target)) => self.live(target, &uid).is_ok(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn kind(segment: &str) -> &'static EntityKind {
        kinds::by_segment(segment).unwrap()
    }

    #[test]
    fn order_versions_upserts_and_links() {
        let (notes, comments) = (kind("notes"), kind("comments"));
        let mut u = UserData::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        u.upsert(notes, a, obj(json!({"title": "a"}))).unwrap();
        u.upsert(notes, b, obj(json!({"title": "b"}))).unwrap();
        // Changing `a` moves it after `b`.
        let changed = u.change(notes, &a, None, |p| {
            p.insert("x".into(), json!(1));
        });
        assert_eq!(changed.unwrap().version, 2);
        let order: Vec<Uuid> = u
            .list(notes, None, 10, false)
            .iter()
            .map(|i| i.uid)
            .collect();
        assert_eq!(order, vec![b, a]);
        let stale = u.change(notes, &a, Some(1), |_| {});
        assert_eq!(
            stale,
            Err(StoreError::VersionMismatch {
                expected: 1,
                actual: 2
            })
        );

        let link = obj(json!({"parentType": "note", "parentUid": b.to_string()}));
        let c = Uuid::new_v4();
        u.upsert(comments, c, link.clone()).unwrap();
        u.delete(notes, &b).unwrap();
        assert!(matches!(u.delete(notes, &b), Err(StoreError::Deleted(_))));
        let again = u.upsert(comments, Uuid::new_v4(), link);
        assert_eq!(again.unwrap_err(), StoreError::LinkBroken);
        let archive = u.change(comments, &c, None, |_| {});
        assert_eq!(archive.unwrap_err(), StoreError::LinkBroken);
        assert_eq!(u.list(notes, None, 10, false).len(), 1);
        assert_eq!(u.list(notes, None, 10, true).len(), 2);
        // An upsert revives the deleted note with its new payload.
        let revived = u.upsert(notes, b, obj(json!({"title": "again"}))).unwrap();
        assert_eq!((revived.version, revived.deleted_at.is_none()), (3, true));
    }

    #[test]
    fn deleting_a_list_detaches_its_live_tasks() {
        let (lists, tasks) = (kind("task_lists"), kind("tasks"));
        let mut u = UserData::default();
        let list = Uuid::new_v4();
        u.upsert(lists, list, Map::new()).unwrap();
        let link = obj(json!({"taskListUid": list.to_string(), "title": "t"}));
        let (t1, t2, t3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        u.upsert(tasks, t1, link.clone()).unwrap();
        u.upsert(tasks, t2, link).unwrap();
        u.delete(tasks, &t2).unwrap();
        let upper = obj(json!({"taskListUid": list.to_string().to_uppercase()}));
        u.upsert(tasks, t3, upper).unwrap();
        let deleted_ms = u.delete(lists, &list).unwrap().updated_ms;
        let detached = u.get(tasks, &t1).unwrap();
        assert!(!detached.payload.contains_key("taskListUid"));
        assert_eq!((detached.version, detached.updated_ms), (2, deleted_ms));
        assert!(detached.cascade_stamp.as_ref().unwrap().ends_with('Z'));
        assert_eq!(
            u.get(tasks, &t2).unwrap().version,
            2,
            "deleted tasks are left alone"
        );
        assert_eq!(
            u.get(tasks, &t3).unwrap().version,
            1,
            "only the lowercase form matches"
        );
        let wiped = u.wipe(
            Generation::Current,
            WipeRecord {
                at: "t".into(),
                by: "u".into(),
            },
        );
        assert_eq!(
            (wiped["task"].clone(), wiped["task_list"].clone()),
            (json!(3), json!(1))
        );
        assert_eq!(u.epoch, 2);
        assert!(u.list(tasks, None, 10, true).is_empty());
    }
}
