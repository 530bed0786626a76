//! Logging setup: human-readable or JSON lines, filtered by `TOOLBRIDGE_LOG_LEVEL`
//! (or `RUST_LOG` when set). Logs go to stderr, so stdout stays free for stdio MCP.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops).
pub fn init(level: &str, format: LogFormat) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info")));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    // Colour codes only for a person at a terminal, not in log files
                    // (supervisord, Claude Desktop's server log).
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}

/// Latency buckets, in seconds: sub-millisecond gateway work up to the 30 s timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide Prometheus recorder, installed on first use. (A process can hold one
/// global recorder; tests that start several gateways share it.)
pub fn metrics_handle() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        describe();
        metrics::gauge!("toolbridge_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "toolbridge_tool_calls_total",
        "Tool calls by tool and outcome."
    );
    describe_histogram!(
        "toolbridge_tool_call_duration_seconds",
        "Tool call latency, seconds."
    );
    describe_histogram!(
        "toolbridge_upstream_request_duration_seconds",
        "API request latency by route and status, seconds."
    );
    describe_counter!("toolbridge_sessions_opened_total", "Sync sessions opened.");
    describe_counter!(
        "toolbridge_upstream_retries_total",
        "API requests retried, by reason."
    );
    describe_counter!(
        "toolbridge_auth_failures_total",
        "Refused bearer tokens, by reason."
    );
    describe_gauge!("toolbridge_tool_calls_in_flight", "Tool calls in progress.");
    describe_counter!(
        "toolbridge_sessions_refused_total",
        "MCP sessions refused at the cap."
    );
    describe_counter!(
        "toolbridge_requests_queued_total",
        "MCP requests that waited for a slot (TOOLBRIDGE_MAX_CONCURRENT_REQUESTS)."
    );
    describe_counter!(
        "toolbridge_requests_refused_total",
        "MCP requests answered 503 after waiting for a slot as long as a request may take."
    );
    describe_gauge!("toolbridge_build_info", "Build information.");
}

/// The Prometheus text exposition of every metric.
pub fn render_metrics() -> String {
    let handle = metrics_handle();
    handle.run_upkeep();
    handle.render()
}
