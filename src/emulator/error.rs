//! JSON answers: error bodies carrying the correlation id, and serialized success bodies.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

/// The request's correlation id: the client's `X-Correlation-ID` or one made up for it.
/// Travels in request extensions so every JSON error body can carry it.
#[derive(Clone, Debug)]
pub(crate) struct Cid(pub HeaderValue);

impl Cid {
    /// Takes the client's id when it is usable text, else makes a fresh UUID.
    pub fn from_request(value: Option<&HeaderValue>) -> Self {
        match value {
            Some(v) if !v.is_empty() && v.len() <= 256 && v.to_str().is_ok() => Self(v.clone()),
            _ => {
                let id = uuid::Uuid::new_v4().hyphenated().to_string();
                Self(HeaderValue::from_str(&id).expect("a UUID is a valid header value"))
            }
        }
    }

    /// The id as text (checked to be visible ASCII on construction).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// A JSON error: `{"error": message, <extra>, "correlation_id": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
    pub extra: Option<(&'static str, Value)>,
}

impl ApiError {
    /// An error with only a message.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            extra: None,
        }
    }

    /// Adds one more field to the body (`epoch`, `deletedAt`).
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra = Some((key, value.into()));
        self
    }

    /// The response, with the correlation id in the body.
    pub fn respond(self, cid: &Cid) -> Response {
        let mut body = Map::with_capacity(3);
        body.insert("error".into(), Value::String(self.message.into_owned()));
        if let Some((k, v)) = self.extra {
            body.insert(k.into(), v);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids() {
        let given = HeaderValue::from_static("abc-123");
        assert_eq!(Cid::from_request(Some(&given)).as_str(), "abc-123");
        let made = Cid::from_request(None);
        assert!(uuid::Uuid::parse_str(made.as_str()).is_ok());
        let bad = HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
        assert_ne!(Cid::from_request(Some(&bad)).as_str(), "");
    }
}
