//! OpenTelemetry traces: the `tracing` spans the code already has (the HTTP request, the MCP
//! request; bridged by `tracing-opentelemetry`) and one client span per API request (made
//! with the SDK's tracer, see [`client_span`]), exported over OTLP/HTTP when the standard
//! `OTEL_*` variables ask for it, and nothing at all when they do not.
//!
//! - **On or off.** On when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless `OTEL_SDK_DISABLED=true` or
//!   `OTEL_TRACES_EXPORTER=none`. Off, no layer is installed and every helper here returns
//!   at its first check of [`enabled`] (one relaxed atomic load): the hot path pays nothing.
//! - **Exporter.** `opentelemetry-otlp`'s HTTP exporter (`http/protobuf`, the only protocol
//!   built in) over the reqwest 0.13 the gateway already has (`reqwest-client` feature: the
//!   crate implements its `HttpClient` for `reqwest::Client`, so no second HTTP stack).
//!   It reads `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`; the SDK reads `OTEL_TRACES_SAMPLER[_ARG]`
//!   (`parentbased_traceidratio` included), `OTEL_RESOURCE_ATTRIBUTES` and
//!   `OTEL_SERVICE_NAME` (defaulting here to `toolbridge-mcp`).
//! - **Never in the way.** Finished spans go into a bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`,
//!   2048); a thread of its own (with its own small runtime, so a collector that never
//!   answers holds none of the gateway's workers) sends them in batches
//!   (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE` 512), woken when a batch is full and every
//!   `OTEL_BSP_SCHEDULE_DELAY` ms (5000), never once per span,
//!   each export bounded by `OTEL_BSP_EXPORT_TIMEOUT` (ms, 30000) and the exporter's own
//!   `OTEL_EXPORTER_OTLP_TIMEOUT` (ms, 10000). A full queue drops the span, a failed export
//!   drops its batch: both are counted in `toolbridge_trace_spans_dropped_total{reason}` and
//!   logged at most once a minute. The SDK's own batch processor counts only the first kind,
//!   and only internally, hence this small one. [`shutdown`] flushes within a bound.
//! - **Propagation.** W3C `traceparent`/`tracestate` in and out ([`remote_parent`],
//!   [`ClientSpans`]); baggage is accepted and not forwarded (it is the client's data,
//!   unchecked: the API gets none of it).

