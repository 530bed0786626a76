//! The protocol answers the edge gives itself instead of leaving them to rmcp:
//!
//! - an `MCP-Protocol-Version` this gateway does not serve (`v999.0.0`, `2099-01-01`, an
//!   empty value, a token pasted into the wrong header) gets `400` with the JSON-RPC
//!   `UnsupportedProtocolVersionError` (`-32022`, `data.supported`/`data.requested`) the
//!   2026-07-28 revision prescribes, whatever the value's shape and whatever revision the
//!   request speaks. rmcp answers some of these itself, some as `400 text/plain`, and logs
//!   some header values verbatim; answered here, the value goes back to the client that sent
//!   it and nowhere else: it is never logged.
//! - a `DELETE` that closed a legacy session answers `204 No Content` instead of rmcp's
//!   `202`: the official Python SDK treats anything but 200/204 as a failed termination and
//!   logs a warning on every close.

use std::time::Duration;

use axum::{
    body::Body,
    extract::Request,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use rmcp::model::{ErrorData, JsonRpcError, ProtocolVersion, RequestId};

use crate::{http::MCP_PROTOCOL_VERSION, mcp::protocol};

/// Passes `req` on when every `MCP-Protocol-Version` it carries (if any) names a served
/// revision; otherwise answers `-32022`. The body is read (at most `max_body` bytes, for
/// at most `body_timeout`) only on that refusal, to echo the request's JSON-RPC id.
pub(super) async fn check_version(
    req: Request,
    max_body: usize,
    body_timeout: Duration,
) -> Result<Request, Response> {
    let unsupported = req
        .headers()
        .get_all(MCP_PROTOCOL_VERSION)
        .iter()
        .find(|v| !protocol::is_supported(v.as_bytes()))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(requested) = unsupported else {
        return Ok(req);
    };
    metrics::counter!(crate::telemetry::names::EDGE_REFUSED, "reason" => "bad_protocol_version")
        .increment(1);
    // The value itself stays out of the log: it may be a credential.
    tracing::debug!("refused at the edge: unsupported MCP-Protocol-Version");
    let id = request_id(req.into_body(), max_body, body_timeout).await;
    Err(unsupported_version(id, requested))
}

/// rmcp's `202 Accepted` for a closed session becomes `204 No Content`.
pub(super) fn session_closed(resp: Response) -> Response {
    if resp.status() != StatusCode::ACCEPTED {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    parts.status = StatusCode::NO_CONTENT;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

/// The JSON-RPC id of a request body, when it is one request with a readable id: read by
/// the intake, the one reader of request bodies, with its limits.
async fn request_id(body: Body, max_body: usize, timeout: Duration) -> Option<RequestId> {
    let (_, envelope) = crate::http::intake::read(body, max_body, timeout)
        .await
        .ok()?;
    envelope.id
}

fn unsupported_version(id: Option<RequestId>, requested: String) -> Response {
    // rmcp's own constructor, so the error reads exactly as the ones rmcp sends for a
    // date-shaped version it does not know. Any string deserializes as a version.
    let requested: ProtocolVersion = serde_json::from_value(serde_json::Value::String(requested))
        .expect("a string is a protocol version");
    let error = ErrorData::unsupported_protocol_version(requested, &protocol::supported_versions());
    let body = serde_json::to_vec(&JsonRpcError::new(id, error)).expect("serializable");
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn request(version: Option<&[u8]>, body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/mcp");
        if let Some(v) = version {
            b = b.header(
                MCP_PROTOCOL_VERSION,
                http::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        b.body(Body::from(body.to_owned())).unwrap()
    }

    async fn refusal(version: &[u8], body: &str) -> serde_json::Value {
        let resp = check_version(request(Some(version), body), 1024, Duration::from_secs(1))
            .await
            .expect_err("refused");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn served_or_absent_versions_pass() {
        for v in [
            None,
            Some(&b"2025-06-18"[..]),
            Some(b"2025-11-25"),
            Some(b"2026-07-28"),
        ] {
            assert!(
                check_version(request(v, "{}"), 1024, Duration::from_secs(1))
                    .await
                    .is_ok()
            );
        }
    }

    #[tokio::test]
    async fn any_other_value_is_minus_32022_with_the_request_id() {
        let body = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
        for v in [&b"v999.0.0"[..], b"2099-01-01", b"", b"Bearer eyJ0eXAi"] {
            let answer = refusal(v, body).await;
            assert_eq!(answer["id"], 7);
            assert_eq!(answer["error"]["code"], -32022);
            assert_eq!(
                answer["error"]["data"]["requested"],
                String::from_utf8_lossy(v).as_ref()
            );
            let supported = answer["error"]["data"]["supported"].as_array().unwrap();
            assert!(supported.iter().any(|s| s == "2026-07-28"));
        }
    }

    #[tokio::test]
    async fn an_unreadable_id_is_left_out() {
        for body in ["not json", r#"[{"id":1}]"#, &"x".repeat(2048)] {
            let answer = refusal(b"v1", body).await;
            assert!(answer.get("id").is_none(), "{body}: {answer}");
        }
    }

    #[test]
    fn only_accepted_becomes_no_content() {
        let closed = session_closed(StatusCode::ACCEPTED.into_response());
        assert_eq!(closed.status(), StatusCode::NO_CONTENT);
        let other = session_closed(StatusCode::NOT_FOUND.into_response());
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
    }
}
