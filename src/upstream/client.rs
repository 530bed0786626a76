//! [`Upstream`]: the one pooled client every tool call goes through.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::Value;

use super::{
    UpstreamError,
    answer::{content_type, error_from, read_capped},
    middleware::{EntityRequest, RetryAfter, TenantSigner},
    sessions::{SessionInfo, SessionStats, SyncSessions},
};
use crate::{config::Config, secret::Secret};

/// Header carrying the per-call correlation id, to the API and back.
pub const CORRELATION_ID: &str = "x-correlation-id";

/// Who is calling and under which correlation id. Travels with each tool call.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The caller's `Authorization` header value, forwarded unchanged.
    pub authorization: Option<Secret>,
    /// Correlation id of this tool call.
    pub correlation_id: Arc<str>,
}

impl CallContext {
    /// A context with a fresh correlation id.
    pub fn new(authorization: Option<Secret>) -> Self {
        Self {
            authorization,
            correlation_id: super::correlation::new_id(),
        }
    }
}

/// One REST request, as a handler describes it.
#[derive(Debug)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Path below the base URL, starting with `/`.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(&'static str, String)>,
    /// JSON body, already serialized.
    pub body: Option<Bytes>,
    /// `If-Match` value.
    pub if_match: Option<String>,
    /// Whether this is an entity route (needs a sync session).
    pub entity: bool,
}

impl ApiRequest {
    /// An entity request without body.
    pub fn entity(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            if_match: None,
            entity: true,
        }
    }

    /// Adds a JSON body.
    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(Bytes::from(
            serde_json::to_vec(body).expect("Value serializes"),
        ));
        self
    }
}

