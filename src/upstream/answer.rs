//! Reading the API's answers: bodies under a cap, and error answers turned into
//! [`UpstreamError`]s that keep the API's own message.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::UpstreamError;

/// The `Content-Type` of an answer, for error messages.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_owned()
}

/// Reads a body, refusing to hold more than `max` bytes whatever `Content-Length` says.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Bytes, UpstreamError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(UpstreamError::TooLarge { limit: max });
    }
    // The common case is a single chunk: it is handed over as it came, without a copy;
    // only a second chunk starts a buffer.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
                if held + chunk.len() > max {
                    return Err(UpstreamError::TooLarge { limit: max });
                }
                match first.take() {
                    None if buf.is_empty() => first = Some(chunk),
                    None => buf.extend_from_slice(&chunk),
                    Some(f) => {
                        buf.reserve(f.len() + chunk.len());
                        buf.extend_from_slice(&f);
                        buf.extend_from_slice(&chunk);
                    }
                }
            }
            Ok(None) => return Ok(first.unwrap_or_else(|| buf.freeze())),
            Err(e) => return Err(UpstreamError::from_reqwest(&e)),
        }
    }
}

/// Reads a whole answer and decodes a success as JSON `T`; an error status becomes an
/// [`UpstreamError::Status`] keeping the API's message. The one reader of JSON answers.
pub(crate) async fn json_answer<T: serde::de::DeserializeOwned>(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<(T, HeaderMap), UpstreamError> {
    let status = resp.status();
    // Moved out, not cloned: reading the body needs no headers.
    let headers = std::mem::take(resp.headers_mut());
    let bytes = read_capped(resp, max).await?;
    if !status.is_success() {
        return Err(error_from(status, &headers, &bytes));
    }
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok((value, headers)),
        Err(_) => Err(UpstreamError::NotJson {
            status,
            content_type: content_type(&headers),
        }),
    }
}

/// Turns an error answer into an [`UpstreamError::Status`] that keeps the API's message.
pub(crate) fn error_from(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> UpstreamError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let message = match &json {
        Some(Value::Object(map)) => map
            .get("error")
            .or_else(|| map.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| "(no message)".into()),
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.starts_with('<') {
                // An HTML error page from a proxy: its markup helps nobody.
                format!("an HTML error page ({})", content_type(headers))
            } else if text.is_empty() {
                "(empty body)".into()
            } else {
                text.chars().take(300).collect()
            }
        }
    };
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    UpstreamError::Status {
        status,
        message,
        body: json,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `chunks` as one chunked body on a real socket and reads it with `max`.
    async fn read_chunks(
        chunks: &'static [&'static str],
        max: usize,
    ) -> Result<Bytes, UpstreamError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move {
                let stream = futures::stream::iter(
                    chunks
                        .iter()
                        .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes()))),
                );
                axum::body::Body::from_stream(stream)
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        crate::upstream::install_crypto_provider();
        let resp = reqwest::get(format!("http://{addr}/")).await.unwrap();
        read_capped(resp, max).await
    }

    #[tokio::test]
    async fn bodies_are_read_whole_in_one_or_many_chunks_and_capped_across_them() {
        assert_eq!(read_chunks(&["{\"a\":1}"], 64).await.unwrap(), "{\"a\":1}");
        assert_eq!(
            read_chunks(&["{\"a\"", ":", "1}"], 64).await.unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(read_chunks(&[], 64).await.unwrap(), "");
        let over = read_chunks(&["12345", "67890", "x"], 10).await;
        assert!(
            matches!(over, Err(UpstreamError::TooLarge { limit: 10 })),
            "{over:?}"
        );
    }
}
