//! Bounded JSON fetches from the issuer (its metadata and its keys), and why one failed:
//! shared by `discovery` and `jwks`, which otherwise need nothing of each other.

use std::time::Duration;

/// A JWKS or metadata fetch gives up after this long (connect included).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a refresh failed. Logged by the cache; never shown to a client.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwksError {
    /// Network error or timeout.
    #[error("fetch failed: {0}")]
    Fetch(String),
    /// A non-success status.
    #[error("fetch failed: status {0}")]
    Status(u16),
    /// The document is larger than the limit (bytes).
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
    /// Not a JWKS (or metadata document), or no usable RS256 signing key in it.
    #[error("document unusable: {0}")]
    Invalid(String),
}

/// GETs `url` as JSON and reads at most `max` bytes of it, within [`FETCH_TIMEOUT`].
pub(super) async fn get_bounded(
    client: &reqwest::Client,
    url: &reqwest::Url,
    max: usize,
) -> Result<Vec<u8>, JwksError> {
    use crate::telemetry::otel;
    let fetch = |e: reqwest::Error| JwksError::Fetch(e.without_url().to_string());
    // The fetch's client span (traces on only), its traceparent on the request.
    let mut headers = http::HeaderMap::new();
    let mut span = otel::client_span(&http::Method::GET, url, &mut headers);
    let sent = client
        .get(url.clone())
        .timeout(FETCH_TIMEOUT)
        .header(http::header::ACCEPT, "application/json")
        .headers(headers)
        .send()
        .await;
    match &sent {
        Ok(resp) => span.status(resp.status().as_u16()),
        Err(e) => span.failed(e),
    }
    let mut resp = sent.map_err(fetch)?;
    if !resp.status().is_success() {
        return Err(JwksError::Status(resp.status().as_u16()));
    }
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(JwksError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(fetch)? {
        if body.len() + chunk.len() > max {
            return Err(JwksError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
