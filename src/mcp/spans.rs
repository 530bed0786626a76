//! The MCP server span of every MCP request and notification, named and attributed by
//! OpenTelemetry's MCP semantic conventions: `{mcp.method.name} {target}` (the tool's name
//! for `tools/call`, nothing more for the other methods), `mcp.method.name`,
//! `mcp.protocol.version`, `mcp.session.id` (hashed), `jsonrpc.request.id` (requests only),
//! `network.transport`; a protocol error as `error.type` and `rpc.response.status_code` (the
//! JSON-RPC code). Nothing of the arguments, the result or the caller's token goes in.
//!
//! The parent: the `_meta` trace context of the message when it has a valid one (MCP
//! 2026-07-28, accepted on every revision, and over stdio), else the HTTP request's span
//! (itself the child of a `traceparent` header). When both are present `_meta` wins, as the
//! conventions say: it is the context of this very message, while one HTTP request can
//! carry several MCP messages and one MCP request can be retried over several HTTP
//! requests. The HTTP span is then linked, so neither is lost.
//!
//! With traces off every function here returns at its first check (`Span::none()` where it
//! makes a span): nothing is built.

use std::future::Future;

use opentelemetry::KeyValue;
use rmcp::{
    ErrorData, RoleServer,
    model::{
        ClientNotification, ConstString, Extensions, GetExtensions, GetMeta, MetaObject,
        ProtocolVersion,
    },
    service::{NotificationContext, RequestContext},
};
use tracing::Instrument;

use crate::telemetry::otel;

/// The `mcp.method.name` of a method no MCP revision defines (client-chosen text never
/// names a span).
const OTHER: &str = "_OTHER";

/// The methods a client may send, by every revision served here: a custom request or
/// notification is named by one of these, or [`OTHER`].
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// `method` when MCP defines it, else [`OTHER`].
pub(super) fn known(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or(OTHER)
}

/// The HTTP request's span (see `http::span`), parent of the MCP span; over stdio, the
/// current one.
pub(super) fn http_span(extensions: &Extensions) -> tracing::Span {
    extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::call::RequestSpan>())
        .map_or_else(tracing::Span::current, |s| s.0.clone())
}

/// What a span says of the message it stands for.
struct Message<'a> {
    method: &'static str,
    meta: &'a MetaObject,
    extensions: &'a Extensions,
    /// `None` for a notification.
    id: Option<String>,
    version: Option<String>,
}

/// Attributes and parents `span` as the MCP span of `ctx`'s request (traces on only); `tool`
/// for `tools/call`, whose span was named by [`otel_name`].
pub(super) fn decorate(
    span: &tracing::Span,
    ctx: &RequestContext<RoleServer>,
    method: &'static str,
    tool: Option<&str>,
) {
    if !otel::enabled() {
        return;
    }
    let message = Message {
        method,
        meta: &ctx.meta,
        extensions: &ctx.extensions,
        id: Some(ctx.id.to_string()),
        version: super::protocol::version(ctx).map(|v| v.to_string()),
    };
    trace(span, &message, tool);
}

/// The MCP span of a request other than a `tools/call` that reached its tool
/// (`Span::none()` with traces off).
pub(super) fn request(ctx: &RequestContext<RoleServer>, method: &'static str) -> tracing::Span {
    if !otel::enabled() {
        return tracing::Span::none();
    }
    let span = new_span(&ctx.extensions, method);
    decorate(&span, ctx, method, None);
    span
}

/// The MCP span of a notification the handler receives (over stdio; `Span::none()` with
/// traces off).
pub(super) fn notification(
    ctx: &NotificationContext<RoleServer>,
    method: &'static str,
) -> tracing::Span {
    if !otel::enabled() {
        return tracing::Span::none();
    }
    // A notification reaches the handler over stdio or on rmcp's stateless path, whose peers
    // carry the client info; a session's notifications go to `http::mcp_sessions` instead.
    let version = ctx
        .peer
        .peer_info()
        .map(|info| info.protocol_version.to_string());
    notification_span(method, &ctx.meta, &ctx.extensions, version)
}

/// The MCP span of a notification an HTTP session received (`http::mcp_sessions` takes
/// them; they never reach the handler), `version` the one the session negotiated
/// (`Span::none()` with traces off).
pub(crate) fn session_notification(
    notification: &ClientNotification,
    version: Option<ProtocolVersion>,
) -> tracing::Span {
    if !otel::enabled() {
        return tracing::Span::none();
    }
    // rmcp's own method names, mapped onto the fixed list like a handler's.
    let method = known(match notification {
        ClientNotification::CancelledNotification(n) => n.method.as_str(),
        ClientNotification::ProgressNotification(n) => n.method.as_str(),
        ClientNotification::InitializedNotification(n) => n.method.as_str(),
        ClientNotification::RootsListChangedNotification(n) => n.method.as_str(),
        ClientNotification::CustomNotification(c) => &c.method,
        // A kind a later rmcp adds.
        _ => OTHER,
    });
    notification_span(
        method,
        notification.get_meta(),
        notification.extensions(),
        version.map(|v| v.to_string()),
    )
}

