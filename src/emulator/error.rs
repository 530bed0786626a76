//! Every answer that is not a success body: JSON errors carrying the correlation id, Go's
//! plain-text `http.Error` answers, and the canned `401`/`403`/`410`/`428`/`409`/`429` of the
//! contract. Gates, faults and handlers all answer through here, so none of them imports
//! another to borrow its answers.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::ratelimit::Verdict;

/// The response header and request header carrying the correlation id.
pub(crate) const CORRELATION: &str = "x-correlation-id";
/// The request and response header of the epoch.
pub(crate) const EPOCH: &str = "x-sync-epoch";

/// The request's correlation id: the client's `X-Correlation-ID` or one made up for it,
/// plus the header exactly as sent (the `409` answer echoes that one, blank if none).
/// Travels in request extensions so every JSON error body can carry it.
#[derive(Clone, Debug)]
pub(crate) struct Cid {
    pub(crate) value: HeaderValue,
    pub(crate) sent: String,
}

impl Cid {
    /// Takes the client's id when it is usable text, else makes a fresh UUID.
    pub(crate) fn from_request(value: Option<&HeaderValue>) -> Self {
        let sent = value.map_or_else(String::new, |v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        });
        let value = match value {
            Some(v) if !v.is_empty() && v.len() <= 256 && v.to_str().is_ok() => v.clone(),
            _ => {
                let id = uuid::Uuid::new_v4().hyphenated().to_string();
                HeaderValue::from_str(&id).expect("a UUID is a valid header value")
            }
        };
        Self { value, sent }
    }

    /// The id as text (checked to be visible ASCII on construction).
    pub(crate) fn as_str(&self) -> &str {
        self.value.to_str().unwrap_or_default()
    }
}

/// A JSON error: `{"error": message, "correlation_id": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: Cow<'static, str>,
}

impl ApiError {
    /// An error with only a message.
    pub(crate) fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The response, with the correlation id in the body.
    pub(crate) fn respond(self, cid: &Cid) -> Response {
        let mut body = Map::with_capacity(2);
        body.insert("error".into(), Value::String(self.message.into_owned()));
        body.insert(
            "correlation_id".into(),
            Value::String(cid.as_str().to_owned()),
        );
        json(self.status, &body)
    }
}

/// `status` with `value` serialized as `application/json`.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response {
    // Serializing our own types into a Vec cannot fail (no non-string map keys, no I/O).
    let bytes = serde_json::to_vec(value).expect("serializable JSON");
    json_bytes(status, bytes)
}

/// `status` with an already serialized JSON body.
pub(crate) fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A request body as handlers extract it.
pub(crate) type RawBody = Result<Bytes, BytesRejection>;

/// The body's bytes; a body over the size limit is `413 request body too large`, any other
/// failure to read it `400` with `invalid`.
pub(crate) fn body_bytes(body: RawBody, invalid: &'static str) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        }
        _ => ApiError::new(StatusCode::BAD_REQUEST, invalid),
    })
}

/// A Go `http.Error` answer: `text/plain`, the message plus a newline, `nosniff`. The
/// real API writes its 401s (and session 404/403s) this way, so clients must trim.
pub(crate) fn plain_error(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

/// 401 for a missing or bad token.
pub(crate) fn unauthorized() -> Response {
    plain_error(StatusCode::UNAUTHORIZED, "unauthorized")
}

/// seed: 401 for any tenant-header failure, with no detail on which check failed.
pub(crate) fn bad_tenant_headers() -> Response {
    plain_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: invalid tenant headers",
    )
}

/// current: 401 for a missing or empty `X-TB-Tenant-ID`.
pub(crate) fn missing_tenant() -> Response {
    plain_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: missing tenant header",
    )
}

/// current: 403 for a tenant the user may not use.
pub(crate) fn tenant_refused() -> Response {
    plain_error(
        StatusCode::FORBIDDEN,
        "Unauthorized: not authorized for requested tenant",
    )
}

