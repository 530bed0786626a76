//! Every metric's name, kind and description: the one place they are written. Code uses
//! the constants; `describe` registers the descriptions; the README lists the same set
//! (a test keeps the two in step).

/// Tool calls by tool and outcome. (counter)
pub(crate) const TOOL_CALLS: &str = "toolbridge_tool_calls_total";
/// Tool call latency, seconds. (histogram)
pub(crate) const TOOL_CALL_DURATION: &str = "toolbridge_tool_call_duration_seconds";
/// Tool calls in progress. (gauge)
pub(crate) const TOOL_CALLS_IN_FLIGHT: &str = "toolbridge_tool_calls_in_flight";
/// API request latency by route and status, seconds. (histogram)
pub(crate) const UPSTREAM_REQUEST_DURATION: &str = "toolbridge_upstream_request_duration_seconds";
/// API requests retried, by reason (rate_limited, session_expired, epoch_mismatch, unreachable, unavailable, answer_lost: docs/retries.md). (counter)
pub(crate) const UPSTREAM_RETRIES: &str = "toolbridge_upstream_retries_total";
/// Sync sessions opened. (counter)
pub(crate) const SESSIONS_OPENED: &str = "toolbridge_sessions_opened_total";
/// per_call sync sessions closed after their request, by outcome (ok, rate_limited, refused, error). (counter)
pub(crate) const SESSIONS_CLOSED: &str = "toolbridge_sessions_closed_total";
/// Backend token exchanges, by outcome (ok, error). (counter)
pub(crate) const TOKEN_EXCHANGES: &str = "toolbridge_token_exchanges_total";
/// Tenant lookups at GET /v1/auth/tenant (resolve mode), by outcome (ok, error). (counter)
pub(crate) const TENANT_LOOKUPS: &str = "toolbridge_tenant_lookups_total";
/// Refused bearer tokens, by reason. (counter)
pub(crate) const AUTH_FAILURES: &str = "toolbridge_auth_failures_total";
/// Fetches of the issuer's JWKS (and discovery document), by outcome. (counter)
pub(crate) const JWKS_FETCHES: &str = "toolbridge_jwks_fetches_total";
/// MCP sessions refused at the gateway-wide cap. (counter)
pub(crate) const SESSIONS_REFUSED: &str = "toolbridge_sessions_refused_total";
/// MCP sessions closed to make room for a new session of the same user. (counter)
pub(crate) const SESSIONS_EVICTED: &str = "toolbridge_sessions_evicted_total";
/// MCP requests that waited for a slot (TOOLBRIDGE_MAX_CONCURRENT_REQUESTS). (counter)
pub(crate) const REQUESTS_QUEUED: &str = "toolbridge_requests_queued_total";
/// MCP requests answered 503 after waiting for a slot as long as a request may take. (counter)
pub(crate) const REQUESTS_REFUSED: &str = "toolbridge_requests_refused_total";
/// Requests refused with 429 because their user was at a limit, by reason (rate, in_flight, sessions). (counter)
pub(crate) const USER_LIMITED: &str = "toolbridge_user_limited_total";
/// Requests refused at the edge, by reason (host, origin, body_timeout, json_limits, duplicate_id, foreign_session, bad_protocol_version, insufficient_scope, ...). (counter)
pub(crate) const EDGE_REFUSED: &str = "toolbridge_edge_refused_total";
/// MCP answers ended by TOOLBRIDGE_RESPONSE_TIMEOUT_SECONDS, by when (before, streaming). (counter)
pub(crate) const RESPONSES_CUT: &str = "toolbridge_responses_cut_total";
/// API refusals of the gateway's tenant credentials (signature, header, membership), by reason (signature, missing_header, not_authorized, other). (counter)
pub(crate) const TENANT_REFUSED: &str = "toolbridge_upstream_tenant_refused_total";
/// Tool calls that failed because the API's 429s outlasted the retry budget. (counter)
pub(crate) const RETRY_BUDGET_EXHAUSTED: &str = "toolbridge_upstream_retry_budget_exhausted_total";
/// Readiness checks (/readyz), by outcome (ready, not_ready). (counter)
pub(crate) const READINESS_CHECKS: &str = "toolbridge_readiness_checks_total";
/// Trace spans dropped instead of exported, by reason (queue_full, export_failed). (counter)
pub(crate) const SPANS_DROPPED: &str = "toolbridge_trace_spans_dropped_total";
/// Build information (the version label). (gauge)
pub(crate) const BUILD_INFO: &str = "toolbridge_build_info";

