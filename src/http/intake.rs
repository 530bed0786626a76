//! Reading a POST body at the edge, whole, before the request takes a slot.
//!
//! A body is read within a total deadline (408 after it) and up to the size limit (413),
//! scanned by [`super::scan`] as it arrives (400 with a JSON-RPC error for broken JSON, a
//! batch, or a text deeper or larger in values than any tool call needs; the rest of such
//! a body is read and dropped, so the client is there to read the answer), and only then
//! handed on. The request's JSON-RPC `id` is read from the scanned bytes with everything
//! else skipped, so no parse tree exists before rmcp builds its own. The chunks are kept as
//! hyper delivered them and each is released as rmcp copies it: one body in memory, not two.

use std::{
    collections::VecDeque,
    io::Read,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::{Buf, Bytes};
use http::{StatusCode, header};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use rmcp::model::RequestId;
use serde_json::json;

use super::scan::{ScanError, Scanner};

mod message;

pub(crate) use message::Meta;

/// Longest JSON-RPC `id` accepted, in bytes: ids are counters or UUIDs, and each one in
/// flight is remembered for the duplicate check.
pub(crate) const MAX_ID_BYTES: usize = 200;

/// What the edge reads of a JSON-RPC message, in its one parse of the body: everything a
/// later check needs (the duplicate-id check, the session reservation, the scope check,
/// admission, the deadline's error, the tracing), handed on as this one value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Envelope {
    /// The `id` of a request (a message with a `method` and an `id`).
    pub(crate) id: Option<RequestId>,
    /// The method, when it is a short one (longer names are no method the server has).
    pub(crate) method: Option<String>,
    /// For `tools/call`: `params.name`, when it is a short one (no tool has a longer name),
    /// for the scope check.
    pub(crate) tool: Option<String>,
    /// What `params._meta` carries for the edge (the revision a 2026-07-28 call speaks,
    /// `direct`) and the tracing.
    pub(crate) meta: Meta,
    /// The body's length in bytes (for admission's byte budget).
    pub(crate) len: usize,
}

impl Envelope {
    /// True for an `initialize` request.
    pub(crate) fn is_initialize(&self) -> bool {
        self.id.is_some() && self.method.as_deref() == Some("initialize")
    }
}

/// Why a body was not accepted.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A declared `Content-Length` over the size limit (413, before a byte is read).
    DeclaredTooLarge(usize),
    /// Over the size limit while reading (413).
    TooLarge(usize),
    /// Not complete within the deadline (408).
    TimedOut(Duration),
    /// The connection failed while reading (400).
    Broken,
    /// Not JSON, or past the scan's limits (400 with a JSON-RPC error).
    Json(ScanError),
    /// JSON, but not one JSON-RPC message the edge can route (400 with a JSON-RPC error).
    Rpc(String),
}

impl Refusal {
    /// The label of `toolbridge_edge_refused_total`.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Refusal::TooLarge(_) | Refusal::DeclaredTooLarge(_) => "body_too_large",
            Refusal::TimedOut(_) => "body_timeout",
            Refusal::Broken => "body_broken",
            Refusal::Json(ScanError::Syntax(_)) => "json_syntax",
            Refusal::Json(_) => "json_limits",
            Refusal::Rpc(_) => "jsonrpc_invalid",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let close = [(header::CONNECTION, "close")];
        match self {
            // Answered before reading: the connection can carry on once hyper has
            // drained (or given up on) the body.
            Refusal::DeclaredTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {limit} bytes"),
            )
                .into_response(),
            Refusal::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                close,
                format!("request body larger than {limit} bytes"),
            )
                .into_response(),
            Refusal::TimedOut(d) => (
                StatusCode::REQUEST_TIMEOUT,
                close,
                format!(
                    "the request body did not arrive within {} s",
                    d.as_secs_f64()
                ),
            )
                .into_response(),
            Refusal::Broken => (
                StatusCode::BAD_REQUEST,
                close,
                "the request body could not be read",
            )
                .into_response(),
            Refusal::Json(ScanError::Syntax(at)) => {
                rpc_error(-32700, format!("Parse error: invalid JSON at byte {at}"))
            }
            Refusal::Json(e) => rpc_error(-32600, format!("Invalid Request: {e}")),
            Refusal::Rpc(why) => rpc_error(-32600, format!("Invalid Request: {why}")),
        }
    }
}

/// A 400 whose body is a JSON-RPC error without an id (the request could not be read far
/// enough to answer it by id), as the transport spec asks.
pub(crate) fn rpc_error(code: i32, message: String) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// A declared `Content-Length` over `limit`: refused without reading the body.
pub(crate) fn declared(headers: &http::HeaderMap, limit: usize) -> Result<(), Refusal> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(Refusal::DeclaredTooLarge(limit)),
        _ => Ok(()),
    }
}

