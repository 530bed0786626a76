//! The entity routes of contract sections 4 and 7.6, built from the entity table: eight
//! routes per row the generation has, one handler per verb shared by all entities.
//!
//! Check order (contract §4): path uid (`400 invalid UID`), lookup (`404`, `410`), then for
//! `PUT`/`PATCH` the body (`400 invalid JSON`), `If-Match` (`412`) and links (`500`).
//! `process` reads its body before the lookup and checks the action after it, except for
//! the entities whose row says lookup first (task lists). `archive` never reads its body.

use std::sync::Arc;

use axum::extract::{Extension, Path, Query};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::api_caller::ApiCaller;
use super::error::{ApiError, RawBody, body_bytes, empty_500, gone, json_bytes};
use super::formats::{
    decode_cursor, encode_cursor, first_json_value, if_match, object_field, parse_limit,
    string_field, struct_body, version_mismatch,
};
use super::item::{ItemJson, PageJson, Shape};
use super::kinds::{self, EntityKind, Process};
use super::shared::Shared;
use super::store::StoreError;

type Routes = Vec<(String, MethodRouter<Arc<Shared>>)>;

/// The routes of every entity `generation` has: `(path, methods)`, ungated (the caller
/// adds the entity gate to each).
pub(crate) fn routes(generation: super::config::Generation) -> Routes {
    let mut routes = Routes::new();
    for kind in kinds::of(generation) {
        let base = format!("/v1/{}", kind.segment);
        let collection = get(
            move |Extension(c): Extension<ApiCaller>, uri: Uri| async move {
                answer(&c, list(kind, &c, &uri))
            },
        )
        .post(
            move |Extension(c): Extension<ApiCaller>, body: RawBody| async move {
                answer(&c, create(kind, &c, body))
            },
        );
        let one = get(
            move |Extension(c): Extension<ApiCaller>, Path(uid): Path<String>, uri: Uri| async move {
                answer(&c, get_one(kind, &c, &uid, &uri))
            },
        )
        .put(
            move |Extension(c): Extension<ApiCaller>,
                  Path(uid): Path<String>,
                  headers: HeaderMap,
                  body: RawBody| async move {
                answer(&c, write(kind, &c, &uid, &headers, body, Write::Replace))
            },
        )
        .patch(
            move |Extension(c): Extension<ApiCaller>,
                  Path(uid): Path<String>,
                  headers: HeaderMap,
                  body: RawBody| async move {
                answer(&c, write(kind, &c, &uid, &headers, body, Write::Merge))
            },
        )
        .delete(
            move |Extension(c): Extension<ApiCaller>, Path(uid): Path<String>| async move {
                answer(&c, delete(kind, &c, &uid))
            },
        );
        let archive = post(
            move |Extension(c): Extension<ApiCaller>, Path(uid): Path<String>| async move {
                answer(&c, archive(kind, &c, &uid))
            },
        );
        let process = post(
            move |Extension(c): Extension<ApiCaller>, Path(uid): Path<String>, body: RawBody| async move {
                answer(&c, process(kind, &c, &uid, body))
            },
        );
        routes.push((format!("{base}/{{uid}}/archive"), archive));
        routes.push((format!("{base}/{{uid}}/process"), process));
        routes.push((format!("{base}/{{uid}}"), one));
        routes.push((base, collection));
    }
    routes
}

/// Why a handler did not succeed: a JSON error (it gets the correlation id), or one of the
/// two answers of their own shape.
enum Fail {
    Api(ApiError),
    /// `410 {"error", "deletedAt"}`.
    Gone {
        message: String,
        deleted_at: String,
    },
    /// `500` with an empty body.
    Empty500,
}

impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Self {
        Fail::Api(e)
    }
}

type Answer = Result<Response, Fail>;

fn answer(c: &ApiCaller, result: Answer) -> Response {
    match result {
        Ok(r) => r,
        Err(Fail::Api(e)) => e.respond(&c.cid),
        Err(Fail::Gone {
            message,
            deleted_at,
        }) => gone(message, deleted_at),
        Err(Fail::Empty500) => empty_500(),
    }
}

fn bad_request(msg: impl Into<std::borrow::Cow<'static, str>>) -> Fail {
    Fail::Api(ApiError::new(StatusCode::BAD_REQUEST, msg))
}

fn parse_uid(raw: &str) -> Result<Uuid, Fail> {
    Uuid::parse_str(raw).map_err(|_| bad_request("invalid UID"))
}

