//! The `/v1/sync` routes of contract section 3 behind the token: sessions (open, read,
//! end), the account wipe and the sync state.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::api_caller::ApiCaller;
use super::error::{ApiError, EPOCH, RawBody, body_bytes, json, plain_error};
use super::formats::{now_ms, string_field, struct_body};
use super::session_store::Session;
use super::shared::Shared;

/// `POST /v1/sync/sessions`: `201` with the session JSON and `X-Sync-Epoch`. Any request
/// body is ignored.
pub(crate) async fn open(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<ApiCaller>,
) -> Response {
    let epoch = c.user.lock().epoch;
    let session = st.sessions.create(c.sub.clone(), epoch);
    st.counters.sessions_opened.fetch_add(1, Ordering::Relaxed);
    let mut response = json(StatusCode::CREATED, &session);
    response
        .headers_mut()
        .insert(EPOCH, HeaderValue::from(epoch));
    response
}

/// The caller's own live session `id`, or the API's plain-text `404`/`403`. The real API
/// answers these two with Go's `http.Error` (plain text), not with JSON.
fn owned(st: &Shared, caller: &ApiCaller, id: &str) -> Result<Session, (StatusCode, &'static str)> {
    match st.sessions.lookup(id, now_ms()) {
        None => Err((StatusCode::NOT_FOUND, "session not found or expired")),
        Some(s) if s.owner != caller.sub => Err((StatusCode::FORBIDDEN, "forbidden")),
        Some(s) => Ok(s),
    }
}

/// `GET /v1/sync/sessions/{id}`: `200` with the session JSON, owner only.
pub(crate) async fn get_one(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Response {
    match owned(&st, &c, &id) {
        Ok(session) => json(StatusCode::OK, &session),
        Err((status, msg)) => plain_error(status, msg),
    }
}

/// `DELETE /v1/sync/sessions/{id}`: `204`, owner only.
pub(crate) async fn delete_one(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Response {
    match owned(&st, &c, &id) {
        Ok(_) => {
            st.sessions.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err((status, msg)) => plain_error(status, msg),
    }
}

/// `POST /v1/sync/wipe` with `{"confirm": "WIPE"}`: hard-deletes the caller's rows, raises
/// the epoch, ends all the caller's sessions; `200 {"epoch", "deleted": {...}}`. The body
/// is decoded like the API's struct (`confirm`, `mode` strings); a body that does not
/// decode, or another confirmation, is `400`.
pub(crate) async fn wipe(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<ApiCaller>,
    body: RawBody,
) -> Response {
    let confirm = body_bytes(body, "invalid request body").and_then(|bytes| {
        let invalid = |()| ApiError::new(StatusCode::BAD_REQUEST, "invalid request body");
        let fields = struct_body(&bytes).map_err(invalid)?;
        string_field(&fields, "mode").map_err(invalid)?;
        string_field(&fields, "confirm").map_err(invalid)
    });
    match confirm {
        Err(e) => e.respond(&c.cid),
        Ok(word) if word != "WIPE" => ApiError::new(
            StatusCode::BAD_REQUEST,
            r#"confirmation required: must send {"confirm":"WIPE"}"#,
        )
        .respond(&c.cid),
        Ok(_) => {
            let (epoch, deleted) = st.wipe(&c.sub);
            json(StatusCode::OK, &json!({"epoch": epoch, "deleted": deleted}))
        }
    }
}

/// `GET /v1/sync/state`: `{"epoch", "lastWipeAt"?, "lastWipeBy"?}` (the last two once the
/// account was wiped; `lastWipeBy` is the internal user id).
pub(crate) async fn state(Extension(c): Extension<ApiCaller>) -> Response {
    let data = c.user.lock();
    let mut body = Map::new();
    body.insert("epoch".into(), Value::from(data.epoch));
    if let Some(wipe) = &data.last_wipe {
        body.insert("lastWipeAt".into(), Value::from(wipe.at.clone()));
        body.insert("lastWipeBy".into(), Value::from(wipe.by.clone()));
    }
    json(StatusCode::OK, &body)
}
