//! [`Gateway`]: the rmcp `ServerHandler`. It lists the catalog and runs one tool call:
//! resolve the name, decode the arguments, find the caller, call the handler, shape the
//! result. One instance per MCP session; all state is behind one `Arc`.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
        CompleteRequestMethod, CompleteRequestParams, CompleteResult, CustomNotification,
        CustomRequest, CustomResult, DiscoverResult, GetPromptRequestMethod,
        GetPromptRequestParams, GetPromptResponse, Implementation, InitializeRequestParams,
        InitializeResult, ListPromptsRequestMethod, ListPromptsResult, ListResourceTemplatesResult,
        ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
        ServerConfig, SubscribeRequestMethod, SubscribeRequestParams, Tool,
        UnsubscribeRequestMethod, UnsubscribeRequestParams,
    },
    service::{NotificationContext, RequestContext},
};
use tracing::Instrument;

use super::{
    catalog::Verb,
    catalog::instructions,
    edit::{self, Review},
    handlers::{self, ToolError},
    protocol::{self, Audience},
    results::{describe, error_result},
    shape::Shaping,
    spans,
    tools::{Choice, Target, ToolSpec, tools},
    views,
};
use crate::{
    call::{Caller, ToolFilter},
    config::Generation,
    upstream::{Call, Upstream, UpstreamError},
};

struct Shared {
    upstream: Upstream,
    in_flight: crate::call::InFlight,
    /// The caller over stdio, where no request carries one: the configured token.
    configured_caller: Option<Caller>,
    /// For `health_check`: the configured modes, by name.
    tenant_mode: String,
    backend_auth: String,
    /// The tools the operator offers (`TOOLBRIDGE_TOOLS`).
    choice: Choice,
    /// How results are shaped and bounded.
    shaping: Shaping,
}

/// The MCP server. Cheap to clone: rmcp makes one per session.
#[derive(Clone)]
pub(crate) struct Gateway {
    shared: Arc<Shared>,
}

impl Gateway {
    /// A gateway over the given upstream client; its tool calls are counted in
    /// `in_flight` (for graceful shutdown). Fails when `TOOLBRIDGE_TOOLS` has a pattern
    /// that matches no tool.
    pub(crate) fn new(
        upstream: Upstream,
        config: &crate::config::Config,
        configured_caller: Option<Caller>,
        in_flight: crate::call::InFlight,
    ) -> Result<Self, crate::config::ConfigError> {
        let choice = Choice::new(&config.tools)?;
        if choice.is_all() {
            tracing::info!("offering every tool");
        } else {
            for generation in [Generation::Seed, Generation::Current] {
                let names = choice.names(generation);
                tracing::info!(
                    api_generation = ?generation,
                    count = names.len(),
                    tools = %names.join(","),
                    "offering the tools TOOLBRIDGE_TOOLS chose"
                );
            }
        }
        Ok(Self {
            shared: Arc::new(Shared {
                upstream,
                in_flight,
                configured_caller,
                tenant_mode: format!("{:?}", config.effective_tenant_mode()).to_lowercase(),
                backend_auth: format!("{:?}", config.backend_auth).to_lowercase(),
                choice,
                shaping: Shaping::new(config),
            }),
        })
    }

    /// The tools offered (for the scope policy: a tool not offered needs no scope, it is
    /// unknown).
    pub(crate) fn choice(&self) -> &Choice {
        &self.shared.choice
    }

    /// The tool `name` resolves to, when it is offered; otherwise it is unknown.
    fn resolve(
        &self,
        generation: Generation,
        name: &str,
    ) -> Option<(&'static str, &'static ToolSpec)> {
        tools(generation)
            .get(name)
            .filter(|(name, _)| self.shared.choice.offers(name))
    }

    /// The listing the operator chose, in the configured result shape.
    fn listing(&self, generation: Generation) -> Vec<Tool> {
        tools(generation)
            .listing(self.shared.shaping.shape)
            .iter()
            .filter(|t| self.shared.choice.offers(&t.name))
            .cloned()
            .collect()
    }

