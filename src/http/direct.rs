//! Tool calls the edge hands to the MCP handler itself, without rmcp's HTTP service.
//!
//! rmcp's `StreamableHttpService::handle_post` reads the body a second time into its
//! message type (through serde's buffered untagged and flattened variants: the costliest
//! parse of the request), re-checks headers, and for a 2026-07-28 request builds a
//! one-request service loop (a peer, a 1,024-slot channel, two spawned tasks) and
//! serializes the whole request to a JSON tree to compare it with the `Mcp-*` headers.
//! For a `tools/call` (nearly all the traffic) the edge has by then read, scanned and
//! checked everything, so it parses the call once into rmcp's own parameter type
//! ([`ToolCall`]) and runs the handler the way rmcp's service loop would (`Sessions::run`
//! and `Sessions::call`, the dispatch rmcp's own session requests take here too).
//!
//! Only an ordinary call comes here: each condition below is one rmcp checks, and a request
//! failing any of them (or one this module does not recognise) goes to rmcp, whose answer,
//! refusal or error stays the reference. So nothing the abuse suite or the conformance suite
//! sees changes; the two routes differ in cost, not in answers.
//!
//! - Both routes: a `tools/call` request whose body parses as [`ToolCall`] (JSON-RPC 2.0, an
//!   id, no `result`/`error` member); an `Accept` that names both `application/json` and
//!   `text/event-stream` and nothing rmcp would weigh (no parameters, no quality values);
//!   at most one `MCP-Protocol-Version` (the edge has already refused one it does not serve).
//! - [`Route::Modern`] (2026-07-28): no `Mcp-Session-Id`; the header names 2026-07-28 or
//!   later and equals `_meta`'s `protocolVersion`; `_meta` holds every key that revision
//!   requires; `Mcp-Method` is exactly `tools/call` and `Mcp-Name` exactly the tool's name
//!   (SEP-2243; a Base64-encoded name goes to rmcp). `Mcp-Param-*` headers are checked by
//!   rmcp only for arguments a tool's schema marks with `x-mcp-header`, and no tool here
//!   marks any (`tests::no_tool_routes_an_argument_into_a_header` keeps it so). The answer is awaited before the status
//!   is chosen, as rmcp does: JSON in stateless mode or for an error rmcp maps to 400/404,
//!   else a one-event SSE stream.
//! - [`Route::Session`] (2025-11-25 and before): a session id the user owns (`fair::session`
//!   checked it) that still exists (one that is gone goes to rmcp, whose 404 it gets); no
//!   `_meta` `protocolVersion`; a header, if any, before 2026-07-28. The answer is the session's SSE stream: a priming event, then the answer,
//!   with rmcp's keep-alive comments while the call runs.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Body, extract::Request, response::Response};
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rmcp::{
    model::{
        CallToolRequest, CallToolRequestMethod, CallToolRequestParams, ClientRequest, ErrorCode,
        JsonRpcVersion2_0, ProtocolVersion, RequestId, ServerJsonRpcMessage,
    },
    transport::streamable_http_server::session::ServerSseMessage,
};
use serde::{Deserialize, de::IgnoredAny};
use sse_stream::{KeepAlive, Sse, SseBody};

use super::{
    MCP_PROTOCOL_VERSION, MCP_SESSION_ID,
    intake::{Chunks, Envelope},
    mcp_sessions::{Session, Sessions},
};

const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";
const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";