/// `(name, kind, description)` of every metric.
pub(crate) const ALL: &[(&str, &str, &str)] = &[
    (TOOL_CALLS, "counter", "Tool calls by tool and outcome."),
    (
        TOOL_CALL_DURATION,
        "histogram",
        "Tool call latency, seconds.",
    ),
    (TOOL_CALLS_IN_FLIGHT, "gauge", "Tool calls in progress."),
    (
        UPSTREAM_REQUEST_DURATION,
        "histogram",
        "API request latency by route and status, seconds.",
    ),
    (
        UPSTREAM_RETRIES,
        "counter",
        "API requests retried, by reason (rate_limited, session_expired, epoch_mismatch, unreachable, unavailable, answer_lost: docs/retries.md).",
    ),
    (SESSIONS_OPENED, "counter", "Sync sessions opened."),
    (
        SESSIONS_CLOSED,
        "counter",
        "per_call sync sessions closed after their request, by outcome (ok, rate_limited, refused, error).",
    ),
    (
        TOKEN_EXCHANGES,
        "counter",
        "Backend token exchanges, by outcome (ok, error).",
    ),
    (
        TENANT_LOOKUPS,
        "counter",
        "Tenant lookups at GET /v1/auth/tenant (resolve mode), by outcome (ok, error).",
    ),
    (
        AUTH_FAILURES,
        "counter",
        "Refused bearer tokens, by reason.",
    ),
    (
        JWKS_FETCHES,
        "counter",
        "Fetches of the issuer's JWKS (and discovery document), by outcome.",
    ),
    (
        SESSIONS_REFUSED,
        "counter",
        "MCP sessions refused at the gateway-wide cap.",
    ),
    (
        SESSIONS_EVICTED,
        "counter",
        "MCP sessions closed to make room for a new session of the same user.",
    ),
    (
        REQUESTS_QUEUED,
        "counter",
        "MCP requests that waited for a slot (TOOLBRIDGE_MAX_CONCURRENT_REQUESTS).",
    ),
    (
        REQUESTS_REFUSED,
        "counter",
        "MCP requests answered 503 after waiting for a slot as long as a request may take.",
    ),
    (
        USER_LIMITED,
        "counter",
        "Requests refused with 429 because their user was at a limit, by reason (rate, in_flight, sessions).",
    ),
    (
        EDGE_REFUSED,
        "counter",
        "Requests refused at the edge, by reason (host, origin, body_timeout, json_limits, duplicate_id, foreign_session, bad_protocol_version, insufficient_scope, ...).",
    ),
    (
        RESPONSES_CUT,
        "counter",
        "MCP answers ended by TOOLBRIDGE_RESPONSE_TIMEOUT_SECONDS, by when (before, streaming).",
    ),
    (
        TENANT_REFUSED,
        "counter",
        "API refusals of the gateway's tenant credentials (signature, header, membership), by reason (signature, missing_header, not_authorized, other).",
    ),
    (
        RETRY_BUDGET_EXHAUSTED,
        "counter",
        "Tool calls that failed because the API's 429s outlasted the retry budget.",
    ),
    (
        READINESS_CHECKS,
        "counter",
        "Readiness checks (/readyz), by outcome (ready, not_ready).",
    ),
    (
        SPANS_DROPPED,
        "counter",
        "Trace spans dropped instead of exported, by reason (queue_full, export_failed).",
    ),
    (
        BUILD_INFO,
        "gauge",
        "Build information (the version label).",
    ),
];

/// Series that exist from start-up at zero, beside the label-less zero every metric gets:
/// the label values the alert rules and the dashboard select on
/// (`charts/toolbridge-mcp/files/`), so rules evaluate and panels draw before the first
/// incident, and an `increase()` sees the first one.
const ZERO_SERIES: &[(&str, &str, &str)] = &[
    (READINESS_CHECKS, "outcome", "ready"),
    (READINESS_CHECKS, "outcome", "not_ready"),
    (SPANS_DROPPED, "reason", "queue_full"),
    (SPANS_DROPPED, "reason", "export_failed"),
];

/// Registers every description with the recorder, and every metric at zero (a histogram
/// with no observation yet), so that each is exported from start-up.
pub(super) fn describe() {
    for (name, kind, what) in ALL {
        match *kind {
            "counter" => {
                metrics::describe_counter!(*name, *what);
                metrics::counter!(*name).increment(0);
            }
            "gauge" => {
                metrics::describe_gauge!(*name, *what);
                if *name != BUILD_INFO {
                    metrics::gauge!(*name).increment(0.0);
                }
            }
            _ => {
                metrics::describe_histogram!(*name, *what);
                let _ = metrics::histogram!(*name);
            }
        }
    }
    for (name, key, value) in ZERO_SERIES {
        metrics::counter!(*name, *key => *value).increment(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_metric_is_in_the_readme_and_named_once() {
        // Read at test time, not compiled in: the image build has no README.
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for (name, _, _) in super::ALL {
            assert!(seen.insert(*name), "{name} listed twice");
            assert!(readme.contains(*name), "README.md does not list {name}");
        }
    }
}
