//! The entity routes of contract section 4, built from the entity table: eight routes per
//! row of [`ENTITIES`], one handler per verb shared by all entities.
//!
//! Check order inside a handler: uid (`400 invalid UID`), body (`400 invalid JSON`), action
//! (`400 invalid action`), then the store: `404`, `410` for a deleted item, `412` for a
//! failed `If-Match`, `500` for a broken link, else the change.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, Query};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Shared;
use super::error::{ApiError, json_bytes};
use super::gate::Caller;
use super::item::{DeletedJson, ItemJson, PageJson, SERVER_FIELDS, client_fields};
use super::kinds::{ENTITIES, EntityKind};
use super::store::StoreError;
use super::wire::{IfMatch, decode_cursor, encode_cursor, parse_limit};

type Body = Result<Bytes, BytesRejection>;

/// Adds the routes of every entity.
pub(crate) fn routes(mut router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    for kind in ENTITIES.iter() {
        let base = format!("/v1/{}", kind.segment);
        router =
            router
                .route(
                    &base,
                    get(
                        move |Extension(c): Extension<Caller>, uri: Uri| async move {
                            answer(&c, list(kind, &c, &uri))
                        },
                    )
                    .post(
                        move |Extension(c): Extension<Caller>, body: Body| async move {
                            answer(&c, create(kind, &c, body))
                        },
                    ),
                )
                .route(
                    &format!("{base}/{{uid}}"),
                    get(
                        move |Extension(c): Extension<Caller>,
                              Path(uid): Path<String>,
                              uri: Uri| async move {
                            answer(&c, get_one(kind, &c, &uid, &uri))
                        },
                    )
                    .put(
                        move |Extension(c): Extension<Caller>,
                              Path(uid): Path<String>,
                              headers: HeaderMap,
                              body: Body| async move {
                            answer(&c, replace(kind, &c, &uid, &headers, body))
                        },
                    )
                    .patch(
                        move |Extension(c): Extension<Caller>,
                              Path(uid): Path<String>,
                              body: Body| async move {
                            answer(&c, patch(kind, &c, &uid, body))
                        },
                    )
                    .delete(
                        move |Extension(c): Extension<Caller>, Path(uid): Path<String>| async move {
                            answer(&c, delete(kind, &c, &uid))
                        },
                    ),
                )
                .route(
                    &format!("{base}/{{uid}}/archive"),
                    post(
                        move |Extension(c): Extension<Caller>,
                              Path(uid): Path<String>,
                              body: Body| async move {
                            answer(&c, archive(kind, &c, &uid, body))
                        },
                    ),
                )
                .route(
                    &format!("{base}/{{uid}}/process"),
                    post(
                        move |Extension(c): Extension<Caller>,
                              Path(uid): Path<String>,
                              body: Body| async move {
                            answer(&c, process(kind, &c, &uid, body))
                        },
                    ),
                );
    }
    router
}

type Answer = Result<Response, ApiError>;

/// Turns a handler result into the response, errors carrying the correlation id.
fn answer(c: &Caller, result: Answer) -> Response {
    result.unwrap_or_else(|e| e.respond(&c.cid))
}

fn bad_request(msg: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, msg)
}

fn parse_uid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| bad_request("invalid UID"))
}

/// The body as a JSON object. An over-long body is `413`; anything not a JSON object
/// (including an empty body) is `400 invalid JSON`.
fn object(body: Body) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        }
        _ => bad_request("invalid JSON"),
    })?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad_request("invalid JSON")),
    }
}

/// Maps a store refusal to the contract's status and message; `verb` names the operation
/// in `500 failed to <verb> <entity>`.
fn refuse(kind: &EntityKind, verb: &str, e: StoreError) -> ApiError {
    let name = kind.name;
    match e {
        StoreError::NotFound => ApiError::new(StatusCode::NOT_FOUND, format!("{name} not found")),
        StoreError::Deleted(at) => {
            ApiError::new(StatusCode::GONE, format!("{name} deleted")).with("deletedAt", at)
        }
        StoreError::Exists => ApiError::new(StatusCode::CONFLICT, format!("{name} already exists")),
        StoreError::VersionMismatch(msg) => ApiError::new(StatusCode::PRECONDITION_FAILED, msg),
        StoreError::LinkBroken => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to {verb} {name}"),
        ),
    }
}

/// Serializes a successful store result while the user's lock is still held (no clone).
fn ok_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    json_bytes(
        status,
        serde_json::to_vec(value).expect("serializable JSON"),
    )
}

/// The first value of each list parameter, like Go's `Query().Get`.
#[derive(Default)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    include_deleted: bool,
}

impl ListParams {
    /// Parses the query leniently: a malformed query string is treated as empty.
    fn from_uri(uri: &Uri) -> Self {
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(p)| p)
            .unwrap_or_default();
        let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        Self {
            limit: first("limit"),
            cursor: first("cursor"),
            // Only the literal `true` counts, as in the API.
            include_deleted: first("includeDeleted").as_deref() == Some("true"),
        }
    }
}