/// Reads `body` whole within `within` and at most `limit` bytes, scanning it as it comes.
pub(crate) async fn read(
    body: Body,
    limit: usize,
    within: Duration,
) -> Result<(Chunks, Envelope), Refusal> {
    let collect = async {
        let mut body = std::pin::pin!(body);
        let mut chunks = Chunks::default();
        let mut scanner = Scanner::default();
        let mut refused = None;
        let mut seen = 0;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| Refusal::Broken)?.into_data() else {
                continue; // trailers
            };
            if data.len() > limit - seen {
                return Err(Refusal::TooLarge(limit));
            }
            seen += data.len();
            if refused.is_some() {
                continue;
            }
            match scanner.feed(&data) {
                Ok(()) => {
                    chunks.len += data.len();
                    chunks.queue.push_back(data);
                }
                // Keep reading (and dropping) the rest, within the limits: an answer sent
                // while the client is still sending is often lost to a reset, and this one
                // says what to fix.
                Err(e) => {
                    refused = Some(e);
                    chunks = Chunks::default();
                }
            }
        }
        if let Some(e) = refused {
            return Err(Refusal::Json(e));
        }
        Ok((chunks, scanner.finish().map_err(Refusal::Json)?))
    };
    let (chunks, stats) = tokio::time::timeout(within, collect)
        .await
        .map_err(|_| Refusal::TimedOut(within))??;
    match stats.top {
        b'{' => {}
        b'[' => {
            return Err(Refusal::Rpc(
                "batches are not supported; send one JSON-RPC message per request".into(),
            ));
        }
        _ => {
            return Err(Refusal::Rpc(
                "the body must be a JSON-RPC message object".into(),
            ));
        }
    }
    let envelope = envelope(&chunks)?;
    Ok((chunks, envelope))
}

fn envelope(chunks: &Chunks) -> Result<Envelope, Refusal> {
    // One parse. Every member other than these is skipped by serde without being built;
    // the scan already bounded the nesting, so skipping cannot recurse deeply.
    let raw: message::Message = chunks
        .parse()
        .map_err(|e| Refusal::Rpc(serde_message(&e)))?;
    if let Some(RequestId::String(s)) = &raw.id
        && s.len() > MAX_ID_BYTES
    {
        return Err(Refusal::Rpc(format!(
            "an id longer than {MAX_ID_BYTES} bytes"
        )));
    }
    let is_request = raw.method.is_some();
    let method = raw.method.and_then(|m| m.0);
    let params = raw.params.unwrap_or_default();
    // `params.name` matters only to a tool call: a name that is not a string, or given
    // twice, is refused (400) there rather than left for rmcp to read differently from
    // the scope check; other methods' params are rmcp's to judge.
    let tool = match method.as_deref() {
        Some("tools/call") => match params.name {
            message::Name::Absent => None,
            message::Name::Str(n) => Some(n).filter(|n| n.len() <= 64),
            message::Name::Invalid(why) => return Err(Refusal::Rpc(why)),
        },
        _ => None,
    };
    Ok(Envelope {
        id: raw.id.filter(|_| is_request),
        method,
        tool,
        meta: params.meta,
        len: chunks.len,
    })
}

/// What serde says, without its line and column (the body is one line to the client).
fn serde_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// A body read whole, as the chunks it arrived in. As an HTTP body it hands each chunk
/// on once and forgets it.
#[derive(Debug, Default)]
pub(crate) struct Chunks {
    queue: VecDeque<Bytes>,
    len: usize,
}

impl Chunks {
    /// The body as a `T`, read in place (a body that came in one chunk, as most do, is
    /// parsed from it without a copy).
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        match self.queue.len() {
            1 => serde_json::from_slice(&self.queue[0]),
            _ => serde_json::from_reader(self.reader()),
        }
    }

    fn reader(&self) -> impl Read + '_ {
        ChunkReader {
            chunks: self.queue.iter(),
            current: &[],
        }
    }

    /// As a request body.
    pub(crate) fn into_body(self) -> Body {
        Body::new(self)
    }
}

struct ChunkReader<'a, I> {
    chunks: I,
    current: &'a [u8],
}

impl<'a, I: Iterator<Item = &'a Bytes>> Read for ChunkReader<'a, I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.next() {
                Some(c) => self.current = c,
                None => return Ok(0),
            }
        }
        let n = self.current.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let next = self.queue.pop_front();
        if let Some(c) = &next {
            self.len -= c.len();
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.queue.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len as u64)
    }
}

#[cfg(test)]
mod tests;
