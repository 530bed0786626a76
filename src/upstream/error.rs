//! The one error type of the upstream boundary. Its `Display` is written for the model and
//! the operator: it keeps the API's own message and never contains the API's URL or a token.

use http::StatusCode;

/// Why an API request did not give a usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The TCP connection could not be made (API down, wrong address).
    #[error("the ToolBridge API is unreachable (connection failed)")]
    Unreachable,
    /// The API took longer than the configured timeout.
    #[error("the ToolBridge API did not answer within {0} s")]
    Timeout(f64),
    /// The connection broke mid-answer (a truncated body, a reset).
    #[error("the ToolBridge API connection broke before the answer was complete")]
    Broken,
    /// The answer was bigger than the configured cap.
    #[error("the ToolBridge API answer is larger than the gateway's {limit}-byte limit")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The API answered with something that is not JSON where JSON was expected.
    #[error("the ToolBridge API answered {status} with a non-JSON body ({content_type})")]
    NotJson {
        /// HTTP status of the answer.
        status: StatusCode,
        /// Its content type, as sent.
        content_type: String,
    },
    /// The API answered with an error status.
    #[error("the ToolBridge API answered {status}: {message}")]
    Status {
        /// HTTP status of the answer.
        status: StatusCode,
        /// The API's own message (`error` field, or the plain-text body).
        message: String,
        /// The JSON body, when there was one.
        body: Option<serde_json::Value>,
        /// `Retry-After`, in seconds, on a 429.
        retry_after: Option<u64>,
    },
    /// Every API request slot stayed taken for as long as a request may take: nothing was
    /// sent upstream.
    #[error(
        "the gateway is at its limit of {limit} concurrent API requests and none freed up within {waited} s"
    )]
    Busy {
        /// The configured limit (`TOOLBRIDGE_UPSTREAM_MAX_IN_FLIGHT`).
        limit: usize,
        /// Seconds this call waited.
        waited: f64,
    },
    /// The caller sent no bearer token, so nothing was sent upstream.
    #[error("no bearer token")]
    NoToken,
    /// Anything else the HTTP stack reported (described without its URL).
    #[error("the request to the ToolBridge API failed: {0}")]
    Other(String),
}

impl UpstreamError {
    /// Classifies a transport error without ever printing its URL.
    pub(crate) fn from_reqwest(e: &reqwest::Error, timeout_secs: f64) -> Self {
        if e.is_timeout() {
            Self::Timeout(timeout_secs)
        } else if e.is_connect() {
            Self::Unreachable
        } else if e.is_body() || e.is_decode() || e.is_request() {
            Self::Broken
        } else {
            let mut e = std::error::Error::source(e);
            let mut last = None;
            while let Some(inner) = e {
                last = Some(inner.to_string());
                e = inner.source();
            }
            Self::Other(last.unwrap_or_else(|| "unknown transport error".into()))
        }
    }

    /// Recovers a typed error that travelled through `reqwest-middleware`.
    pub(crate) fn from_middleware(e: reqwest_middleware::Error, timeout_secs: f64) -> Self {
        match e {
            reqwest_middleware::Error::Reqwest(e) => Self::from_reqwest(&e, timeout_secs),
            reqwest_middleware::Error::Middleware(e) => match e.downcast::<UpstreamError>() {
                Ok(typed) => typed,
                Err(other) => Self::Other(other.to_string()),
            },
        }
    }

    /// The HTTP status, when the API answered with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } | Self::NotJson { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::Broken => "broken",
            Self::Busy { .. } => "busy",
            Self::TooLarge { .. } => "too_large",
            Self::NotJson { .. } => "not_json",
            Self::Status { .. } => "status",
            Self::NoToken => "no_token",
            Self::Other(_) => "other",
        }
    }
}
