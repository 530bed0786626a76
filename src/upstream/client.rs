//! [`Upstream`]: the one pooled client every tool call goes through, and the chain of
//! layers every request passes (design.md, "Two API generations, one chain"):
//!
//! ```text
//! retry → slot → sync session → backend credential → tenant → client span → reqwest
//! ```
//!
//! Each layer is chosen once from the configuration; none branches on a tool. What is
//! retried, when and why that is safe: `retry.rs` (and `docs/retries.md`). A pooled
//! connection the API closed (a restart) is replaced by hyper's pool before a request is
//! written to it: a request canceled before it was written is sent again on a fresh
//! connection (hyper-util's `retry_canceled_requests`, on by default in reqwest).
//!
//! The client span (`telemetry::otel::ClientSpans`, traces on only) is at the bottom, so
//! every request that really goes out (a session open or close, a token exchange, a tenant
//! lookup, each attempt of a retried request) gets its own span and carries its
//! `traceparent`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::Value;

use super::{
    UpstreamError,
    answer::{error_from, json_answer, read_capped},
    credential::CredentialLayer,
    generation::{GenerationCell, Info},
    marks::{CORRELATION_ID, EntityRequest, Repeatable, join},
    retry::Retry,
    slot::SlotLayer,
    sync_sessions::{SessionInfo, SyncSessions},
    tenant::TenantLayer,
};
use crate::{
    call::Caller,
    config::{Config, Generation},
    secret::Secret,
};

/// One tool call as the chain sees it: its caller (borrowed: the one the token check made,
/// or the configured one) and its correlation id. Two borrows, copied freely.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call<'a> {
    /// Who calls: the `Authorization` value to send and the key of the per-caller caches.
    pub(crate) caller: &'a Caller,
    /// Correlation id of this tool call (`upstream::correlation::new_id`).
    pub(crate) correlation_id: &'a str,
}

/// The caller of a configured `Authorization` value (`check`, the readiness probe).
pub(crate) fn configured_caller(authorization: &Secret) -> Result<Caller, UpstreamError> {
    Caller::configured(authorization)
        .ok_or_else(|| UpstreamError::Other("the Authorization header is not valid".into()))
}

/// One REST request, as a handler describes it.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    /// HTTP method.
    pub(crate) method: Method,
    /// Path below the base URL, starting with `/`.
    pub(crate) path: String,
    /// Query parameters.
    pub(crate) query: Vec<(&'static str, String)>,
    /// JSON body, already serialized.
    pub(crate) body: Option<Bytes>,
    /// `If-Match` value.
    pub(crate) if_match: Option<String>,
    /// Whether this is an entity route (needs a sync session).
    pub(crate) entity: bool,
    /// Whether sending it twice leaves what sending it once leaves, so it may be sent again
    /// after a `502`/`503`/`504` (`retry.rs`). Reads, `PUT`, `PATCH` and `DELETE` are;
    /// a `POST` is only when its handler says so.
    pub(crate) repeatable: bool,
}

impl ApiRequest {
    /// An entity request without body.
    pub(crate) fn entity(method: Method, path: String) -> Self {
        Self {
            method: method.clone(),
            path,
            query: Vec::new(),
            body: None,
            if_match: None,
            entity: true,
            repeatable: method != Method::POST,
        }
    }

    /// Adds a JSON body.
    pub(crate) fn json(mut self, body: &Value) -> Self {
        self.body = Some(Bytes::from(
            serde_json::to_vec(body).expect("Value serializes"),
        ));
        self
    }
}

/// A successful API answer.
#[derive(Debug)]
pub(crate) struct ApiResponse {
    /// HTTP status (2xx).
    pub(crate) status: StatusCode,
    /// The JSON body.
    pub(crate) body: Value,
}

struct Inner {
    http: ClientWithMiddleware,
    /// The same pool without the chain, for unauthenticated requests (health, info).
    plain: reqwest::Client,
    base: reqwest::Url,
    max_body: usize,
    generation: Arc<GenerationCell>,
    health: super::readiness::HealthCache,
}

/// The pooled, signing, session-wrapping client of the ToolBridge API. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Upstream {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

