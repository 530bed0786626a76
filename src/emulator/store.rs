//! Per-user data: the five entity stores, the epoch, the rate-limit bucket.
//!
//! Each user's data sits behind its own mutex, so users never contend with each other and
//! no lock is ever held across an `.await` (handlers lock, work, serialize, unlock).

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::item::Item;
use super::kinds::{ENTITY_COUNT, EntityKind, Link};
use super::ratelimit::Bucket;
use super::wire::{IfMatch, rfc3339_ms};

/// Why a store operation was refused; the handler turns it into a status and message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// 404 `<entity> not found`.
    NotFound,
    /// 410 `<entity> deleted`, with the deletion time.
    Deleted(String),
    /// 409: a create named a uid that exists (deleted or not).
    Exists,
    /// 412 with this message.
    VersionMismatch(String),
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

/// Everything the emulator keeps about one user (one JWT `sub`).
#[derive(Debug)]
pub(crate) struct UserData {
    /// Starts at 1; [`Users::bump_epoch`] raises it to simulate an account wipe.
    pub epoch: i64,
    /// Created on the first rate-limited request.
    pub bucket: Option<Bucket>,
    /// The last `updated_ms` handed out: keeps timestamps strictly increasing per user even
    /// when several changes land in the same millisecond, so list order is total and stable.
    last_ms: i64,
    stores: [EntityStore; ENTITY_COUNT],
}

impl Default for UserData {
    fn default() -> Self {
        Self {
            epoch: 1,
            bucket: None,
            last_ms: 0,
            stores: Default::default(),
        }
    }
}

impl UserData {
    fn next_ms(&mut self) -> i64 {
        self.last_ms = super::now_ms().max(self.last_ms + 1);
        self.last_ms
    }

    /// The item, deleted or not.
    pub fn get(&self, kind: &EntityKind, uid: &Uuid) -> Option<&Item> {
        self.stores[kind.index].items.get(uid)
    }

    /// Up to `limit` items strictly after `after`, oldest change first.
    pub fn list(
        &self,
        kind: &EntityKind,
        after: Option<(i64, Uuid)>,
        limit: usize,
        include_deleted: bool,
    ) -> Vec<&Item> {
        let store = &self.stores[kind.index];
        let start = match after {
            Some(pos) => Bound::Excluded(pos),
            None => Bound::Unbounded,
        };
        store
            .order
            .range((start, Bound::Unbounded))
            .filter_map(|(_, uid)| store.items.get(uid))
            .filter(|item| include_deleted || item.deleted_at.is_none())
            .take(limit)
            .collect()
    }

    /// Stores a new item at version 1.
    pub fn create(
        &mut self,
        kind: &EntityKind,
        uid: Uuid,
        payload: Map<String, Value>,
    ) -> Result<&Item, StoreError> {
        if self.stores[kind.index].items.contains_key(&uid) {
            return Err(StoreError::Exists);
        }
        if !self.links_ok(kind, &payload) {
            return Err(StoreError::LinkBroken);
        }
        let ms = self.next_ms();
        let store = &mut self.stores[kind.index];
        store.order.insert((ms, uid));
        let item = Item {
            uid,
            version: 1,
            updated_ms: ms,
            updated_at: rfc3339_ms(ms),
            deleted_at: None,
            payload,
        };
        Ok(store.items.entry(uid).or_insert(item))
    }

