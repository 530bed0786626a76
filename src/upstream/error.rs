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
    /// The API kept answering `429` for longer than this call may wait.
    #[error(
        "the ToolBridge API is rate limiting this user and asks to wait {retry_after} s more, past the {budget} s this call may spend waiting"
    )]
    RetryBudget {
        /// The API's last `Retry-After`, in seconds.
        retry_after: u64,
        /// The budget (`TOOLBRIDGE_RETRY_BUDGET_SECONDS`).
        budget: f64,
    },
    /// `resolve` mode: the user belongs to several organizations and the API will not pick.
    #[error(
        "this user belongs to several organizations ({}) and the ToolBridge API cannot tell which one this gateway should use",
        list_organizations(.organizations)
    )]
    TenantSelection {
        /// `(id, name)` of each organization.
        organizations: Vec<(String, String)>,
    },
    /// `resolve` mode: the API names no tenant for the user and none is configured.
    #[error(
        "the ToolBridge API names no tenant for this user ({0}) and TOOLBRIDGE_TENANT_ID is not set"
    )]
    NoTenant(String),
    /// `exchange` mode: the caller's token could not be exchanged for a backend token.
    #[error("exchanging the caller's token for a backend token failed at {step}: {detail}")]
    Exchange {
        /// Which step: `the authorization server`, `the API's /auth/token-exchange`, ...
        step: &'static str,
        /// What it said (its own `error`/`error_description`), never the token.
        detail: String,
    },
    /// A write was sent again after a `502`/`503`/`504` (see `retry.rs`) and the repeat was
    /// refused as it would be had the first attempt applied: `410` (already deleted) or
    /// `412` (the version moved on). Whether the first applied is unknown.
    #[error(
        "the ToolBridge API answered 502, 503 or 504, and {then} to the same request sent again"
    )]
    Repeated {
        /// The repeat's status.
        then: StatusCode,
    },
    /// The caller sent no bearer token, so nothing was sent upstream.
    #[error("no bearer token")]
    NoToken,
    /// Anything else the HTTP stack reported (described without its URL).
    #[error("the request to the ToolBridge API failed: {0}")]
    Other(String),
}

/// The innermost cause of a transport error: reqwest's own text names the URL.
fn cause(e: &reqwest::Error) -> String {
    let mut cur = std::error::Error::source(e);
    let mut last = String::from("unknown");
    while let Some(inner) = cur {
        last = inner.to_string();
        cur = inner.source();
    }
    last
}

fn list_organizations(orgs: &[(String, String)]) -> String {
    orgs.iter()
        .map(|(id, name)| {
            if name.is_empty() {
                id.clone()
            } else {
                format!("{name} ({id})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl UpstreamError {
    /// Classifies a transport error without ever printing its URL or the HTTP library's
    /// own words (which name URLs and internals); those go to the debug log only.
    pub(crate) fn from_reqwest(e: &reqwest::Error, timeout_secs: f64) -> Self {
        if e.is_connect() {
            // A connect timeout too: nothing was sent.
            Self::Unreachable
        } else if e.is_timeout() {
            Self::Timeout(timeout_secs)
        } else if e.is_builder() {
            tracing::debug!(cause = %cause(e), "the API request could not be built");
            Self::Other("the gateway could not build the API request from these arguments".into())
        } else if e.is_body() || e.is_decode() || e.is_request() {
            Self::Broken
        } else {
            tracing::debug!(cause = %cause(e), "transport error");
            Self::Other("a transport error".into())
        }
    }

    /// The `Retry-After` of a rate-limited answer, in seconds.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after,
                ..
            } => Some(retry_after.unwrap_or(1).max(1)),
            _ => None,
        }
    }

    /// The API refused the tenant header (contract §2: `401 Unauthorized: invalid tenant
    /// headers`; §7.1: `401 ... missing tenant header`, `403 ... not authorized for
    /// requested tenant`): a deployment problem, not the user's.
    pub(crate) fn is_tenant_refusal(&self) -> bool {
        match self {
            Self::Status {
                status: StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN,
                message,
                body: None,
                ..
            } => message.starts_with("Unauthorized:") && message.contains("tenant"),
            _ => false,
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

    /// Whether a write that failed this way may still have been applied: the request was
    /// (or may have been) sent and its answer was lost, cut short or not the API's own
    /// (a proxy's `502`/`503`/`504`). Every other failure is an answer the API gave, or
    /// happened before anything was sent.
    pub(crate) fn outcome_unknown(&self) -> bool {
        match self {
            Self::Timeout(_)
            | Self::Broken
            | Self::NotJson { .. }
            | Self::TooLarge { .. }
            | Self::Repeated { .. }
            | Self::Other(_) => true,
            Self::Status { status, .. } => matches!(
                *status,
                StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ),
            Self::Unreachable
            | Self::Busy { .. }
            | Self::RetryBudget { .. }
            | Self::TenantSelection { .. }
            | Self::NoTenant(_)
            | Self::Exchange { .. }
            | Self::NoToken => false,
        }
    }

    /// The HTTP status, when the API answered with one.
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } | Self::NotJson { status, .. } => Some(*status),
            Self::Repeated { then } => Some(*then),
            _ => None,
        }
    }

    /// A short label for metrics and logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::Broken => "broken",
            Self::Busy { .. } => "busy",
            Self::TooLarge { .. } => "too_large",
            Self::NotJson { .. } => "not_json",
            Self::Status { .. } => "status",
            Self::Repeated { .. } => "repeated",
            Self::RetryBudget { .. } => "rate_limited",
            Self::TenantSelection { .. } | Self::NoTenant(_) => "tenant",
            Self::Exchange { .. } => "exchange",
            Self::NoToken => "no_token",
            Self::Other(_) => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> UpstreamError {
        UpstreamError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            message: String::new(),
            body: None,
            retry_after: None,
        }
    }

    /// The line between "the API answered, or nothing was sent" and "a write may have been
    /// applied" (docs/retries.md).
    #[test]
    fn a_lost_or_foreign_answer_leaves_a_writes_outcome_unknown_and_nothing_else_does() {
        let unknown = [
            UpstreamError::Timeout(30.0),
            UpstreamError::Broken,
            UpstreamError::NotJson {
                status: StatusCode::OK,
                content_type: "text/plain".into(),
            },
            UpstreamError::TooLarge { limit: 1 },
            UpstreamError::Repeated {
                then: StatusCode::GONE,
            },
            UpstreamError::Other("a transport error".into()),
            status(502),
            status(503),
            status(504),
        ];
        for e in &unknown {
            assert!(e.outcome_unknown(), "{e:?}");
        }
        let known = [
            UpstreamError::Unreachable,
            UpstreamError::Busy {
                limit: 1,
                waited: 1.0,
            },
            UpstreamError::RetryBudget {
                retry_after: 1,
                budget: 1.0,
            },
            UpstreamError::NoToken,
            status(400),
            status(404),
            status(409),
            status(410),
            status(412),
            status(428),
            status(429),
            status(500),
        ];
        for e in &known {
            assert!(!e.outcome_unknown(), "{e:?}");
        }
    }
}