use std::{
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use opentelemetry::{
    Context, KeyValue,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{Status, TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::TraceContextPropagator,
    trace::{SdkTracerProvider, SpanData, SpanExporter, SpanProcessor},
};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::names;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether traces are being exported (set once at start-up).
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// What `OTEL_*` asked for, read once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    max_queue: usize,
    max_batch: usize,
    delay: Duration,
    export_timeout: Duration,
    request_timeout: Duration,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(env(name).and_then(|v| v.parse().ok()).unwrap_or(default))
}

impl Settings {
    /// `Ok(None)`: traces off. `Err`: asked for, but not something this build can do.
    pub(crate) fn from_env() -> Result<Option<Self>, String> {
        if env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"))
        {
            return Ok(None);
        }
        if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
            && env("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
        {
            return Ok(None);
        }
        let protocol = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_else(|| "http/protobuf".into());
        if protocol != "http/protobuf" {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: use http/protobuf \
                 (the collector's port 4318)"
            ));
        }
        let request_timeout = env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| env("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(10), Duration::from_millis);
        let max_queue = env("OTEL_BSP_MAX_QUEUE_SIZE")
            .and_then(|v| v.parse().ok())
            .unwrap_or(2048usize)
            .max(1);
        Ok(Some(Self {
            max_queue,
            max_batch: env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(512usize)
                .clamp(1, max_queue),
            delay: env_ms("OTEL_BSP_SCHEDULE_DELAY", 5000).max(Duration::from_millis(10)),
            export_timeout: env_ms("OTEL_BSP_EXPORT_TIMEOUT", 30_000),
            request_timeout,
        }))
    }
}

/// The running pipeline: what [`shutdown`] needs.
struct Pipeline {
    provider: SdkTracerProvider,
    /// For the client spans, made without `tracing` (see [`client_span`]).
    tracer: opentelemetry_sdk::trace::SdkTracer,
    flush: mpsc::Sender<oneshot::Sender<()>>,
}

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

/// Builds the exporter, the queue and its thread, and the tracer; `None` when `OTEL_*` does
/// not ask for traces (or asks for something unsupported, which is logged once the logger
/// is up: the returned message).
pub(crate) fn tracer() -> (Option<opentelemetry_sdk::trace::Tracer>, Option<String>) {
    let settings = match Settings::from_env() {
        Ok(Some(s)) => s,
        Ok(None) => return (None, None),
        Err(why) => return (None, Some(why)),
    };
    match start(settings) {
        Ok(t) => (Some(t), None),
        Err(why) => (None, Some(why)),
    }
}

fn start(settings: Settings) -> Result<opentelemetry_sdk::trace::Tracer, String> {
    // reqwest is built without a default TLS provider (see `upstream::install_crypto_provider`,
    // a layer above this one): the same ring provider, idempotently.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(settings.request_timeout.min(Duration::from_secs(5)))
        .timeout(settings.request_timeout)
        // The collector is named by OTEL_EXPORTER_OTLP_*; a proxy from the environment would
        // be a surprise.
        .no_proxy()
        .build()
        .map_err(|e| format!("trace exporter: {e}"))?;
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_timeout(settings.request_timeout)
        .build()
        .map_err(|e| format!("trace exporter: {e}"))?;
    let resource = resource();
    exporter.set_resource(&resource);
    let queue = Arc::new(Queue {
        spans: Mutex::new(Vec::with_capacity(settings.max_batch)),
        batch_full: Notify::new(),
        max_queue: settings.max_queue,
        max_batch: settings.max_batch,
    });
    let (flush_tx, flush_rx) = mpsc::channel(4);
    let worker = Worker {
        exporter,
        queue: queue.clone(),
        flush: flush_rx,
        settings: settings.clone(),
    };
    std::thread::Builder::new()
        .name("otel-export".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(worker.run()),
                Err(e) => eprintln!("trace export thread could not start: {e}"),
            }
        })
        .map_err(|e| format!("trace export thread: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(Processor(queue))
        .build();
    let tracer = provider.tracer("toolbridge-mcp");
    let _ = PIPELINE.set(Pipeline {
        provider,
        tracer: tracer.clone(),
        flush: flush_tx,
    });
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    ENABLED.store(true, Ordering::Relaxed);
    Ok(tracer)
}

/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`, with `toolbridge-mcp` as the service
/// name when neither names one.
fn resource() -> Resource {
    let from_env = Resource::builder().build();
    let named = from_env
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|v| !v.as_str().starts_with("unknown_service"));
    if named {
        from_env
    } else {
        Resource::builder()
            .with_service_name("toolbridge-mcp")
            .build()
    }
}

/// Sends what is queued and waits for it, at most `within`; then stops the pipeline.
/// A no-op when traces are off.
pub(crate) async fn shutdown(within: Duration) {
    let Some(p) = PIPELINE.get() else { return };
    let (done_tx, done_rx) = oneshot::channel();
    if p.flush.try_send(done_tx).is_ok() && tokio::time::timeout(within, done_rx).await.is_err() {
        tracing::warn!(
            within_ms = within.as_millis() as u64,
            "trace export did not finish within the shutdown grace; the rest is dropped"
        );
    }
    // The queue is drained: the provider's own shutdown has nothing left to wait for.
    let _ = p.provider.shutdown_with_timeout(Duration::from_millis(100));
}

/// Fields the gateway's spans carry for the log lines, left out of what is exported: the
/// HTTP span's `method`, `route` and `status` are `http.request.method`, `http.route` and
/// `http.response.status_code`; the MCP span's `tool` is `gen_ai.tool.name`; `latency_ms`
/// is the span's own duration. (`correlation_id` stays: it joins a trace to its logs.)
const LOG_ONLY_FIELDS: &[&str] = &["method", "route", "status", "latency_ms", "tool"];

/// Finished spans waiting for the export thread. It is woken when a batch is full (or by
/// its timer), not once per span: at thousands of spans a second, a wake-up of another
/// thread per span cost more than the span itself.
#[derive(Debug)]
struct Queue {
    spans: Mutex<Vec<SpanData>>,
    batch_full: Notify,
    max_queue: usize,
    max_batch: usize,
}

impl Queue {
    /// Everything queued so far.
    fn take(&self) -> Vec<SpanData> {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *spans, Vec::with_capacity(self.max_batch))
    }
}

/// The span processor: finished spans into the bounded queue, never blocking (a full queue
/// drops the span).
#[derive(Debug)]
struct Processor(Arc<Queue>);

impl SpanProcessor for Processor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}

    fn on_end(&self, mut span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        // The log fields of the spans (`tracing-opentelemetry` exports every field) repeat
        // what the semantic-convention attributes and the span itself say: each fact once.
        span.attributes
            .retain(|kv| !LOG_ONLY_FIELDS.contains(&kv.key.as_str()));
        let queue = &self.0;
        let mut spans = queue.spans.lock().unwrap_or_else(|e| e.into_inner());
        if spans.len() >= queue.max_queue {
            drop(spans);
            dropped("queue_full", 1);
            return;
        }
        spans.push(span);
        let full = spans.len() == queue.max_batch;
        drop(spans);
        if full {
            queue.batch_full.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Spans dropped since the last log line about it, and when that line was written.
static DROPPED_UNLOGGED: AtomicU64 = AtomicU64::new(0);

fn dropped(reason: &'static str, n: u64) {
    metrics::counter!(names::SPANS_DROPPED, "reason" => reason).increment(n);
    DROPPED_UNLOGGED.fetch_add(n, Ordering::Relaxed);
}

struct Worker {
    exporter: opentelemetry_otlp::SpanExporter,
    queue: Arc<Queue>,
    flush: mpsc::Receiver<oneshot::Sender<()>>,
    settings: Settings,
}

/// How often a line about dropped spans may be written.
const DROP_LOG_EVERY: Duration = Duration::from_secs(60);

impl Worker {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(self.settings.delay);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_log: Option<Instant> = None;
        loop {
            let flushed = tokio::select! {
                _ = self.queue.batch_full.notified() => None,
                _ = tick.tick() => None,
                Some(done) = self.flush.recv() => Some(done),
            };
            let spans = self.queue.take();
            self.export(spans).await;
            self.log_drops(&mut last_log);
            if let Some(done) = flushed {
                let _ = done.send(());
            }
        }
    }

    /// Sends `spans` in batches of at most `max_batch`.
    async fn export(&mut self, mut spans: Vec<SpanData>) {
        while !spans.is_empty() {
            let rest = spans.split_off(spans.len().min(self.settings.max_batch));
            let n = spans.len() as u64;
            let outcome =
                tokio::time::timeout(self.settings.export_timeout, self.exporter.export(spans))
                    .await;
            if !matches!(outcome, Ok(Ok(()))) {
                dropped("export_failed", n);
            }
            spans = rest;
        }
    }

    /// At most one line a minute. The exporter's own error text is not logged: it names
    /// the collector's URL.
    fn log_drops(&self, last_log: &mut Option<Instant>) {
        if last_log.is_some_and(|t| t.elapsed() < DROP_LOG_EVERY) {
            return;
        }
        let n = DROPPED_UNLOGGED.swap(0, Ordering::Relaxed);
        if n > 0 {
            tracing::warn!(
                dropped = n,
                "trace spans dropped (the collector is down, refusing, slow, or the queue is \
                 full); tool calls are not affected; see toolbridge_trace_spans_dropped_total"
            );
            *last_log = Some(Instant::now());
        }
    }
}

/// A W3C trace context from its two header values (or `_meta` strings), as the parent of a
/// span: `None` when absent or malformed (the span then starts a new trace; never an error).
pub(crate) fn remote_parent(
    traceparent: Option<&str>,
    tracestate: Option<&str>,
) -> Option<Context> {
    struct Pair<'a>(Option<&'a str>, Option<&'a str>);
    impl Extractor for Pair<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            match key {
                "traceparent" => self.0,
                "tracestate" => self.1,
                _ => None,
            }
        }
        fn keys(&self) -> Vec<&str> {
            vec!["traceparent", "tracestate"]
        }
    }
    // The SDK's parser takes a short id as a number; W3C says exactly these widths.
    let fields: Vec<&str> = traceparent?.trim().split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if fields.len() < 4
        || !(hex(fields[0], 2) && hex(fields[1], 32) && hex(fields[2], 16) && hex(fields[3], 2))
    {
        return None;
    }
    let cx = TraceContextPropagator::new().extract(&Pair(traceparent, tracestate));
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes `span` a child of `parent` (before the span is first entered).
pub(crate) fn set_parent(span: &tracing::Span, parent: Context) {
    let _ = span.set_parent(parent);
}

/// Links `span` to `other`'s context (a span of another parent that is still related).
pub(crate) fn link(span: &tracing::Span, other: &tracing::Span) {
    let cx = other.context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        span.add_link(sc);
    }
}

/// Sets OpenTelemetry attributes on `span` (no-op when traces are off): all at once on the
/// span's started OpenTelemetry span (one lookup, one lock), not one `set_attribute` (a
/// lookup and a lock each) per attribute. Starting the span early changes nothing: its
/// start time was taken when it was made, and its parent is set before this is called.
pub(crate) fn attributes(span: &tracing::Span, attrs: impl IntoIterator<Item = KeyValue>) {
    if !enabled() {
        return;
    }
    span.context().span().set_attributes(attrs);
}

/// Marks `span` failed with `error.type` (and the status description, a fixed text).
pub(crate) fn error(span: &tracing::Span, error_type: impl Into<String>, description: &str) {
    if !enabled() {
        return;
    }
    let cx = span.context();
    let otel_span = cx.span();
    otel_span.set_attribute(KeyValue::new("error.type", error_type.into()));
    otel_span.set_status(Status::error(description.to_owned()));
}

/// An event on the current span (the 429 wait, with its duration).
pub(crate) fn event(name: &'static str, attrs: Vec<KeyValue>) {
    if !enabled() {
        return;
    }
    tracing::Span::current().add_event(name, attrs);
}

/// A context as `traceparent` (and `tracestate`) headers.
fn inject_context(cx: &Context, headers: &mut http::HeaderMap) {
    struct Headers<'a>(&'a mut http::HeaderMap);
    impl Injector for Headers<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(key.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                self.0.insert(k, v);
            }
        }
    }
    TraceContextPropagator::new().inject_context(cx, &mut Headers(headers));
}

/// A route template of an API path: a UUID segment becomes `{uid}`, any other segment
/// holding a digit (other than the `v1` version prefix) `{id}`; no query. The same labels
/// `toolbridge_upstream_request_duration_seconds{route}` carries: never a real id.
pub(crate) fn path_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let version =
            seg.len() > 1 && seg.starts_with('v') && seg[1..].bytes().all(|b| b.is_ascii_digit());
        out.push_str(if uuid::Uuid::parse_str(seg).is_ok() {
            "{uid}"
        } else if !version
            && seg
                .bytes()
                .any(|b| b.is_ascii_digit() || !(b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        {
            "{id}"
        } else {
            seg
        });
    }
    out
}

/// The client span of one outgoing HTTP request (nothing when traces are off), named
/// `{method} {url.template}` with the HTTP client attributes, the child of the current
/// `tracing` span; its context goes out in `headers` as `traceparent`. It ends when
/// dropped (after [`ClientSpan::status`] or [`ClientSpan::failed`], or when the request is
/// dropped unanswered).
///
/// An OpenTelemetry span made with the SDK's tracer, not a `tracing` span: nothing is logged
/// inside it, and a `tracing` span costs the registry, both layers and a lookup on every
/// poll of the request, several times what the span itself costs (BENCHMARKS.md, issue 20).
pub(crate) fn client_span(
    method: &http::Method,
    url: &reqwest::Url,
    headers: &mut http::HeaderMap,
) -> ClientSpan {
    let Some(p) = PIPELINE.get().filter(|_| enabled()) else {
        return ClientSpan(None);
    };
    use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
    let template = path_template(url.path());
    let name = format!("{method} {template}");
    let mut attrs = Vec::with_capacity(5);
    attrs.push(KeyValue::new(
        "http.request.method",
        method.as_str().to_owned(),
    ));
    attrs.push(KeyValue::new("url.template", template));
    if let Some(host) = url.host_str() {
        attrs.push(KeyValue::new("server.address", host.to_owned()));
    }
    if let Some(port) = url.port_or_known_default() {
        attrs.push(KeyValue::new("server.port", i64::from(port)));
    }
    let parent = tracing::Span::current().context();
    let span = p
        .tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attrs)
        .start_with_context(&p.tracer, &parent);
    let cx = Context::new().with_remote_span_context(span.span_context().clone());
    inject_context(&cx, headers);
    ClientSpan(Some(span))
}

/// See [`client_span`].
pub(crate) struct ClientSpan(Option<opentelemetry_sdk::trace::Span>);

impl ClientSpan {
    /// Records the answer's status (an error status from 400 on, as the HTTP conventions
    /// say for a client).
    pub(crate) fn status(&mut self, status: u16) {
        use opentelemetry::trace::Span as _;
        let Some(span) = &mut self.0 else { return };
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
        if status >= 400 {
            span.set_attribute(KeyValue::new("error.type", status.to_string()));
            span.set_status(Status::error(""));
        }
    }

    /// Records a transport failure.
    pub(crate) fn failed(&mut self, e: &reqwest::Error) {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "transport"
        };
        self.error(kind);
    }

    fn error(&mut self, kind: &'static str) {
        use opentelemetry::trace::Span as _;
        let Some(span) = &mut self.0 else { return };
        span.set_attribute(KeyValue::new("error.type", kind));
        span.set_status(Status::error(kind));
    }
}

/// The bottom of the upstream chain: one client span per API request that really goes out
/// (each attempt of a retried one its own), `traceparent`/`tracestate` of that span on it.
pub(crate) struct ClientSpans;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for ClientSpans {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        ext: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let method = req.method().clone();
        let url = req.url().clone();
        let mut span = client_span(&method, &url, req.headers_mut());
        let outcome = next.run(req, ext).await;
        match &outcome {
            Ok(resp) => span.status(resp.status().as_u16()),
            Err(reqwest_middleware::Error::Reqwest(e)) => span.failed(e),
            Err(reqwest_middleware::Error::Middleware(_)) => span.error("middleware"),
        }
        outcome
    }
}

/// A short, unkeyed hash of an id that is random already (the MCP session id): enough to
/// tell sessions apart in a trace, useless for joining one.
pub(crate) fn hashed(id: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(id.as_bytes())[..8])
}

/// The trace and span id of a `tracing` span, when it is being traced.
pub(crate) fn ids(
    span: &tracing::span::Id,
    dispatch: &tracing::Dispatch,
) -> Option<(opentelemetry::trace::TraceId, opentelemetry::trace::SpanId)> {
    let cx = tracing_opentelemetry::get_otel_context(span, dispatch)?;
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
}

/// `_meta` of an MCP request as a trace parent: its `traceparent` and `tracestate` strings.
pub(crate) fn meta_parent(meta: &serde_json::Map<String, serde_json::Value>) -> Option<Context> {
    let s = |k: &str| meta.get(k).and_then(serde_json::Value::as_str);
    remote_parent(s("traceparent"), s("tracestate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_never_carry_ids() {
        assert_eq!(
            path_template("/v1/notes/0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a/archive"),
            "/v1/notes/{uid}/archive"
        );
        assert_eq!(
            path_template("/v1/sync/sessions/s-123"),
            "/v1/sync/sessions/{id}"
        );
        assert_eq!(path_template("/v1/sync/sessions"), "/v1/sync/sessions");
        assert_eq!(path_template("/v1/x/a%20b"), "/v1/x/{id}");
        assert_eq!(
            path_template("/.well-known/jwks.json"),
            "/.well-known/jwks.json"
        );
    }

    #[test]
    fn malformed_trace_context_is_no_parent() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = remote_parent(Some(good), Some("rojo=00f067aa0ba902b7")).unwrap();
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(cx.span().span_context().is_remote());
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert!(remote_parent(Some(bad), None).is_none(), "{bad}");
        }
        assert!(remote_parent(None, Some("a=b")).is_none());
    }
}