    /// The caller, borrowed. Over HTTP it is only the one the edge's token check made and
    /// put into the request (never a raw header the edge did not see); over stdio, where
    /// there is no HTTP request, it is the configured token's.
    fn caller<'a>(&'a self, ctx: &'a RequestContext<RoleServer>) -> Option<&'a Caller> {
        match ctx.extensions.get::<http::request::Parts>() {
            Some(parts) => parts.extensions.get::<Caller>(),
            None => self.shared.configured_caller.as_ref(),
        }
    }

    /// Cancelled when the HTTP client of this call went away (see `http::ClientGone`).
    fn client_gone(ctx: &RequestContext<RoleServer>) -> tokio_util::sync::CancellationToken {
        ctx.extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::call::ClientGone>())
            .map(|g| g.0.clone())
            .unwrap_or_default()
    }

    /// `health_check`: the readiness report (API health, generation, whether the API
    /// accepts this gateway's credentials). No secrets, no URLs.
    pub(crate) async fn health(&self) -> CallToolResult {
        let report = self.shared.upstream.health().await;
        CallToolResult::structured(
            report.to_json(&self.shared.tenant_mode, &self.shared.backend_auth),
        )
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let generation = self.shared.upstream.generation_or_detect().await;
        let Some((name, spec)) = self.resolve(generation, &request.name) else {
            // A protocol error: the span is named without the (client-chosen) name.
            let span = spans::request(&ctx, "tools/call");
            let e = ErrorData::invalid_params(format!("unknown tool: {}", request.name), None);
            spans::protocol_error(&span, &e);
            return Err(e);
        };
        let advice = match spec.target {
            Target::Health => {
                let span = tracing::info_span!(
                    parent: &spans::http_span(&ctx.extensions),
                    "tool_call",
                    tool = name,
                    otel.name = spans::otel_name("tools/call", name).as_deref(),
                    otel.kind = spans::otel_kind(),
                );
                spans::decorate(&span, &ctx, "tools/call", Some(name));
                return Ok(self.health().instrument(span).await);
            }
            Target::Entity(entity, verb) => (entity, verb),
            Target::Review(Review::Show) => (edit::note(), Verb::Get),
            Target::Review(Review::Apply) => (edit::note(), Verb::Patch),
        };
        let _in_flight = self.shared.in_flight.enter();
        let caller = self.caller(&ctx);
        let correlation_id = crate::upstream::correlation::new_id();
        let span = tracing::info_span!(
            parent: &spans::http_span(&ctx.extensions),
            "tool_call",
            tool = name,
            correlation_id = %correlation_id,
            otel.name = spans::otel_name("tools/call", name).as_deref(),
            otel.kind = spans::otel_kind(),
        );
        spans::decorate(&span, &ctx, "tools/call", Some(name));
        let started = Instant::now();
        let up = &self.shared.upstream;
        let fut = async {
            let args = crate::mcp::fields::decode(&spec.fields, request.arguments)
                .map_err(ToolError::Invalid)?;
            let Some(caller) = caller else {
                return Err(ToolError::Upstream(UpstreamError::NoToken));
            };
            let call = Call {
                caller,
                correlation_id: &correlation_id,
            };
            match spec.target {
                Target::Review(review) => edit::run(up, call, review, args).await,
                _ => handlers::run(up, call, advice.0, advice.1, args, &self.shared.shaping).await,
            }
        };
        // When the client cancels or goes away, dropping the future drops the in-flight
        // upstream request with it.
        let gone = Self::client_gone(&ctx);
        let outcome = tokio::select! {
            r = fut.instrument(span.clone()) => Some(r),
            _ = ctx.ct.cancelled() => None,
            _ = gone.cancelled() => None,
        };
        let elapsed = started.elapsed();
        if outcome.is_none() {
            tracing::info!(parent: &span, "tool call cancelled by the client");
        }
        let (result, label, upstream_status) = shape(outcome, name, advice, &correlation_id);
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        spans::outcome(&span, label, upstream_status);
        // The outcome is on this line, not recorded into the span: the text format would
        // print it twice, and every record is a formatting pass. `tool` and `correlation_id`
        // are repeated so every log format carries them, whatever it does with spans.
        span.in_scope(|| {
            tracing::info!(
                tool = name,
                correlation_id = %correlation_id,
                outcome = label,
                upstream_status = upstream_status,
                latency_ms,
                "tool call finished"
            )
        });
        metrics::counter!(crate::telemetry::names::TOOL_CALLS, "tool" => name, "outcome" => label)
            .increment(1);
        metrics::histogram!(crate::telemetry::names::TOOL_CALL_DURATION, "tool" => name)
            .record(elapsed.as_secs_f64());
        Ok(result)
    }
}

