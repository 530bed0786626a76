//! Logging setup: human-readable or JSON lines, filtered by `TOOLBRIDGE_LOG_LEVEL`
//! (or `RUST_LOG` when set). Logs go to stderr, so stdout stays free for stdio MCP.
//!
//! rmcp logs every request and every result whole at debug (one line once held 11 MB of a
//! user's notes), so its logger stays at info unless the filter names it explicitly
//! (`RUST_LOG=debug,rmcp=debug`): `debug` alone means the gateway's own debug lines.

use tracing_subscriber::{
    EnvFilter,
    filter::{FilterExt as _, Targets},
    fmt,
    prelude::*,
};

use crate::config::LogFormat;

pub(crate) mod names;
pub(crate) mod otel;

/// Log targets held below what the filter asks for, unless the filter names them (or a
/// module above or below them): each with the most it shows.
const CAPPED: &[(&str, tracing_subscriber::filter::LevelFilter)] = &[
    // rmcp's debug lines carry whole messages (one once held 11 MB of a user's notes).
    ("rmcp", tracing_subscriber::filter::LevelFilter::INFO),
    // rmcp's service loop writes three info lines each time one starts and ends ("Service
    // initialized as server" with the client's whole `initialize` parameters, "input stream
    // terminated", "serve finished"). rmcp serves each stateless and each 2026-07-28
    // request with a one-request loop, and each session's handshake runs one, so at info
    // these were three lines per request saying nothing about it (about 35,000
    // instructions of a 550,000-instruction tool call: callgrind, BENCHMARKS.md). Its
    // warnings and errors still show.
    (
        "rmcp::service",
        tracing_subscriber::filter::LevelFilter::WARN,
    ),
];

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops).
///
/// With traces on (`OTEL_*`, see [`otel`]) an OpenTelemetry layer joins the log layer, each
/// with its own filter: the log level decides the lines, never which spans are exported
/// (the gateway's own spans at info, no events: span events are added explicitly), and
/// every line written inside a traced span carries its `trace_id` and `span_id`. With traces
/// off the subscriber is exactly the log layer under one filter, as before.
pub fn init(level: &str, format: LogFormat) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    ONCE.call_once(|| first = true);
    if !first {
        return;
    }
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty() && EnvFilter::try_new(v).is_ok())
        .unwrap_or_else(|| level.to_owned());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let cap = cap(&directives);
    let (tracer, problem) = otel::tracer();
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = match (tracer, format) {
        (None, LogFormat::Text) => tracing_subscriber::registry()
            .with(filter)
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    // Colour codes only for a person at a terminal, not in log files
                    // (supervisord, Claude Desktop's server log).
                    .with_ansi(ansi)
                    .with_filter(cap),
            )
            .try_init(),
        (None, LogFormat::Json) => tracing_subscriber::registry()
            .with(filter)
            .with(json_layer().with_filter(cap))
            .try_init(),
        (Some(tracer), LogFormat::Text) => tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .event_format(TraceIds {
                        inner: fmt::format().with_target(false).with_ansi(false),
                        json: false,
                    })
                    // One per-layer filter (each one is bookkeeping on every span).
                    .with_filter(filter.and(cap)),
            )
            .with(otel_layer(tracer))
            .try_init(),
        (Some(tracer), LogFormat::Json) => tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .event_format(TraceIds {
                        inner: fmt::format()
                            .json()
                            .flatten_event(true)
                            .with_current_span(true)
                            .with_span_list(false),
                        json: true,
                    })
                    .fmt_fields(fmt::format::JsonFields::new())
                    // One per-layer filter (each one is bookkeeping on every span).
                    .with_filter(filter.and(cap)),
            )
            .with(otel_layer(tracer))
            .try_init(),
    };
    if let Some(problem) = problem {
        tracing::warn!("traces are off: {problem}");
    } else if otel::enabled() {
        tracing::info!("traces are exported over OTLP/HTTP (OTEL_* variables)");
    }
}

fn json_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
}

/// The OpenTelemetry layer: the gateway's own spans at info and above, no events, no
/// source locations or thread names (nothing a trace reader needs, bytes on every span).
///
/// Its filter says its ceiling (info): without that hint the global maximum level would be
/// `TRACE`, and every debug and trace call site of hyper, reqwest and rmcp would be looked
/// at on each pass. No context activation: the spans' parents come from the `tracing` span
/// tree (the code never reads OpenTelemetry's thread-local current context), so nothing is
/// attached and detached on every poll of an instrumented future.
fn otel_layer<S>(tracer: opentelemetry_sdk::trace::SdkTracer) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_level(false)
        .with_context_activation(false)
        .with_filter(
            tracing_subscriber::filter::filter_fn(|m| {
                m.is_span()
                    && *m.level() <= tracing::Level::INFO
                    && m.target().starts_with(env!("CARGO_CRATE_NAME"))
            })
            .with_max_level_hint(tracing::Level::INFO),
        )
}

/// A log line format that adds `trace_id` and `span_id` of the span the line was written
/// in (when it is traced) to what `inner` writes: first keys of a JSON object, or the last
/// fields of a text line.
struct TraceIds<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> fmt::FormatEvent<S, N> for TraceIds<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> fmt::FormatFields<'a> + 'static,
    F: fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &fmt::FmtContext<'_, S, N>,
        mut writer: fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let ids = ctx
            .event_scope()
            .and_then(|mut scope| scope.next().map(|span| span.id()))
            .and_then(|id| tracing::dispatcher::get_default(|d| otel::ids(&id, d)));
        let Some((trace_id, span_id)) = ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, fmt::format::Writer::new(&mut line), event)?;
        if self.json && line.starts_with('{') {
            write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{}",
                &line[1..]
            )
        } else {
            let body = line.trim_end_matches('\n');
            writeln!(writer, "{body} trace_id={trace_id} span_id={span_id}")
        }
    }
}

/// A filter that lets everything through but what [`CAPPED`] holds back for the targets
/// `directives` does not name.
fn cap(directives: &str) -> Targets {
    use tracing_subscriber::filter::LevelFilter;
    let named: Vec<&str> = directives
        .split(',')
        .filter_map(|d| d.trim().split(['=', '[']).next())
        .filter(|t| !t.is_empty())
        .collect();
    // The same module, or one inside the other (`rmcp` and `rmcp::service`, not `rmcp_x`).
    let within = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    };
    CAPPED
        .iter()
        .filter(|(target, _)| !named.iter().any(|n| within(n, target) || within(target, n)))
        .fold(
            Targets::new().with_default(LevelFilter::TRACE),
            |t, (target, level)| t.with_target(*target, *level),
        )
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

    #[test]
    fn the_per_request_service_lines_need_naming() {
        let enabled = |directives: &str, target: &str, level: &Level| {
            cap(directives).would_enable(target, level)
        };
        assert!(!enabled("info", "rmcp::service", &Level::INFO));
        assert!(!enabled("debug", "rmcp::service::server", &Level::INFO));
        assert!(enabled("info", "rmcp::service", &Level::WARN));
        assert!(enabled("info", "rmcp::transport", &Level::INFO));
        assert!(enabled("info,rmcp=info", "rmcp::service", &Level::INFO));
        assert!(enabled(
            "info,rmcp::service=debug",
            "rmcp::service",
            &Level::DEBUG
        ));
        assert!(!enabled(
            "info,rmcp::transport=debug",
            "rmcp::service",
            &Level::INFO
        ));
        assert!(enabled("info", "toolbridge_mcp::http", &Level::INFO));
    }
}