/// A refusal of the checks before a handler (token, tenant, session), small enough to
/// travel in a `Result`; [`Refusal::respond`] makes the API's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `401 unauthorized`.
    Token,
    /// seed: `401 Unauthorized: invalid tenant headers`.
    TenantHeaders,
    /// current: `401 Unauthorized: missing tenant header`.
    MissingTenant,
    /// current: `403 Unauthorized: not authorized for requested tenant`.
    TenantNotAllowed,
    /// `428`, no `X-Sync-Session`.
    NoSession,
    /// `428`, the session is unknown, ended or expired.
    UnknownSession,
    /// `403`, another user's session.
    ForeignSession,
}

impl Refusal {
    pub(crate) fn respond(self, cid: &Cid) -> Response {
        match self {
            Self::Token => unauthorized(),
            Self::TenantHeaders => bad_tenant_headers(),
            Self::MissingTenant => missing_tenant(),
            Self::TenantNotAllowed => tenant_refused(),
            Self::NoSession => session_missing(cid),
            Self::UnknownSession => session_unknown(cid),
            Self::ForeignSession => session_foreign(cid),
        }
    }
}

/// 410 `{"error": message, "deletedAt": at}`: the one JSON error without a correlation id.
pub(crate) fn gone(message: String, deleted_at: String) -> Response {
    json(
        StatusCode::GONE,
        &json!({"error": message, "deletedAt": deleted_at}),
    )
}

/// 500 with an empty body: what the API's panic recovery sends (a JSON `null` body on
/// `POST` or `PUT`).
pub(crate) fn empty_500() -> Response {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// 428: no `X-Sync-Session` header.
pub(crate) fn session_missing(cid: &Cid) -> Response {
    let msg =
        "X-Sync-Session header required. Please call POST /v1/sync/sessions to begin a session.";
    ApiError::new(StatusCode::PRECONDITION_REQUIRED, msg).respond(cid)
}

/// 428: the session is unknown, ended or expired.
pub(crate) fn session_unknown(cid: &Cid) -> Response {
    let msg = "Invalid or expired sync session. Please call POST /v1/sync/sessions to begin a new session.";
    ApiError::new(StatusCode::PRECONDITION_REQUIRED, msg).respond(cid)
}

/// 403: a live session of another user.
pub(crate) fn session_foreign(cid: &Cid) -> Response {
    let msg = "Session does not belong to authenticated user.";
    ApiError::new(StatusCode::FORBIDDEN, msg).respond(cid)
}

/// 409 `epoch_mismatch` with the current epoch in the body and in `X-Sync-Epoch`. Its
/// `correlation_id` (body and response header) is the request's own `X-Correlation-ID`,
/// blank when none was sent: the API writes this answer before its correlation fallback.
pub(crate) fn epoch_mismatch(cid: &Cid, epoch: i64) -> Response {
    let body = json!({"error": "epoch_mismatch", "epoch": epoch, "correlation_id": cid.sent});
    let mut response = json(StatusCode::CONFLICT, &body);
    let headers = response.headers_mut();
    headers.insert(EPOCH, HeaderValue::from(epoch));
    let echoed = HeaderValue::from_str(&cid.sent).unwrap_or(HeaderValue::from_static(""));
    headers.insert(CORRELATION, echoed);
    response
}

/// 429 with `Retry-After` and the `X-RateLimit-*` headers.
pub(crate) fn rate_limited(cid: &Cid, verdict: &Verdict) -> Response {
    let msg = format!(
        "Rate limit exceeded. Please retry after {} seconds.",
        verdict.retry_after_secs
    );
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, msg).respond(cid);
    verdict.write_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids() {
        let given = HeaderValue::from_static("abc-123");
        let cid = Cid::from_request(Some(&given));
        assert_eq!((cid.as_str(), cid.sent.as_str()), ("abc-123", "abc-123"));
        let made = Cid::from_request(None);
        assert!(uuid::Uuid::parse_str(made.as_str()).is_ok());
        assert_eq!(made.sent, "");
        let bad = HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
        assert_ne!(Cid::from_request(Some(&bad)).as_str(), "");
    }

    #[test]
    fn the_409_echoes_only_what_was_sent() {
        let r = epoch_mismatch(&Cid::from_request(None), 4);
        assert_eq!(r.headers()[CORRELATION], "");
        assert_eq!(r.headers()[EPOCH], "4");
    }
}
