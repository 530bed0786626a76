//! A response body that carries a value for as long as the response is being sent: the
//! disconnect watch ties its cancel-on-drop guard to it, admission its request slot.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use axum::{body::Body, response::Response};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

/// `resp` with `value` kept alive until its body has produced its last frame (then `on_end`
/// gets it) or is dropped unfinished (then the value is simply dropped).
pub(crate) fn tie<T>(resp: Response, value: T, on_end: fn(T)) -> Response
where
    T: Send + Unpin + 'static,
{
    let (parts, inner) = resp.into_parts();
    Response::from_parts(
        parts,
        Body::new(Tied {
            inner,
            value: Some(value),
            on_end,
        }),
    )
}

struct Tied<T> {
    inner: Body,
    value: Option<T>,
    on_end: fn(T),
}

impl<T: Send + Unpin + 'static> HttpBody for Tied<T> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // The end is known either when the body says so (None) or, for a body of known
        // length (a JSON answer), as soon as its last frame is out: a slot is not held
        // while a slow client reads an answer that is already complete.
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended && let Some(value) = self.value.take() {
            (self.on_end)(value);
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
