//! Noticing that a client went away. rmcp cancels a tool call when the client sends
//! `notifications/cancelled`, but in stateful mode it keeps a call running when the HTTP
//! connection drops (the stream could be resumed). A tool call here is a REST request on
//! the user's behalf: nobody is left to read its answer, so it should stop.
//!
//! This layer gives every `/mcp` request a token that is cancelled when the response is
//! dropped before its last byte was sent (or before it was produced at all). The tool
//! handler finds it in the request's `Parts` and drops its upstream request.
//!
//! The same span, from a `POST`'s arrival to its answer's last byte, is counted in
//! `answers`: graceful shutdown waits for that count (not a pause) before it ends the MCP
//! sessions, so an answer whose call just finished is not cut off. A `GET` is the
//! long-lived event stream of a session, not an answer, and is not counted.

use std::future::Future;

use axum::{extract::Request, response::Response};
use tokio_util::sync::CancellationToken;

use crate::call::{ClientGone, InFlight};

/// Runs `answer` on `req` with a [`ClientGone`] token in it, cancelled if the response is
/// abandoned.
pub(crate) async fn watch<F, Fut>(answers: &InFlight, mut req: Request, answer: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let token = CancellationToken::new();
    req.extensions_mut().insert(ClientGone(token.clone()));
    let answer_count = (req.method() != http::Method::GET).then(|| answers.enter());
    // Dropped (and so cancelling) if this future is dropped before a response exists.
    let guard = token.drop_guard();
    // Disarmed once the body has been sent to the end: the client got everything.
    super::body::tie(answer(req).await, (guard, answer_count), |(g, count)| {
        g.disarm();
        drop(count);
    })
}