/// rmcp's SSE keep-alive interval (its config's default, which `http::mcp_config` keeps):
/// a comment while a long call runs, so no proxy takes the stream for dead.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A `tools/call` request, read straight into rmcp's parameter type.
#[derive(Deserialize)]
pub(super) struct ToolCall {
    #[allow(dead_code, reason = "parsed to refuse anything but JSON-RPC 2.0")]
    jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[allow(dead_code, reason = "parsed to refuse any other method")]
    method: CallToolRequestMethod,
    params: CallToolRequestParams,
    /// A request has neither (rmcp refuses a message with both shapes); present, it goes
    /// to rmcp.
    #[serde(default)]
    result: Option<IgnoredAny>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

/// Which of the two routes a call takes.
pub(super) enum Route {
    /// A 2026-07-28 call: no session, its revision in its own `_meta`.
    Modern,
    /// A call in a legacy session, which negotiated its revision at `initialize`.
    Session(Arc<Session>),
}

/// A call the edge serves itself: parsed, checked, and its route.
pub(super) struct Direct {
    call: ToolCall,
    route: Route,
}

/// The call in `chunks`, when it is one the edge may serve itself (the module docs); `sid`
/// is the session id the edge accepted, if any, looked up in `sessions` (one that is gone
/// is rmcp's to answer: its 404).
pub(super) fn take(
    headers: &HeaderMap,
    envelope: &Envelope,
    chunks: &Chunks,
    sid: Option<&str>,
    sessions: &Sessions,
) -> Option<Direct> {
    if envelope.method.as_deref() != Some("tools/call") || !accepts_both(headers) {
        return None;
    }
    let header_version = single(headers, MCP_PROTOCOL_VERSION)?;
    let call: ToolCall = chunks.parse().ok()?;
    if call.result.is_some() || call.error.is_some() {
        return None;
    }
    // `_meta`'s revision as the client wrote it (rmcp reads any string as a version), as the
    // edge's one parse read it.
    let meta_version = envelope.meta.protocol_version.as_deref();
    let route = match (sid, header_version) {
        (None, Some(header)) if !headers.contains_key(MCP_SESSION_ID) => {
            let modern = from_2026(header.as_bytes());
            // The keys 2026-07-28 requires (rmcp's `missing_required_keys`): the revision,
            // which must be the header's, and the client's capabilities.
            let agrees = meta_version.is_some_and(|v| v.as_bytes() == header.as_bytes());
            let complete = call
                .params
                .meta
                .as_ref()
                .is_some_and(|m| m.client_capabilities().is_some());
            let named = is_exactly(headers, MCP_METHOD, b"tools/call")
                && is_exactly(headers, MCP_NAME, call.params.name.as_bytes());
            (modern && complete && agrees && named).then_some(Route::Modern)?
        }
        (Some(sid), header) if meta_version.is_none() => {
            if header.is_some_and(|h| from_2026(h.as_bytes())) {
                return None;
            }
            Route::Session(sessions.get(sid)?)
        }
        _ => return None,
    };
    Some(Direct { call, route })
}

/// Whether revision `version` is 2026-07-28 or later (revisions are dates, so they order
/// as text).
fn from_2026(version: &[u8]) -> bool {
    version >= ProtocolVersion::V_2026_07_28.as_str().as_bytes()
}

impl Direct {
    /// Runs the call and answers it.
    pub(super) async fn serve(
        self,
        sessions: &Sessions,
        json_only: bool,
        req: Request,
    ) -> Response {
        let Direct { mut call, route } = self;
        // What rmcp's request parse does with `_meta`: it travels beside the params and
        // becomes the handler's context.
        let meta = call.params.meta.take().unwrap_or_default();
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(call.params));
        match route {
            Route::Modern => {
                let answer = sessions.run(call.id, request, meta, extensions(req));
                modern_answer(answer.await, json_only)
            }
            Route::Session(session) => {
                let stream = sessions.call(session, call.id, request, meta, extensions(req));
                sse(stream, sessions.shutdown())
            }
        }
    }
}

/// What rmcp puts into a request's extensions: its HTTP parts (the edge's [`Caller`],
/// `ClientGone` and tool filter are in them).
///
/// [`Caller`]: crate::call::Caller
fn extensions(req: Request) -> rmcp::model::Extensions {
    let (parts, _) = req.into_parts();
    let mut extensions = rmcp::model::Extensions::new();
    extensions.insert(parts);
    extensions
}