/// A call's outcome (`None`: cancelled) as a tool result, a metrics label and the API's
/// status when there was one.
fn shape(
    outcome: Option<Result<(CallToolResult, u16), ToolError>>,
    name: &str,
    target: (
        &'static crate::mcp::catalog::Entity,
        crate::mcp::catalog::Verb,
    ),
    correlation_id: &str,
) -> (CallToolResult, &'static str, Option<u16>) {
    match outcome {
        None => (error_result("cancelled".into()), "cancelled", None),
        Some(Ok((result, status))) => {
            // A review conflict is an error result the tool chose, not a failure.
            let label = if result.is_error == Some(true) {
                "conflict"
            } else {
                "ok"
            };
            (result, label, Some(status))
        }
        Some(Err(err)) => {
            let (label, status) = match &err {
                ToolError::Invalid(_) => ("invalid_arguments", None),
                ToolError::Upstream(u) => (u.kind(), u.status().map(|s| s.as_u16())),
                ToolError::Unsure { err, .. } => {
                    ("unknown_outcome", err.status().map(|s| s.as_u16()))
                }
            };
            (
                error_result(describe(&err, name, Some(target), correlation_id)),
                label,
                status,
            )
        }
    }
}

/// What `initialize` (and `server/discover`) say about this server.
fn server_info(generation: Generation, previews: bool) -> ServerConfig {
    ServerConfig::new(
        ServerCapabilities::builder()
            .enable_extensions_with(views::capability())
            .enable_tools()
            .enable_resources()
            .build(),
    )
    .with_server_info(Implementation::new(
        "toolbridge-mcp",
        env!("CARGO_PKG_VERSION"),
    ))
    .with_instructions(instructions(generation, previews))
}

impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        // get_info cannot wait for a detection: the generation known so far (seed until
        // the API has answered once). rmcp asks for it on every request it serves with a
        // one-request service (2026-07-28, stateless, and every session request here), so
        // it is built once per generation and result shape.
        static INFO: [OnceLock<ServerConfig>; 4] = [const { OnceLock::new() }; 4];
        let generation = self
            .shared
            .upstream
            .generation()
            .unwrap_or(Generation::Seed);
        let previews = self.shared.shaping.shape == crate::config::ResultShape::Compact;
        let slot = match generation {
            Generation::Seed => &INFO[usize::from(previews)],
            Generation::Current => &INFO[2 + usize::from(previews)],
        };
        slot.get_or_init(|| server_info(generation, previews))
            .clone()
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let span = spans::request(&ctx, "initialize");
        spans::answer(span, async {
            // What rmcp's own `initialize` does.
            ctx.peer.set_peer_info(request.clone());
            self.negotiate_initialize(&request)
        })
        .await
    }

    async fn ping(&self, ctx: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        spans::answer(spans::request(&ctx, "ping"), async { Ok(()) }).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let span = spans::request(&ctx, "tools/list");
        spans::answer(span, async {
            let generation = self.shared.upstream.generation_or_detect().await;
            let mut tools = self.listing(generation);
            // With TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE the edge puts the scope policy's filter
            // into the request beside its caller (`http::scope_check`): list only what the
            // caller may call, and say the list is the caller's own.
            let filtered = ctx.extensions.get::<http::request::Parts>().and_then(|p| {
                let filter = p.extensions.get::<ToolFilter>()?;
                Some((filter, p.extensions.get::<Caller>()?))
            });
            let audience = match filtered {
                Some((filter, caller)) => {
                    tools.retain(|t| (filter.0)(caller, &t.name));
                    Audience::Caller
                }
                None => Audience::Everyone,
            };
            Ok(protocol::tool_list(tools, audience, &ctx))
        })
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let span = spans::request(&ctx, "resources/list");
        spans::answer(span, async {
            Ok(protocol::resource_list(views::resources(), &ctx))
        })
        .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let span = spans::request(&ctx, "resources/templates/list");
        // What rmcp answers for a server with resources and no templates.
        spans::answer(span, async { Ok(ListResourceTemplatesResult::default()) }).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let span = spans::request(&ctx, "resources/read");
        spans::answer(span, async {
            match views::read(&request.uri) {
                Some(contents) => Ok(protocol::resource_read(contents, &ctx).into()),
                None => Err(ErrorData::resource_not_found(
                    format!(
                        "no resource {}: resources/list names the views this gateway serves",
                        request.uri
                    ),
                    Some(serde_json::json!({ "uri": request.uri })),
                )),
            }
        })
        .await
    }

    // Legacy-only methods the gateway does not offer: rmcp's answers, under a span.
    #[allow(deprecated)]
    async fn subscribe(
        &self,
        _request: SubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        spans::not_offered::<SubscribeRequestMethod, _>(&ctx)
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        _request: UnsubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        spans::not_offered::<UnsubscribeRequestMethod, _>(&ctx)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        spans::not_offered::<ListPromptsRequestMethod, _>(&ctx)
    }

    async fn get_prompt(
        &self,
        _request: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        spans::not_offered::<GetPromptRequestMethod, _>(&ctx)
    }

    async fn complete(
        &self,
        _request: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        spans::not_offered::<CompleteRequestMethod, _>(&ctx)
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        protocol::supported_versions()
    }

    async fn discover(&self, ctx: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        let span = spans::request(&ctx, "server/discover");
        spans::answer(span, async { Ok(protocol::discover(self.get_info())) }).await
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let span = spans::request(&ctx, spans::known(&request.method));
        spans::answer(span, async {
            Err(protocol::unknown_request(&request.method, &ctx))
        })
        .await
    }

    // Deprecated by 2026-07-28 (SEP-2577), still part of the legacy revisions served here.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let span = spans::request(&ctx, "logging/setLevel");
        spans::answer(span, async { protocol::set_level(&ctx) }).await
    }

    // Notifications: a span each (held while its handler runs), as rmcp's handlers do.
    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        let span = spans::notification(&ctx, "notifications/initialized");
        tracing::info!(parent: &span, "client initialized");
    }

    async fn on_cancelled(
        &self,
        _notification: CancelledNotificationParam,
        ctx: NotificationContext<RoleServer>,
    ) {
        let _span = spans::notification(&ctx, "notifications/cancelled");
    }

    async fn on_progress(
        &self,
        _notification: ProgressNotificationParam,
        ctx: NotificationContext<RoleServer>,
    ) {
        let _span = spans::notification(&ctx, "notifications/progress");
    }

    async fn on_roots_list_changed(&self, ctx: NotificationContext<RoleServer>) {
        let _span = spans::notification(&ctx, "notifications/roots/list_changed");
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        ctx: NotificationContext<RoleServer>,
    ) {
        let _span = spans::notification(&ctx, spans::known(&notification.method));
    }

    /// The tool's name and input schema only: rmcp asks for a tool to check the
    /// `Mcp-Param-*` headers of a 2026-07-28 call against its input schema, on every such
    /// call, and cloning the whole listing entry (descriptions, annotations, `_meta`) cost
    /// about 18,000 instructions of such a call's 780,000 (callgrind, BENCHMARKS.md).
    fn get_tool(&self, name: &str) -> Option<Tool> {
        let generation = self
            .shared
            .upstream
            .generation()
            .unwrap_or(Generation::Seed);
        self.resolve(generation, name)?;
        let listed = tools(generation)
            .listing(self.shared.shaping.shape)
            .iter()
            .find(|t| t.name == name)?;
        let mut tool = Tool::default();
        tool.name = listed.name.clone();
        tool.input_schema = listed.input_schema.clone();
        Some(tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.call(request, ctx).await.map(Into::into)
    }
}
