//! An in-process implementation of the ToolBridge REST API contract
//! (`shared/toolbridge-api.md`): the upstream of the gateway's tests, of the benchmark and
//! of `toolbridge-mcp demo`.
//!
//! It is deliberately strict: a bad token, a wrong tenant signature, a missing session or
//! a stale epoch fails exactly as the real API fails, down to plain-text versus JSON bodies.
//! On top of the contract it offers introspection (a request log, counters) and fault
//! injection ([`Faults`]).
//!
//! Where the contract is silent, the choices are documented on the item that makes them:
//! [`faults`](Faults) for when faults apply, the handlers for check order, `archive` for
//! an empty body, `process` for `metadata`, [`Emulator::bump_epoch`] for what a wipe keeps.
//!
//! Layout: `config` (what is enforced), `auth` (token, tenant headers), `gate` (middleware
//! and check order), `sessions`, `entities` (routes, from the table in `kinds`), `store` and
//! `item` (per-user data and its JSON), `wire` (cursor, `If-Match`, timestamps), `faults`,
//! `log`, `ratelimit`, `token`.

mod auth;
mod config;
mod entities;
mod error;
mod faults;
mod gate;
mod item;
mod kinds;
mod log;
mod ratelimit;
mod sessions;
mod store;
pub mod token;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{EmulatorConfig, RateLimit};
pub use faults::{Fault, Faults};
pub use log::{LOG_CAPACITY, RecordedRequest};
pub use token::{mint_hs256, mint_hs256_with};

/// Largest accepted request body; a larger one is answered `413`.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long [`EmulatorHandle::shutdown`] waits for in-flight requests before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything the routes share.
pub(crate) struct Shared {
    cfg: EmulatorConfig,
    auth: auth::Authenticator,
    users: store::Users,
    sessions: sessions::SessionStore,
    log: log::RequestLog,
    faults: Faults,
    sessions_opened: AtomicU64,
    aborted: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

/// The current Unix time in milliseconds (the one clock of the emulator).
pub(crate) fn now_ms() -> i64 {
    crate::upstream::signing::now_millis()
}

/// One emulated API: cheap to clone (an `Arc`), all introspection through `&self`.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

impl Emulator {
    /// A fresh API with no users, no data and no sessions.
    pub fn new(cfg: EmulatorConfig) -> Self {
        let shared = Shared {
            auth: auth::Authenticator::new(&cfg),
            sessions: sessions::SessionStore::new(cfg.session_ttl),
            users: store::Users::default(),
            log: log::RequestLog::default(),
            faults: Faults::default(),
            sessions_opened: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
            cfg,
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Every route with its state attached: `/healthz`, `/v1/sync/info`, the session
    /// routes and the eight routes of each entity. Unknown paths get Go's plain-text
    /// `404 page not found`.
    pub fn router(&self) -> Router {
        let st = self.shared.clone();
        let sessions = Router::new()
            .route("/v1/sync/sessions", post(sessions::open))
            .route(
                "/v1/sync/sessions/{id}",
                get(sessions::get_one).delete(sessions::delete_one),
            )
            .route_layer(from_fn_with_state(st.clone(), gate::session_gate));
        let entities = entities::routes(Router::new())
            .route_layer(from_fn_with_state(st.clone(), gate::entity_gate));
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/v1/sync/info", get(info))
            .merge(sessions)
            .merge(entities)
            .fallback(|| async { auth::plain_error(StatusCode::NOT_FOUND, "404 page not found") })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(from_fn_with_state(st.clone(), gate::front))
            .with_state(st)
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight requests.
    /// Binds nothing itself. Sockets get `TCP_NODELAY` (small answers, no Nagle delay).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = listener.tap_io(|tcp| {
            // Best effort: a socket that refuses NODELAY still works, only slower.
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Binds `addr` (use `127.0.0.1:0` for a free port), serves in a spawned task and
    /// returns a handle. Dropping the handle also stops the server.
    pub async fn spawn(cfg: EmulatorConfig, addr: SocketAddr) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let emulator = Self::new(cfg);
        let (tx, rx) = oneshot::channel::<()>();
        // A dropped sender resolves the receiver too, hence the stop on drop.
        let stop = async move {
            let _ = rx.await;
        };
        let join = tokio::spawn(emulator.clone().serve(listener, stop));
        Ok(EmulatorHandle {
            addr,
            emulator,
            stop: Some(tx),
            join: Some(join),
        })
    }

    /// The request log, oldest first (the last [`LOG_CAPACITY`] requests).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.snapshot()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// How many `POST /v1/sync/sessions` succeeded so far.
    pub fn sessions_opened(&self) -> u64 {
        self.shared.sessions_opened.load(Ordering::Relaxed)
    }

    /// Simulates an API restart: every session is unknown afterwards (`428`); data and
    /// epochs stay.
    pub fn forget_sessions(&self) {
        self.shared.sessions.clear();
    }

    /// Simulates an account wipe of the user whose JWT `sub` is `sub` and returns the new
    /// epoch. Only the epoch changes: the user's data and open sessions stay, so the next
    /// entity request still carrying the old epoch gets `409 epoch_mismatch`.
    pub fn bump_epoch(&self, sub: &str) -> i64 {
        self.shared.users.bump_epoch(sub)
    }

    /// The fault-injection controls.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Requests whose handling was dropped before an answer was produced (the client went
    /// away); each also appears in the log with status 499.
    pub fn aborted_requests(&self) -> u64 {
        self.shared.aborted.load(Ordering::Relaxed)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> u64 {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// The most requests ever handled at once.
    pub fn peak_in_flight(&self) -> u64 {
        self.shared.peak_in_flight.load(Ordering::Relaxed)
    }
}

/// A running emulator started by [`Emulator::spawn`].
pub struct EmulatorHandle {
    /// The bound address (the real port when `:0` was asked).
    pub addr: SocketAddr,
    /// The emulator, for introspection and faults.
    pub emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<std::io::Result<()>>>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut join) = self.join.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut join)
                .await
                .is_err()
        {
            join.abort();
        }
    }
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// `GET /v1/sync/info`: unauthenticated capabilities.
async fn info(State(st): State<Arc<Shared>>) -> Response {
    let entities: serde_json::Map<String, serde_json::Value> = kinds::ENTITIES
        .iter()
        .map(|k| {
            let actions: Vec<&str> = k.actions.iter().map(|a| a.name).collect();
            let caps = json!({
                "enabled": true,
                "defaultLimit": wire::DEFAULT_LIMIT,
                "maxLimit": wire::MAX_LIMIT,
                "actions": actions,
            });
            (k.segment.to_owned(), caps)
        })
        .collect();
    let rate_limit = st
        .cfg
        .rate_limit
        .map(|r| json!({"requestsPerMinute": r.per_minute, "burst": r.burst, "windowSeconds": 60}));
    let body = json!({
        "apiVersion": "1.0",
        "serverTime": wire::rfc3339_ms(now_ms()),
        "entities": entities,
        "limits": {"default": wire::DEFAULT_LIMIT, "max": wire::MAX_LIMIT},
        "recommendedBatch": wire::DEFAULT_LIMIT,
        "rateLimit": rate_limit,
        "locking": {"supported": true, "mode": "session"},
        "hints": {
            "session": "POST /v1/sync/sessions, then send X-Sync-Session and X-Sync-Epoch on entity routes",
            "tenantHeadersRequired": st.auth.tenant_required(),
            "cursor": "opaque; pass nextCursor back unchanged",
            "ordering": "oldest change first",
        },
        "minClientVersion": "0.1.0",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}