/// rmcp's answer to a 2026-07-28 request whose handler has answered: the HTTP status its
/// JSON-RPC error maps to, JSON when that is not 200 or the gateway is stateless, else a
/// one-event SSE stream.
fn modern_answer(message: ServerJsonRpcMessage, json_only: bool) -> Response {
    let status = match &message {
        ServerJsonRpcMessage::Error(e) => match e.error.code {
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
            | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
            | ErrorCode::HEADER_MISMATCH => StatusCode::BAD_REQUEST,
            ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
            _ => StatusCode::OK,
        },
        _ => StatusCode::OK,
    };
    let json_answer = json_only || status != StatusCode::OK;
    // Written once, straight into the body (an SSE event is the JSON between its prefix and
    // the blank line that ends it).
    let mut body = Vec::with_capacity(1024);
    if !json_answer {
        body.extend_from_slice(b"data: ");
    }
    serde_json::to_writer(&mut body, &message).expect("a server message serializes");
    if json_answer {
        return Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, JSON)
            .body(Body::from(body))
            .expect("a valid response");
    }
    body.extend_from_slice(b"\n\n");
    sse_response(Body::from(body))
}

/// A session's answer stream as rmcp frames it (`sse_stream_response`): each message one
/// event, keep-alive comments while nothing comes, cut at shutdown.
fn sse(
    stream: impl futures::Stream<Item = ServerSseMessage> + Send + Sync + 'static,
    shutdown: tokio_util::sync::CancellationToken,
) -> Response {
    let events = stream
        .map(|message| {
            let mut sse = match &message.message {
                Some(m) => Sse::default().data(serde_json::to_string(&**m).expect("serializes")),
                // A priming event: empty data (SEP-1699).
                None => Sse::default().data(""),
            };
            sse.id = message.event_id;
            sse.retry = message.retry.map(|r| r.as_millis() as u64);
            Ok::<_, Infallible>(sse)
        })
        .take_until(async move { shutdown.cancelled_owned().await });
    let body =
        SseBody::new(events).with_keep_alive::<Tick>(KeepAlive::new().interval(SSE_KEEP_ALIVE));
    sse_response(Body::new(body))
}

/// The keep-alive timer, on tokio's clock (rmcp's is private to it).
struct Tick(Pin<Box<tokio::time::Sleep>>);

impl Future for Tick {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl sse_stream::Timer for Tick {
    fn from_duration(duration: Duration) -> Self {
        Self(Box::pin(tokio::time::sleep(duration)))
    }

    fn reset(mut self: Pin<&mut Self>, when: std::time::Instant) {
        self.0.as_mut().reset(tokio::time::Instant::from_std(when));
    }
}

fn sse_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, EVENT_STREAM)
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(body)
        .expect("a valid response")
}

/// The only value of header `name` (`Ok(None)` when absent); `None` when it has several.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<&'a HeaderValue>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    values.next().is_none().then_some(first)
}

/// Header `name` has exactly one value, and it is `expected`.
fn is_exactly(headers: &HeaderMap, name: &str, expected: &[u8]) -> bool {
    matches!(single(headers, name), Some(Some(v)) if v.as_bytes() == expected)
}

