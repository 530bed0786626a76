//! Every answer to an MCP POST ends within `TOOLBRIDGE_RESPONSE_TIMEOUT_SECONDS` of the
//! request getting its slot, so no stream can pin a slot (or a user's share) for longer.
//!
//! In stateful mode rmcp answers a POST with an SSE stream that ends after the JSON-RPC
//! response; if that response never comes (a request id reused in the session used to do
//! this), the stream would stay open, kept alive by SSE pings, until the client left. Here
//! the stream is cut at the deadline: it gets a last event, a JSON-RPC error for the
//! request's id, and ends; dropping rmcp's stream cancels the call (`disconnect`). An
//! answer that is not even started by then (rmcp waits for the handler before answering
//! `initialize`, and in stateless mode before any JSON answer) is a 504 with the same error.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{StatusCode, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use rmcp::model::RequestId;
use serde_json::json;
use tokio::time::{Instant, Sleep};

/// The JSON-RPC error code of a request that ran out of time (what MCP SDKs use).
const TIMED_OUT: i32 = -32001;

/// `answer` (rmcp's handling of a POST) within `within`; `id` is the request's, for the
/// error. GET streams live as long as their session and do not come here.
pub(crate) async fn limit(
    within: Duration,
    id: Option<RequestId>,
    answer: impl Future<Output = Response>,
) -> Response {
    let deadline = Instant::now() + within;
    let resp = match tokio::time::timeout_at(deadline, answer).await {
        Ok(resp) => resp,
        Err(_) => {
            metrics::counter!(crate::telemetry::names::RESPONSES_CUT, "when" => "before")
                .increment(1);
            let body = error(id.as_ref(), within);
            return (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into_response();
        }
    };
    let streams = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streams {
        return resp;
    }
    let (parts, inner) = resp.into_parts();
    let body = Cut {
        inner: Some(inner),
        sleep: Box::pin(tokio::time::sleep_until(deadline)),
        last: Some((id, within)),
    };
    Response::from_parts(parts, Body::new(body))
}

fn error(id: Option<&RequestId>, within: Duration) -> serde_json::Value {
    let message = format!(
        "the request did not finish within {} s (TOOLBRIDGE_RESPONSE_TIMEOUT_SECONDS) and was cancelled",
        within.as_secs_f64()
    );
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": TIMED_OUT, "message": message}})
}

/// An SSE body that ends at the deadline with one last error event.
struct Cut {
    inner: Option<Body>,
    sleep: Pin<Box<Sleep>>,
    /// The id and limit for the last event, until it is sent.
    last: Option<(Option<RequestId>, Duration)>,
}

impl HttpBody for Cut {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(inner) = this.inner.as_mut() {
            match Pin::new(inner).poll_frame(cx) {
                Poll::Pending => {}
                done @ Poll::Ready(None) => {
                    this.inner = None;
                    this.last = None;
                    return done;
                }
                other => return other,
            }
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Time is up: drop rmcp's stream (which cancels the call), then say why.
            this.inner = None;
            metrics::counter!(crate::telemetry::names::RESPONSES_CUT, "when" => "streaming")
                .increment(1);
        }
        Poll::Ready(this.last.take().map(|(id, within)| {
            let event = format!("event: message\ndata: {}\n\n", error(id.as_ref(), within));
            Ok(Frame::data(Bytes::from(event)))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none() && self.last.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
