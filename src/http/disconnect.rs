//! Noticing that a client went away. rmcp cancels a tool call when the client sends
//! `notifications/cancelled`, but in stateful mode it keeps a call running when the HTTP
//! connection drops (the stream could be resumed). A tool call here is a REST request on
//! the user's behalf: nobody is left to read its answer, so it should stop.
//!
//! This layer gives every `/mcp` request a token that is cancelled when the response is
//! dropped before its last byte was sent (or before it was produced at all). The tool
//! handler finds it in the request's `Parts` and drops its upstream request.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use axum::{body::Body, extract::Request, middleware::Next, response::Response};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Cancelled when the client of this HTTP request is gone.
#[derive(Clone, Debug)]
pub struct ClientGone(pub CancellationToken);

/// Attaches a [`ClientGone`] token and cancels it if the response is abandoned.
pub async fn watch(mut req: Request, next: Next) -> Response {
    let token = CancellationToken::new();
    req.extensions_mut().insert(ClientGone(token.clone()));
    // Dropped (and so cancelling) if this future is dropped before a response exists.
    let guard = token.drop_guard();
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    Response::from_parts(
        parts,
        Body::new(Guarded {
            inner: body,
            guard: Some(guard),
        }),
    )
}

/// A body that disarms its guard once it has been sent to the end.
struct Guarded {
    inner: Body,
    guard: Option<DropGuard>,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled
            && let Some(g) = self.guard.take()
        {
            g.disarm();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