/// `Accept` names both media types an MCP POST must accept, in the plain form whose
/// reading cannot differ from rmcp's (no parameters, no quoted strings: rmcp weighs `q`).
fn accepts_both(headers: &HeaderMap) -> bool {
    let Some(Some(accept)) = single(headers, header::ACCEPT.as_str()) else {
        return false;
    };
    let Ok(accept) = accept.to_str() else {
        return false;
    };
    if accept.contains([';', '"']) {
        return false;
    }
    let (mut json, mut sse) = (false, false);
    for essence in accept.split(',').map(str::trim) {
        json |= essence.eq_ignore_ascii_case(JSON);
        sse |= essence.eq_ignore_ascii_case(EVENT_STREAM);
    }
    json && sse
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use http::{HeaderMap, HeaderValue};
    use serde_json::{Value, json};

    use rmcp::transport::streamable_http_server::session::SessionManager;

    use super::{Route, take};
    use crate::{
        config::Config,
        http::{AppState, intake},
    };

    const MODERN: &str = "2026-07-28";

    fn modern_meta() -> Value {
        json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        })
    }

    fn call(meta: Option<Value>) -> Value {
        let mut params = json!({"name": "get_note", "arguments": {"uid": "n1"}});
        if let Some(meta) = meta {
            params["_meta"] = meta;
        }
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    fn modern_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "get_note"),
        ]
    }

    fn legacy_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ]
    }

    /// The route `take` gives `body` with `pairs` as its headers: "modern", "session"
    /// (`sid` given), or "rmcp" (left to rmcp). The sid `s1` names a live session; any other
    /// names one that is gone.
    async fn route(
        body: &Value,
        pairs: &[(&'static str, &'static str)],
        sid: Option<&str>,
    ) -> &'static str {
        let state = AppState::new(Config::default()).expect("a gateway state");
        let (live, _) = state.sessions.create_session().await.unwrap();
        let sid = sid.map(|s| if s == "s1" { &*live } else { s });
        let bytes = serde_json::to_vec(body).unwrap();
        let (chunks, envelope) = intake::read(Body::from(bytes), 1 << 20, Duration::from_secs(30))
            .await
            .expect("a readable body");
        match take(&headers(pairs), &envelope, &chunks, sid, &state.sessions).map(|d| d.route) {
            Some(Route::Modern) => "modern",
            Some(Route::Session(_)) => "session",
            None => "rmcp",
        }
    }

    fn with(
        base: Vec<(&'static str, &'static str)>,
        name: &str,
        value: Option<&'static str>,
    ) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<_> = base.into_iter().filter(|(n, _)| *n != name).collect();
        if let Some(v) = value {
            out.push((leak(name), v));
        }
        out
    }

    fn leak(s: &str) -> &'static str {
        Box::leak(s.to_owned().into_boxed_str())
    }

    #[tokio::test]
    async fn an_ordinary_call_of_either_revision_is_served_at_the_edge() {
        assert_eq!(
            route(&call(Some(modern_meta())), &modern_headers(), None).await,
            "modern"
        );
        assert_eq!(
            route(&call(None), &legacy_headers(), Some("s1")).await,
            "session"
        );
        // A session request may leave the version header out (rmcp assumes 2025-03-26).
        let bare = with(legacy_headers(), "mcp-protocol-version", None);
        assert_eq!(route(&call(None), &bare, Some("s1")).await, "session");
    }

    #[tokio::test]
    async fn a_2026_call_that_is_not_ordinary_goes_to_rmcp() {
        let body = call(Some(modern_meta()));
        let cases: Vec<(&str, Vec<(&'static str, &'static str)>)> = vec![
            ("no Mcp-Method", with(modern_headers(), "mcp-method", None)),
            (
                "another Mcp-Method",
                with(modern_headers(), "mcp-method", Some("tools/list")),
            ),
            ("no Mcp-Name", with(modern_headers(), "mcp-name", None)),
            (
                "another Mcp-Name",
                with(modern_headers(), "mcp-name", Some("delete_note")),
            ),
            (
                "a Base64 Mcp-Name",
                with(
                    modern_headers(),
                    "mcp-name",
                    Some("=?base64?Z2V0X25vdGU=?="),
                ),
            ),
            (
                "no version header",
                with(modern_headers(), "mcp-protocol-version", None),
            ),
            (
                "a header version other than _meta's",
                with(modern_headers(), "mcp-protocol-version", Some("2025-11-25")),
            ),
            (
                "a weighted Accept",
                with(
                    modern_headers(),
                    "accept",
                    Some("application/json;q=0.5, text/event-stream"),
                ),
            ),
            (
                "an Accept without SSE",
                with(modern_headers(), "accept", Some("application/json")),
            ),
            (
                "a session id",
                with(modern_headers(), "mcp-session-id", Some("s1")),
            ),
        ];
        for (why, pairs) in &cases {
            assert_eq!(route(&body, pairs, None).await, "rmcp", "{why}");
        }
        let mut twice = modern_headers();
        twice.push(("mcp-method", "tools/call"));
        assert_eq!(route(&body, &twice, None).await, "rmcp", "Mcp-Method twice");
        let mut versions = modern_headers();
        versions.push(("mcp-protocol-version", MODERN));
        assert_eq!(
            route(&body, &versions, None).await,
            "rmcp",
            "two version headers"
        );

        let mut no_caps = modern_meta();
        no_caps
            .as_object_mut()
            .unwrap()
            .remove("io.modelcontextprotocol/clientCapabilities");
        assert_eq!(
            route(&call(Some(no_caps)), &modern_headers(), None).await,
            "rmcp",
            "_meta missing a required key"
        );
        assert_eq!(
            route(&call(None), &modern_headers(), None).await,
            "rmcp",
            "no _meta"
        );
    }

    #[tokio::test]
    async fn a_message_rmcp_would_read_otherwise_goes_to_rmcp() {
        let pairs = modern_headers();
        let mut with_result = call(Some(modern_meta()));
        with_result["result"] = json!({});
        assert_eq!(
            route(&with_result, &pairs, None).await,
            "rmcp",
            "a result member"
        );
        let mut old_rpc = call(Some(modern_meta()));
        old_rpc["jsonrpc"] = json!("1.0");
        assert_eq!(route(&old_rpc, &pairs, None).await, "rmcp", "JSON-RPC 1.0");
        let mut listing = call(Some(modern_meta()));
        listing["method"] = json!("tools/list");
        assert_eq!(
            route(&listing, &pairs, None).await,
            "rmcp",
            "another method"
        );
        let mut bad_args = call(Some(modern_meta()));
        bad_args["params"]["arguments"] = json!([1, 2]);
        assert_eq!(
            route(&bad_args, &pairs, None).await,
            "rmcp",
            "arguments not an object"
        );
        let mut notification = call(Some(modern_meta()));
        notification.as_object_mut().unwrap().remove("id");
        assert_eq!(route(&notification, &pairs, None).await, "rmcp", "no id");
    }

    #[tokio::test]
    async fn a_session_call_that_is_not_ordinary_goes_to_rmcp() {
        // A request naming its own revision, in a session or with a 2026-07-28 header, is
        // rmcp's to judge (it refuses or routes these by rules of its own).
        assert_eq!(
            route(&call(Some(modern_meta())), &legacy_headers(), Some("s1")).await,
            "rmcp"
        );
        let modern_header = with(legacy_headers(), "mcp-protocol-version", Some(MODERN));
        assert_eq!(route(&call(None), &modern_header, Some("s1")).await, "rmcp");
        // No session and no revision of its own: rmcp's "session id required".
        assert_eq!(route(&call(None), &legacy_headers(), None).await, "rmcp");
        // A session that is gone: rmcp's 404.
        assert_eq!(
            route(&call(None), &legacy_headers(), Some("gone")).await,
            "rmcp"
        );
    }

    /// rmcp checks `Mcp-Param-*` headers only for the arguments a tool's input schema marks
    /// with `x-mcp-header`; the edge's route does not check them, so no tool may mark any.
    #[test]
    fn no_tool_routes_an_argument_into_a_header() {
        for generation in [
            crate::config::Generation::Seed,
            crate::config::Generation::Current,
        ] {
            let set = crate::mcp::tools::tools(generation);
            for tool in &set.tools {
                let schema = serde_json::to_string(&tool.input_schema).unwrap();
                assert!(
                    !schema.contains("x-mcp-header"),
                    "{} marks an argument for a header",
                    tool.name
                );
            }
        }
    }
}