/// Installs rustls' ring provider once. reqwest is built without a default provider (to
/// avoid aws-lc's C build), so anything in the process that builds a reqwest client must
/// call this first; the gateway does it when it builds its own client.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The transport settings of every HTTP client the gateway builds (the API's here, the
/// issuer's in `auth`): ring TLS, the connect timeout, no proxy, no redirects.
pub(crate) fn client_builder(cfg: &Config) -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(cfg.connect_timeout)
        // The API is on loopback or a private network: a proxy from the environment would
        // be a surprise, and a redirect would be a bug; neither may carry the user's token.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
}

/// The API's client: the shared transport, the request timeout, the pool.
fn base_client(cfg: &Config) -> reqwest::Result<reqwest::Client> {
    client_builder(cfg)
        .timeout(cfg.request_timeout)
        // More idle connections than requests ever in flight would never be used.
        .pool_max_idle_per_host(cfg.upstream_max_in_flight)
        .tcp_nodelay(true)
        .build()
}

impl Upstream {
    /// Builds the client chain once; every call reuses its connection pool.
    pub(crate) fn new(cfg: &Config) -> Result<Self, UpstreamError> {
        let client = base_client(cfg).map_err(|e| UpstreamError::Other(e.to_string()))?;
        let base = cfg.go_api_base_url.clone();
        let max_body = cfg.upstream_max_body_bytes;
        let generation = Arc::new(GenerationCell::new(cfg.api_generation));
        let sessions =
            SyncSessions::new(cfg.session_mode, join(&base, "/v1/sync/sessions"), max_body);
        let mut http = ClientBuilder::new(client.clone())
            .with(Retry::new(cfg.retry_budget, max_body))
            .with(SlotLayer::new(
                cfg.upstream_max_in_flight,
                cfg.request_timeout,
            ))
            .with(sessions)
            .with(CredentialLayer::new(cfg, &base)?)
            .with(TenantLayer::new(cfg, &base, generation.clone()));
        // Only with traces on (decided before any client is built): off, the chain is
        // exactly what it was, not one more boxed future per request.
        if crate::telemetry::otel::enabled() {
            http = http.with(crate::telemetry::otel::ClientSpans);
        }
        let http = http.build();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                plain: client,
                base,
                max_body,
                generation,
                health: super::readiness::HealthCache::new(cfg),
            }),
        })
    }

    /// The API generation, when configured or already detected.
    pub(crate) fn generation(&self) -> Option<Generation> {
        self.inner.generation.known()
    }

    /// The API generation: configured, or detected now from `/v1/sync/info` if it is not
    /// known yet. Unknown (the API unreachable) counts as seed, the smaller tool set.
    pub(crate) async fn generation_or_detect(&self) -> Generation {
        if let Some(g) = self.generation() {
            return g;
        }
        self.detect_generation().await.unwrap_or(Generation::Seed)
    }

    /// Asks `/v1/sync/info` which generation the API is (only in `auto` mode).
    pub(crate) async fn detect_generation(&self) -> Result<Generation, UpstreamError> {
        let cell = &self.inner.generation;
        if !cell.is_auto() {
            return Ok(cell.known().expect("fixed"));
        }
        let resp = self
            .inner
            .plain
            .get(self.url("/v1/sync/info", &[]))
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let (info, _) = json_answer::<Info>(resp, 1024 * 1024).await?;
        let g = info.generation();
        cell.record(g);
        Ok(g)
    }

    /// The readiness state (cached report, observed refusals).
    pub(crate) fn health_cache(&self) -> &super::readiness::HealthCache {
        &self.inner.health
    }

    fn url(&self, path: &str, query: &[(&'static str, String)]) -> reqwest::Url {
        let mut url = join(&self.inner.base, path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Sends one request (with session, credential, tenant and correlation id) and reads
    /// its answer. The session request, the request itself and its body all happen inside
    /// one API slot; waiting out a `429` holds none.
    pub(crate) async fn call(
        &self,
        call: Call<'_>,
        req: ApiRequest,
    ) -> Result<ApiResponse, UpstreamError> {
        let method = req.method.clone();
        let mut builder = self.request(call, req.method, self.url(&req.path, &req.query));
        if let Some(v) = &req.if_match {
            builder = builder.header(header::IF_MATCH, v.as_str());
        }
        if let Some(body) = req.body {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        if req.entity {
            builder = builder.with_extension(EntityRequest);
        }
        if req.repeatable {
            builder = builder.with_extension(Repeatable);
        }
        let started = std::time::Instant::now();
        let route = route_label(&method, &req.path);
        let sent = builder.send().await;
        let status_label = match &sent {
            Ok(r) => r.status().as_str().to_owned(),
            Err(_) => "error".to_owned(),
        };
        metrics::histogram!(
            crate::telemetry::names::UPSTREAM_REQUEST_DURATION,
            "route" => route,
            "status" => status_label
        )
        .record(started.elapsed().as_secs_f64());
        let resp = sent.map_err(UpstreamError::from_middleware);
        let status = resp.as_ref().map(|r| r.status()).ok();
        let answer = match resp {
            Ok(r) => json_answer::<Value>(r, self.inner.max_body).await,
            Err(e) => Err(e),
        };
        self.inner.health.observe(&answer);
        if let Err(e) = &answer {
            count_refusal(e);
        }
        let (body, _) = answer?;
        Ok(ApiResponse {
            status: status.unwrap_or(StatusCode::OK),
            body,
        })
    }

    /// `GET /healthz` of the API: `Ok` when it answers 200.
    pub(crate) async fn healthz(&self) -> Result<(), UpstreamError> {
        self.healthz_clock().await.map(|_| ())
    }

    /// `GET /healthz`, also returning the API's clock from its `Date` header (for `check`:
    /// tenant signatures only pass within the API's clock window).
    pub(crate) async fn healthz_clock(
        &self,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, UpstreamError> {
        let mut resp = self
            .inner
            .plain
            .get(self.url("/healthz", &[]))
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        let bytes = read_capped(resp, 64 * 1024).await?;
        if status.is_success() {
            Ok(headers
                .get(header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
                .map(|d| d.with_timezone(&chrono::Utc)))
        } else {
            Err(error_from(status, &headers, &bytes))
        }
    }

    /// Opens a sync session with the caller's token, through the credential and tenant
    /// layers (used by `check`).
    pub(crate) async fn open_session(&self, call: Call<'_>) -> Result<SessionInfo, UpstreamError> {
        let resp = self
            .send_raw(call, Method::POST, "/v1/sync/sessions")
            .await?;
        super::sync_sessions::parse_session(resp, self.inner.max_body).await
    }

    /// A request through the chain as `call`: its caller's credential (and the key of that
    /// caller's cache entries, for the layers) and its correlation id.
    fn request(
        &self,
        call: Call<'_>,
        method: Method,
        url: reqwest::Url,
    ) -> reqwest_middleware::RequestBuilder {
        self.inner
            .http
            .request(method, url)
            .with_extension(call.caller.credential_key())
            .header(header::AUTHORIZATION, call.caller.authorization().clone())
            .header(CORRELATION_ID, call.correlation_id)
    }

    /// One request through the chain without a sync session: for probes and `check`.
    pub(crate) async fn send_raw(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
    ) -> Result<reqwest::Response, UpstreamError> {
        self.request(call, method, self.url(path, &[]))
            .send()
            .await
            .map_err(UpstreamError::from_middleware)
            .inspect_err(count_refusal)
    }
}

/// Counts what the alert rules watch for: the API refusing the gateway's tenant
/// credentials, and the 429 retry budget running out.
fn count_refusal(e: &UpstreamError) {
    use crate::telemetry::names;
    if let UpstreamError::RetryBudget { .. } = e {
        metrics::counter!(names::RETRY_BUDGET_EXHAUSTED).increment(1);
    } else if e.is_tenant_refusal() {
        let message = e.to_string().to_ascii_lowercase();
        let reason = if message.contains("missing") {
            "missing_header"
        } else if message.contains("not authorized") {
            "not_authorized"
        } else if message.contains("invalid") || message.contains("signature") {
            "signature"
        } else {
            "other"
        };
        metrics::counter!(names::TENANT_REFUSED, "reason" => reason).increment(1);
    }
}

/// A low-cardinality route label: `GET /v1/notes/{uid}/archive`, never a real id (the
/// same template the client spans carry as `url.template`).
fn route_label(method: &Method, path: &str) -> String {
    format!("{method} {}", crate::telemetry::otel::path_template(path))
}
