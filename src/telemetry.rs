//! Logging setup: human-readable or JSON lines, filtered by `TOOLBRIDGE_LOG_LEVEL`
//! (or `RUST_LOG` when set). Logs go to stderr, so stdout stays free for stdio MCP.
//!
//! rmcp logs every request and every result whole at debug (one line once held 11 MB of a
//! user's notes), so its logger stays at info unless the filter names it explicitly
//! (`RUST_LOG=debug,rmcp=debug`): `debug` alone means the gateway's own debug lines.

use tracing_subscriber::{EnvFilter, filter::Targets, fmt, prelude::*};

use crate::config::LogFormat;

pub(crate) mod names;

/// Crates whose debug lines carry whole messages, and so stay at info unless named.
const WHOLE_MESSAGES_AT_DEBUG: &[&str] = &["rmcp"];

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops).
pub fn init(level: &str, format: LogFormat) {
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty() && EnvFilter::try_new(v).is_ok())
        .unwrap_or_else(|| level.to_owned());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let cap = cap(&directives);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    // Colour codes only for a person at a terminal, not in log files
                    // (supervisord, Claude Desktop's server log).
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_filter(cap),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_filter(cap),
            )
            .try_init(),
    };
}

/// A filter that lets everything through except the debug and trace lines of the crates
/// in [`WHOLE_MESSAGES_AT_DEBUG`] that `directives` does not name.
fn cap(directives: &str) -> Targets {
    use tracing_subscriber::filter::LevelFilter;
    let named = |krate: &str| {
        directives
            .split(',')
            .any(|d| d.trim().split(['=', ':', '[']).next() == Some(krate))
    };
    WHOLE_MESSAGES_AT_DEBUG
        .iter()
        .filter(|k| !named(k))
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, k| {
            t.with_target(*k, LevelFilter::INFO)
        })
}

/// Latency buckets, in seconds: sub-millisecond gateway work up to the 30 s timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide Prometheus recorder, installed on first use. (A process can hold one
/// global recorder; tests that start several gateways share it.)
pub(crate) fn metrics_handle() -> &'static metrics_exporter_prometheus::PrometheusHandle {
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
        names::describe();
        metrics::gauge!(crate::telemetry::names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// The Prometheus text exposition of every metric.
pub(crate) fn render_metrics() -> String {
    let handle = metrics_handle();
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn rmcp_debug_needs_naming() {
        let debug =
            |directives: &str, target: &str| cap(directives).would_enable(target, &Level::DEBUG);
        assert!(!debug("debug", "rmcp::service"));
        assert!(!debug("trace,toolbridge_mcp=debug", "rmcp"));
        assert!(debug("debug", "toolbridge_mcp::http"));
        assert!(debug("debug,rmcp=debug", "rmcp::service"));
        assert!(debug("info, rmcp[x]=trace", "rmcp::service"));
        assert!(!debug("debug,rmcp_x=debug", "rmcp::service"));
        assert!(cap("debug").would_enable("rmcp", &Level::INFO));
    }
}