/// A body decoded into Go's `map[string]any`: an object, or `null` (a nil map).
enum Body {
    Object(Map<String, Value>),
    Null,
}

/// Anything but a JSON object or `null` (an empty body included) is `400 invalid JSON`.
fn object(body: RawBody) -> Result<Body, Fail> {
    let bytes = body_bytes(body, "invalid JSON")?;
    match first_json_value(&bytes) {
        Some(Value::Object(map)) => Ok(Body::Object(map)),
        Some(Value::Null) => Ok(Body::Null),
        _ => Err(bad_request("invalid JSON")),
    }
}

/// Maps a store refusal to the contract's status and message; `verb` names the operation
/// in `500 failed to <verb> <entity>`.
fn refuse(kind: &EntityKind, verb: &str, e: StoreError) -> Fail {
    let name = kind.name;
    match e {
        StoreError::NotFound => Fail::Api(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{name} not found"),
        )),
        StoreError::Deleted(deleted_at) => Fail::Gone {
            message: match verb {
                "delete" => format!("{name} already deleted"),
                _ => format!("{name} deleted"),
            },
            deleted_at,
        },
        StoreError::VersionMismatch { expected, actual } => Fail::Api(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            version_mismatch(expected, actual),
        )),
        StoreError::LinkBroken => Fail::Api(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to {verb} {name}"),
        )),
    }
}

/// Serializes a successful store result while the user's lock is still held (no clone).
fn ok_json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    json_bytes(
        status,
        serde_json::to_vec(value).expect("serializable JSON"),
    )
}

/// The first value of each list parameter, like Go's `Query().Get`; a malformed query
/// string is treated as empty.
fn query(uri: &Uri, key: &str) -> Option<String> {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(p)| p)
        .unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Only the literal `true` counts, as in the API.
fn include_deleted(uri: &Uri) -> bool {
    query(uri, "includeDeleted").as_deref() == Some("true")
}

/// `GET /v1/E`: oldest change first, strictly after the cursor; `nextCursor` points after
/// the last item returned and is absent when the page is empty.
fn list(kind: &'static EntityKind, c: &ApiCaller, uri: &Uri) -> Answer {
    let limit = parse_limit(query(uri, "limit").as_deref());
    let after = query(uri, "cursor").as_deref().and_then(decode_cursor);
    let data = c.user.lock();
    let items = data.list(kind, after, limit, include_deleted(uri));
    let next_cursor = items.last().map(|i| encode_cursor(i.updated_ms, &i.uid));
    let shape = Shape::of(kind, c.generation);
    Ok(ok_json(
        StatusCode::OK,
        &PageJson {
            items,
            next_cursor,
            shape,
        },
    ))
}

/// `POST /v1/E`: `201`. The body's `uid` is used if it is a UUID string, else the server
/// makes one; an existing uid (live or deleted) is upserted. A `null` body is `500`, empty.
fn create(kind: &'static EntityKind, c: &ApiCaller, body: RawBody) -> Answer {
    let Body::Object(body) = object(body)? else {
        return Err(Fail::Empty500);
    };
    let uid = body
        .get("uid")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(Uuid::new_v4);
    let shape = Shape::of(kind, c.generation);
    let mut data = c.user.lock();
    match data.upsert(kind, uid, shape.client_fields(body)) {
        Ok(item) => Ok(ok_json(StatusCode::CREATED, &ItemJson(item, shape))),
        Err(e) => Err(refuse(kind, "create", e)),
    }
}

/// `GET /v1/E/{uid}`: a deleted item is `410` unless `includeDeleted=true`.
fn get_one(kind: &'static EntityKind, c: &ApiCaller, raw_uid: &str, uri: &Uri) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let data = c.user.lock();
    let item = match data.get(kind, &uid) {
        None => return Err(refuse(kind, "get", StoreError::NotFound)),
        Some(item) => item,
    };
    match &item.deleted_at {
        Some(at) if !include_deleted(uri) => {
            Err(refuse(kind, "get", StoreError::Deleted(at.clone())))
        }
        _ => Ok(ok_json(
            StatusCode::OK,
            &ItemJson(item, Shape::of(kind, c.generation)),
        )),
    }
}

/// `PUT` or `PATCH`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Replace the payload (the path uid wins over a body `uid`; link fields must be in it).
    Replace,
    /// Shallow-merge the body's keys (server keys ignored); a `null` body changes nothing
    /// but still writes a new version.
    Merge,
}