fn notification_span(
    method: &'static str,
    meta: &MetaObject,
    extensions: &Extensions,
    version: Option<String>,
) -> tracing::Span {
    let span = new_span(extensions, method);
    let version = meta
        .get(super::protocol::META_PROTOCOL_VERSION)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or(version);
    let message = Message {
        method,
        meta,
        extensions,
        id: None,
        version,
    };
    trace(&span, &message, None);
    span
}

/// Runs a request's handler under its span; a protocol error is the span's error.
pub(super) async fn answer<T>(
    span: tracing::Span,
    handler: impl Future<Output = Result<T, ErrorData>>,
) -> Result<T, ErrorData> {
    let result = handler.instrument(span.clone()).await;
    if let Err(e) = &result {
        protocol_error(&span, e);
    }
    result
}

/// A method this gateway does not offer: rmcp's own answer (`-32601`, method not found),
/// under the method's span.
pub(super) fn not_offered<M, T>(ctx: &RequestContext<RoleServer>) -> Result<T, ErrorData>
where
    M: ConstString,
{
    let e = ErrorData::method_not_found::<M>();
    protocol_error(&request(ctx, M::VALUE), &e);
    Err(e)
}

/// A JSON-RPC error answer on the span: `error.type` and `rpc.response.status_code` are its
/// code (the message is not recorded: it may repeat what the client sent).
pub(super) fn protocol_error(span: &tracing::Span, e: &ErrorData) {
    if !otel::enabled() {
        return;
    }
    let code = e.code.0.to_string();
    otel::attributes(
        span,
        [KeyValue::new("rpc.response.status_code", code.clone())],
    );
    otel::error(span, code, "");
}

/// A tool call's outcome on its span: ok, or `error.type` `tool_error` (an `isError`
/// result; the gateway's own outcome label beside it) or `cancelled`.
pub(super) fn outcome(span: &tracing::Span, label: &'static str, upstream_status: Option<u16>) {
    if !otel::enabled() {
        return;
    }
    let mut attrs = vec![KeyValue::new("toolbridge.outcome", label)];
    if let Some(status) = upstream_status {
        attrs.push(KeyValue::new(
            "toolbridge.api.status_code",
            i64::from(status),
        ));
    }
    otel::attributes(span, attrs);
    match label {
        "ok" => {}
        "cancelled" => otel::error(span, "cancelled", "cancelled"),
        _ => otel::error(span, "tool_error", label),
    }
}

/// The `otel.name` field of an MCP span, `{mcp.method.name} {tool}`, and its `otel.kind`,
/// given when the span is made (recording them later would pass through every layer again);
/// `None`, nothing recorded, with traces off.
pub(super) fn otel_name(method: &str, tool: &str) -> Option<String> {
    otel::enabled().then(|| format!("{method} {tool}"))
}

/// See [`otel_name`].
pub(super) fn otel_kind() -> Option<&'static str> {
    otel::enabled().then_some("server")
}

/// The MCP span of a method without a target, under the HTTP request's span.
fn new_span(extensions: &Extensions, method: &'static str) -> tracing::Span {
    tracing::info_span!(
        parent: &http_span(extensions),
        "mcp_request",
        otel.name = method,
        otel.kind = "server",
    )
}

fn trace(span: &tracing::Span, message: &Message<'_>, tool: Option<&str>) {
    if let Some(parent) = otel::meta_parent(message.meta) {
        otel::set_parent(span, parent);
        otel::link(span, &http_span(message.extensions));
    }
    let parts = message.extensions.get::<http::request::Parts>();
    let mut attrs = Vec::with_capacity(7);
    attrs.push(KeyValue::new("mcp.method.name", message.method));
    if let Some(id) = &message.id {
        attrs.push(KeyValue::new("jsonrpc.request.id", id.clone()));
    }
    attrs.push(KeyValue::new(
        "network.transport",
        if parts.is_some() { "tcp" } else { "pipe" },
    ));
    if let Some(v) = &message.version {
        attrs.push(KeyValue::new("mcp.protocol.version", v.clone()));
    }
    if let Some(session) = parts
        .and_then(|p| p.headers.get("mcp-session-id"))
        .and_then(|v| v.to_str().ok())
    {
        attrs.push(KeyValue::new("mcp.session.id", otel::hashed(session)));
    }
    if let Some(tool) = tool {
        attrs.push(KeyValue::new("gen_ai.tool.name", tool.to_owned()));
        attrs.push(KeyValue::new("gen_ai.operation.name", "execute_tool"));
    }
    otel::attributes(span, attrs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_chosen_methods_never_name_a_span() {
        assert_eq!(known("tools/list"), "tools/list");
        assert_eq!(
            known("notifications/initialized"),
            "notifications/initialized"
        );
        assert_eq!(known("x/secret-token-abc"), OTHER);
        assert_eq!(known(""), OTHER);
    }
}