/// A successful API answer.
#[derive(Debug)]
pub struct ApiResponse {
    /// HTTP status (2xx).
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

struct Inner {
    http: ClientWithMiddleware,
    base: reqwest::Url,
    max_body: usize,
    timeout_secs: f64,
    stats: Arc<SessionStats>,
    /// One permit per tool call's API exchange (`upstream_max_in_flight`).
    slots: tokio::sync::Semaphore,
    max_in_flight: usize,
}

/// The pooled, signing, session-wrapping client of the ToolBridge API. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
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

/// The shared transport settings, also used for the JWKS fetcher.
pub(crate) fn base_client(cfg: &Config) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(cfg.connect_timeout())
        .timeout(cfg.request_timeout())
        // More idle connections than requests ever in flight would never be used.
        .pool_max_idle_per_host(cfg.upstream_max_in_flight)
        .tcp_nodelay(true)
        // The API is on loopback or a private network: a proxy from the environment would
        // be a surprise, and a redirect would be a bug; neither may carry the user's token.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

impl Upstream {
    /// Builds the client chain once; every call reuses its connection pool.
    pub fn new(cfg: &Config) -> Result<Self, UpstreamError> {
        let client = base_client(cfg).map_err(|e| UpstreamError::Other(e.to_string()))?;
        let base = reqwest::Url::parse(cfg.api_base())
            .map_err(|e| UpstreamError::Other(format!("bad base URL: {e}")))?;
        let stats = Arc::new(SessionStats::default());
        let max_body = cfg.upstream_max_body_bytes;
        let timeout_secs = cfg.request_timeout_seconds;
        let sessions = SyncSessions::new(
            cfg.session_mode,
            base.join("v1/sync/sessions").expect("static path"),
            max_body,
            timeout_secs,
            stats.clone(),
        );
        let http = ClientBuilder::new(client)
            .with(RetryAfter::new(
                std::time::Duration::from_secs_f64(cfg.retry_after_max_seconds),
                stats.clone(),
            ))
            .with(sessions)
            .with(TenantSigner::new(
                &cfg.tenant_id,
                cfg.tenant_header_secret.clone(),
            ))
            .build();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                max_body,
                timeout_secs,
                stats,
                slots: tokio::sync::Semaphore::new(cfg.upstream_max_in_flight),
                max_in_flight: cfg.upstream_max_in_flight,
            }),
        })
    }

    /// Counters of sessions opened and retries made.
    pub fn stats(&self) -> &SessionStats {
        &self.inner.stats
    }

    fn url(&self, path: &str, query: &[(&'static str, String)]) -> reqwest::Url {
        let mut url = self.inner.base.clone();
        {
            // Keep any path prefix of the base URL (an API mounted below `/api`, say).
            let prefix = url.path().trim_end_matches('/').to_owned();
            url.set_path(&format!("{prefix}{path}"));
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Waits for an API request slot, at most as long as a request may take: past the
    /// limit calls queue here instead of each opening a connection (and the API seeing a
    /// thundering herd).
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, UpstreamError> {
        let inner = &self.inner;
        // The usual case, a free slot, needs no timer.
        if let Ok(permit) = inner.slots.try_acquire() {
            return Ok(permit);
        }
        let wait = std::time::Duration::from_secs_f64(inner.timeout_secs);
        match tokio::time::timeout(wait, inner.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Never closed; and a timeout means every slot stayed taken.
            Ok(Err(_)) | Err(_) => Err(UpstreamError::Busy {
                limit: inner.max_in_flight,
                waited: inner.timeout_secs,
            }),
        }
    }

    /// Sends one request (with session, signature and correlation id) and reads its answer.
    /// The session request, the request itself and its body all happen inside one slot.
    pub async fn call(
        &self,
        ctx: &CallContext,
        req: ApiRequest,
    ) -> Result<ApiResponse, UpstreamError> {
        let auth = ctx.authorization.as_ref().ok_or(UpstreamError::NoToken)?;
        let auth = HeaderValue::from_str(auth.expose())
            .map_err(|_| UpstreamError::Other("the Authorization header is not valid".into()))?;
        let _slot = self.slot().await?;
        let method = req.method.clone();
        let mut builder = self
            .inner
            .http
            .request(req.method, self.url(&req.path, &req.query))
            .header(header::AUTHORIZATION, auth)
            .header(CORRELATION_ID, ctx.correlation_id.as_ref());
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
        let started = std::time::Instant::now();
        let route = route_label(&method, &req.path);
        let sent = builder.send().await;
        let status_label = match &sent {
            Ok(r) => r.status().as_str().to_owned(),
            Err(_) => "error".to_owned(),
        };
        metrics::histogram!(
            "toolbridge_upstream_request_duration_seconds",
            "route" => route,
            "status" => status_label
        )
        .record(started.elapsed().as_secs_f64());
        let mut resp =
            sent.map_err(|e| UpstreamError::from_middleware(e, self.inner.timeout_secs))?;
        let status = resp.status();
        // Moved out, not cloned: reading the body needs no headers.
        let headers = std::mem::take(resp.headers_mut());
        let bytes = read_capped(resp, self.inner.max_body, self.inner.timeout_secs).await?;
        if !status.is_success() {
            return Err(error_from(status, &headers, &bytes));
        }
        let body = serde_json::from_slice(&bytes).map_err(|_| UpstreamError::NotJson {
            status,
            content_type: content_type(&headers),
        })?;
        Ok(ApiResponse { status, body })
    }

    /// `GET /healthz` of the API: `Ok` when it answers 200.
    pub async fn healthz(&self) -> Result<(), UpstreamError> {
        self.healthz_clock().await.map(|_| ())
    }

    /// `GET /healthz`, also returning the API's clock from its `Date` header (for `check`:
    /// tenant signatures only pass within the API's clock window).
    pub async fn healthz_clock(
        &self,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, UpstreamError> {
        let resp = self
            .inner
            .http
            .get(self.url("/healthz", &[]))
            .send()
            .await
            .map_err(|e| UpstreamError::from_middleware(e, self.inner.timeout_secs))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = read_capped(resp, 64 * 1024, self.inner.timeout_secs).await?;
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

    /// Opens a sync session with the caller's token (used by `check`).
    pub async fn open_session(&self, ctx: &CallContext) -> Result<SessionInfo, UpstreamError> {
        let auth = ctx.authorization.as_ref().ok_or(UpstreamError::NoToken)?;
        let resp = self
            .inner
            .http
            .post(self.url("/v1/sync/sessions", &[]))
            .header(header::AUTHORIZATION, auth.expose())
            .header(CORRELATION_ID, ctx.correlation_id.as_ref())
            .send()
            .await
            .map_err(|e| UpstreamError::from_middleware(e, self.inner.timeout_secs))?;
        super::sessions::parse_session(resp, self.inner.max_body, self.inner.timeout_secs).await
    }
}

/// A low-cardinality route label: `GET /v1/notes/{uid}/archive`, never a real uid.
fn route_label(method: &Method, path: &str) -> String {
    let mut label = format!("{method} ");
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            label.push('/');
        }
        label.push_str(if uuid::Uuid::parse_str(seg).is_ok() {
            "{uid}"
        } else {
            seg
        });
    }
    label
}