/// `PUT` and `PATCH /v1/E/{uid}`, honouring an optional `If-Match`.
fn write(
    kind: &'static EntityKind,
    c: &ApiCaller,
    raw_uid: &str,
    headers: &HeaderMap,
    body: RawBody,
    how: Write,
) -> Answer {
    let uid = parse_uid(raw_uid)?;
    // Read before taking the lock, reported only after the lookup (the API's order).
    let body = object(body);
    let expected = headers
        .get(header::IF_MATCH)
        .and_then(|v| if_match(v.as_bytes()));
    let verb = match how {
        Write::Replace => "update",
        Write::Merge => "patch",
    };
    let shape = Shape::of(kind, c.generation);
    let mut data = c.user.lock();
    data.live(kind, &uid).map_err(|e| refuse(kind, verb, e))?;
    let fields = match (body?, how) {
        (Body::Object(map), _) => shape.client_fields(map),
        (Body::Null, Write::Replace) => return Err(Fail::Empty500),
        (Body::Null, Write::Merge) => Map::new(),
    };
    let edit = |p: &mut Map<String, Value>| match how {
        Write::Replace => *p = fields,
        Write::Merge => p.extend(fields),
    };
    match data.change(kind, &uid, expected, edit) {
        Ok(item) => Ok(ok_json(StatusCode::OK, &ItemJson(item, shape))),
        Err(e) => Err(refuse(kind, verb, e)),
    }
}

/// `DELETE /v1/E/{uid}`: soft delete (and the entity's cascade); seed answers the
/// four-field summary, current the full item. No link check.
fn delete(kind: &'static EntityKind, c: &ApiCaller, raw_uid: &str) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let shape = Shape::of(kind, c.generation);
    let mut data = c.user.lock();
    match data.delete(kind, &uid) {
        Ok(item) => Ok(ok_json(StatusCode::OK, &shape.deleted(item))),
        Err(e) => Err(refuse(kind, "delete", e)),
    }
}

/// `POST /v1/E/{uid}/archive`: writes the entity's archive fields; the body is never read.
fn archive(kind: &'static EntityKind, c: &ApiCaller, raw_uid: &str) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let generation = c.generation;
    let mut data = c.user.lock();
    let edit = |p: &mut Map<String, Value>| kinds::apply(kind.archive, generation, p);
    match data.change(kind, &uid, None, edit) {
        Ok(item) => Ok(ok_json(
            StatusCode::OK,
            &ItemJson(item, Shape::of(kind, generation)),
        )),
        Err(e) => Err(refuse(kind, "archive", e)),
    }
}

/// The `action` of a process body decoded into Go's `{Action string; Metadata map}`:
/// anything else than that shape is `400 invalid JSON`. `metadata` is otherwise unused.
fn action_of(body: RawBody) -> Result<String, Fail> {
    let bytes = body_bytes(body, "invalid JSON")?;
    let fields = struct_body(&bytes).map_err(|()| bad_request("invalid JSON"))?;
    object_field(&fields, "metadata").map_err(|()| bad_request("invalid JSON"))?;
    string_field(&fields, "action").map_err(|()| bad_request("invalid JSON"))
}

/// A process body: read (the action named), or still unread (lookup-first entities).
enum Requested {
    Named(String),
    Unread(RawBody),
}

/// `POST /v1/E/{uid}/process` with `{"action", "metadata"?}`: the action's field writes.
fn process(kind: &'static EntityKind, c: &ApiCaller, raw_uid: &str, body: RawBody) -> Answer {
    let uid = parse_uid(raw_uid)?;
    let requested = match kind.process {
        Process::BodyFirst => Requested::Named(action_of(body)?),
        Process::LookupFirst => Requested::Unread(body),
    };
    let mut data = c.user.lock();
    data.live(kind, &uid)
        .map_err(|e| refuse(kind, "process", e))?;
    let name = match requested {
        Requested::Named(name) => name,
        Requested::Unread(body) => action_of(body)?,
    };
    let action = kind
        .action(&name)
        .ok_or_else(|| bad_request(kind.bad_action(&name)))?;
    let generation = c.generation;
    let edit = |p: &mut Map<String, Value>| kinds::apply(action.sets, generation, p);
    match data.change(kind, &uid, None, edit) {
        Ok(item) => Ok(ok_json(
            StatusCode::OK,
            &ItemJson(item, Shape::of(kind, generation)),
        )),
        Err(e) => Err(refuse(kind, "process", e)),
    }
}