/// `GET /v1/E`: oldest change first, strictly after the cursor; `nextCursor` points after
/// the last item returned and is absent when the page is empty.
fn list(kind: &EntityKind, c: &Caller, uri: &Uri) -> Answer {
    let params = ListParams::from_uri(uri);
    let limit = parse_limit(params.limit.as_deref());
    let after = params.cursor.as_deref().and_then(decode_cursor);
    let data = c.user.lock();
    let items = data.list(kind, after, limit, params.include_deleted);
    let next_cursor = items.last().map(|i| encode_cursor(i.updated_ms, &i.uid));
    Ok(ok_json(StatusCode::OK, &PageJson { items, next_cursor }))
}

/// `POST /v1/E`: `201`; the uid comes from the body's `uid` when present (it must be a
/// UUID), otherwise the server makes one.
fn create(kind: &EntityKind, c: &Caller, body: Body) -> Answer {
    let body = object(body)?;
    let uid = match body.get("uid") {
        None | Some(Value::Null) => Uuid::new_v4(),
        Some(Value::String(s)) => parse_uid(s)?,
        Some(_) => return Err(bad_request("invalid UID")),
    };
    let mut data = c.user.lock();
    match data.create(kind, uid, client_fields(body)) {
        Ok(item) => Ok(ok_json(StatusCode::CREATED, &ItemJson(item))),
        Err(e) => Err(refuse(kind, "create", e)),
    }
}

/// `GET /v1/E/{uid}`: a deleted item is `410` unless `includeDeleted=true`.
fn get_one(kind: &EntityKind, c: &Caller, raw_uid: &str, uri: &Uri) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let include_deleted = ListParams::from_uri(uri).include_deleted;
    let data = c.user.lock();
    match data.get(kind, &uid) {
        None => Err(refuse(kind, "get", StoreError::NotFound)),
        Some(item) => match &item.deleted_at {
            Some(at) if !include_deleted => {
                Err(refuse(kind, "get", StoreError::Deleted(at.clone())))
            }
            _ => Ok(ok_json(StatusCode::OK, &ItemJson(item))),
        },
    }
}

/// Runs one change of a live item and answers with the item.
fn change(
    kind: &EntityKind,
    c: &Caller,
    uid: Uuid,
    verb: &str,
    if_match: Option<&IfMatch>,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Answer {
    let mut data = c.user.lock();
    match data.change(kind, &uid, if_match, edit) {
        Ok(item) => Ok(ok_json(StatusCode::OK, &ItemJson(item))),
        Err(e) => Err(refuse(kind, verb, e)),
    }
}

/// `PUT /v1/E/{uid}`: replaces the whole payload (so link fields must be in the body),
/// honouring an optional `If-Match` (quoted or not, `W/` tolerated, `*` matches anything).
fn replace(
    kind: &EntityKind,
    c: &Caller,
    raw_uid: &str,
    headers: &HeaderMap,
    body: Body,
) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let body = client_fields(object(body)?);
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| IfMatch::parse(&String::from_utf8_lossy(v.as_bytes())));
    change(kind, c, uid, "update", if_match.as_ref(), |p| *p = body)
}

/// `PATCH /v1/E/{uid}`: shallow merge; the server-owned keys of the body are ignored.
fn patch(kind: &EntityKind, c: &Caller, raw_uid: &str, body: Body) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let body = object(body)?;
    change(kind, c, uid, "patch", None, |p| {
        for (k, v) in body {
            if !SERVER_FIELDS.contains(&k.as_str()) {
                p.insert(k, v);
            }
        }
    })
}

/// `DELETE /v1/E/{uid}`: soft delete, answered with `{"uid","version","updatedAt","deletedAt"}`.
fn delete(kind: &EntityKind, c: &Caller, raw_uid: &str) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let mut data = c.user.lock();
    match data.delete(kind, &uid) {
        Ok(item) => Ok(ok_json(StatusCode::OK, &DeletedJson(item))),
        Err(e) => Err(refuse(kind, "delete", e)),
    }
}

/// `POST /v1/E/{uid}/archive`: writes the entity's archive field. The contract's body is
/// `{}`; an empty body is accepted too (the API never reads it), anything else that is not
/// a JSON object is `400 invalid JSON`.
fn archive(kind: &EntityKind, c: &Caller, raw_uid: &str, body: Body) -> Answer {
    let uid = parse_uid(raw_uid)?;
    if !matches!(&body, Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace)) {
        object(body)?;
    }
    let set = kind.archive;
    change(kind, c, uid, "archive", None, |p| {
        p.insert(set.field.to_owned(), set.value.to_json());
    })
}

/// `POST /v1/E/{uid}/process` with `{"action", "metadata"?}`: applies the action's field
/// write from the entity table. `metadata` must be an object (or absent/null) and is
/// otherwise ignored: no action of the contract reads it.
fn process(kind: &EntityKind, c: &Caller, raw_uid: &str, body: Body) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let body = object(body)?;
    let action = match body.get("action") {
        Some(Value::String(name)) => kind.action(name).ok_or_else(|| name.clone()),
        Some(other) => Err(other.to_string()),
        None => Err(String::new()),
    };
    let action = action.map_err(|name| bad_request(format!("invalid action: {name}")))?;
    if !matches!(
        body.get("metadata"),
        None | Some(Value::Null | Value::Object(_))
    ) {
        return Err(bad_request("invalid JSON"));
    }
    let set = action.set;
    change(kind, c, uid, "process", None, |p| {
        p.insert(set.field.to_owned(), set.value.to_json());
    })
}