    /// Applies `edit` to a copy of a live item's payload and, if the links still hold,
    /// stores it as the next version. `if_match` is checked against the current version.
    pub fn change(
        &mut self,
        kind: &EntityKind,
        uid: &Uuid,
        if_match: Option<&IfMatch>,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<&Item, StoreError> {
        let current = self.live(kind, uid)?;
        if let Some(msg) = if_match.and_then(|m| m.mismatch(current.version)) {
            return Err(StoreError::VersionMismatch(msg));
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

    /// Soft-deletes a live item: version + 1, `deletedAt` = `updatedAt` = now.
    pub fn delete(&mut self, kind: &EntityKind, uid: &Uuid) -> Result<&Item, StoreError> {
        self.live(kind, uid)?;
        Ok(self.bump(kind, uid, true))
    }

    /// Bumps the version and timestamp of an existing item, moving it in the list order.
    fn bump(&mut self, kind: &EntityKind, uid: &Uuid, delete: bool) -> &mut Item {
        let ms = self.next_ms();
        let store = &mut self.stores[kind.index];
        let item = store.items.get_mut(uid).expect("checked by the caller");
        store.order.remove(&(item.updated_ms, *uid));
        store.order.insert((ms, *uid));
        item.version += 1;
        item.updated_ms = ms;
        item.updated_at = rfc3339_ms(ms);
        if delete {
            item.deleted_at = Some(item.updated_at.clone());
        }
        item
    }

    /// The item if it exists and is not deleted.
    fn live(&self, kind: &EntityKind, uid: &Uuid) -> Result<&Item, StoreError> {
        match self.get(kind, uid) {
            None => Err(StoreError::NotFound),
            Some(Item {
                deleted_at: Some(at),
                ..
            }) => Err(StoreError::Deleted(at.clone())),
            Some(item) => Ok(item),
        }
    }

    /// Whether `payload` satisfies the entity's link rule: the named parent is a live item
    /// of the right kind belonging to this same user.
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
        parent.is_some_and(|uid| {
            self.stores[target]
                .items
                .get(&uid)
                .is_some_and(|p| p.deleted_at.is_none())
        })
    }
}

/// Every user's data, created on first use.
#[derive(Debug, Default)]
pub(crate) struct Users {
    map: RwLock<HashMap<String, Arc<Mutex<UserData>>>>,
}

impl Users {
    /// The user's data; the map's write lock is taken only the first time a user is seen.
    pub fn get_or_create(&self, sub: &str) -> Arc<Mutex<UserData>> {
        if let Some(user) = self.map.read().get(sub) {
            return user.clone();
        }
        self.map.write().entry(sub.to_owned()).or_default().clone()
    }

    /// The user's current epoch (1 for a user never seen).
    pub fn epoch_of(&self, sub: &str) -> i64 {
        self.map.read().get(sub).map_or(1, |u| u.lock().epoch)
    }

    /// Raises the user's epoch by one and returns it.
    pub fn bump_epoch(&self, sub: &str) -> i64 {
        let user = self.get_or_create(sub);
        let mut data = user.lock();
        data.epoch += 1;
        data.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kinds::ENTITIES;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn order_versions_and_links() {
        let (notes, comments) = (&ENTITIES[0], &ENTITIES[2]);
        let mut u = UserData::default();
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        u.create(notes, a, obj(json!({"title": "a"}))).unwrap();
        u.create(notes, b, obj(json!({"title": "b"}))).unwrap();
        assert_eq!(u.create(notes, a, Map::new()), Err(StoreError::Exists));
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
        let stale = u.change(notes, &a, Some(&IfMatch::Version(1)), |_| {});
        assert!(matches!(stale, Err(StoreError::VersionMismatch(_))));

        let link = obj(json!({"parentType": "note", "parentUid": b.to_string()}));
        let c = Uuid::new_v4();
        u.create(comments, c, link.clone()).unwrap();
        u.delete(notes, &b).unwrap();
        assert!(matches!(u.delete(notes, &b), Err(StoreError::Deleted(_))));
        let again = u.create(comments, Uuid::new_v4(), link);
        assert_eq!(again.unwrap_err(), StoreError::LinkBroken);
        let archive = u.change(comments, &c, None, |_| {});
        assert_eq!(archive.unwrap_err(), StoreError::LinkBroken);
        assert_eq!(u.list(notes, None, 10, false).len(), 1);
        assert_eq!(u.list(notes, None, 10, true).len(), 2);
    }
}
