//! An in-process implementation of the ToolBridge REST API contract
//! (`shared/toolbridge-api.md`), for both API generations ([`Generation`]): the upstream of
//! the gateway's tests, of the benchmark and of `toolbridge-mcp demo`.
//!
//! It is deliberately strict: a bad token, a wrong tenant header, a missing session or a
//! stale epoch fails exactly as the real API fails, in the real API's order, down to
//! plain-text versus JSON bodies. On top of the contract it offers introspection (a request
//! log, counters) and fault injection (`Faults`).
//!
//! Where the contract is silent, the choices are documented on the item that makes them:
//! `faults` (`Faults`) for when faults apply, [`Emulator::bump_epoch`] for an epoch change
//! without a wipe, [`EmulatorConfig::current`] for the membership service it starts with.
//!
//! Layout, leaves first: `config`, `formats` (clock, timestamps, cursors, `If-Match`,
//! bodies), `kinds` (the entity table), `item` and `store` (per-user data and its JSON),
//! `error` (every non-success answer), `ratelimit`, `session_store` (the sync sessions),
//! `tenant_check` (the tenant headers and memberships), `oidc_keys` (the issuer's keys) and
//! `auth` (who calls: [`auth::ApiIdentity`]), `mint`, `faults`, `log`, `serve` (the server
//! loop, which can cut a connection); then `shared` (the state), `api_caller` (the
//! [`api_caller::ApiCaller`] every handler gets), `front` (outermost layer), `gate` (the
//! checks of each route group); then the routes: `info`, `sync_routes`, `bootstrap`,
//! `entities`. No file imports one of a later group, nor this one. The emulator plays the
//! other side of the wire and imports none of the gateway's request types: its `Api…`
//! names keep it from being read as the gateway's `call::Caller`.

mod api_caller;
mod auth;
mod bootstrap;
mod config;
mod entities;
mod error;
mod faults;
mod formats;
mod front;
mod gate;
mod info;
mod item;
mod kinds;
mod log;
pub(crate) mod mint;
mod oidc_keys;
mod ratelimit;
mod serve;
mod session_store;
mod shared;
mod store;
mod sync_routes;
mod tenant_check;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{DEFAULT_TENANT_ID, EmulatorConfig, Generation, Organization, RateLimit};
pub use faults::Fault;
pub(crate) use faults::Faults;
pub use log::RecordedRequest;
pub use mint::{mint_hs256, mint_hs256_with};

use shared::Shared;

/// Largest accepted request body; a larger one is answered `413`.
pub(crate) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long [`EmulatorHandle::shutdown`] waits for the server loop (which gives in-flight
/// requests 5 s) before aborting it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(6);

/// One emulated API: cheap to clone (an `Arc`), all introspection through `&self`.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

impl Emulator {
    /// A fresh API with no users, no data and no sessions.
    pub(crate) fn new(cfg: EmulatorConfig) -> Self {
        Self {
            shared: Arc::new(Shared::new(cfg)),
        }
    }

    /// Every route of the configured generation with its state attached. Routes of the
    /// other generation, unknown paths and trailing slashes get Go's plain-text
    /// `404 page not found`; a wrong method on a known path is `405`, before any check.
    pub(crate) fn router(&self) -> Router {
        let st = self.shared.clone();
        let current = st.cfg.generation == Generation::Current;
        let sessions_gate = from_fn_with_state(st.clone(), gate::session_gate);
        let account_gate = from_fn_with_state(st.clone(), gate::account_gate);
        let entity_gate = from_fn_with_state(st.clone(), gate::entity_gate);
        let mut router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/v1/sync/info", get(info::info))
            .route(
                "/v1/sync/sessions",
                post(sync_routes::open).route_layer(sessions_gate.clone()),
            )
            .route(
                "/v1/sync/sessions/{id}",
                get(sync_routes::get_one)
                    .delete(sync_routes::delete_one)
                    .route_layer(sessions_gate.clone()),
            )
            .route(
                "/v1/sync/wipe",
                post(sync_routes::wipe).route_layer(account_gate.clone()),
            )
            .route(
                "/v1/sync/state",
                get(sync_routes::state).route_layer(account_gate),
            );
        if current {
            router = router
                .route(
                    "/v1/auth/tenant",
                    get(bootstrap::resolve).route_layer(sessions_gate.clone()),
                )
                .route(
                    "/auth/token-exchange",
                    post(bootstrap::exchange).route_layer(sessions_gate),
                );
        }
        for (path, methods) in entities::routes(st.cfg.generation) {
            router = router.route(&path, methods.route_layer(entity_gate.clone()));
        }
        router
            .fallback(|| async { error::plain_error(StatusCode::NOT_FOUND, "404 page not found") })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(from_fn_with_state(st.clone(), front::front))
            .with_state(st)
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight requests.
    /// Binds nothing itself. Sockets get `TCP_NODELAY` (small answers, no Nagle delay).
    pub(crate) async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve::serve(self.router(), listener, shutdown, CancellationToken::new()).await
    }

    /// Binds `addr` (use `127.0.0.1:0` for a free port), serves in a spawned task and
    /// returns a handle. Dropping the handle also stops the server.
    pub async fn spawn(cfg: EmulatorConfig, addr: SocketAddr) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let emulator = Self::new(cfg);
        let life = Life::start(&emulator, listener);
        Ok(EmulatorHandle {
            addr,
            emulator,
            life: tokio::sync::Mutex::new(life),
            restarts: AtomicU64::new(0),
        })
    }

    /// The generation this emulator plays.
    pub fn generation(&self) -> Generation {
        self.shared.cfg.generation
    }

    /// The request log, oldest first (the last `LOG_CAPACITY` requests).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.snapshot()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// How many `POST /v1/sync/sessions` succeeded so far.
    pub fn sessions_opened(&self) -> u64 {
        self.shared.counters.sessions_opened.load(Ordering::Relaxed)
    }

    /// How many sessions of the user `sub` are live now (not ended, not expired).
    pub fn open_sessions(&self, sub: &str) -> usize {
        self.shared.sessions.live_of(sub, formats::now_ms())
    }

    /// How many `POST /auth/token-exchange` succeeded so far.
    pub fn token_exchanges(&self) -> u64 {
        self.shared.counters.token_exchanges.load(Ordering::Relaxed)
    }

    /// How many `GET /v1/auth/tenant` succeeded so far.
    pub fn tenant_lookups(&self) -> u64 {
        self.shared.counters.tenant_lookups.load(Ordering::Relaxed)
    }

    /// Simulates an API restart: every session is unknown afterwards (`428`); data and
    /// epochs stay.
    pub fn forget_sessions(&self) {
        self.shared.sessions.clear();
    }

    /// What `POST /v1/sync/wipe` does for the user `sub`: every row of that user is
    /// hard-deleted, the epoch raised and all the user's sessions ended (the next request
    /// on one gets `428`). Returns the new epoch.
    pub fn wipe(&self, sub: &str) -> i64 {
        self.shared.wipe(sub).0
    }

    /// Fault injection, not an API operation: raises the epoch of the user `sub` and
    /// returns it, changing nothing else. Data and open sessions stay, so the next entity
    /// request still carrying the old epoch gets `409 epoch_mismatch` (a real wipe ends the
    /// sessions instead: see [`Emulator::wipe`]).
    pub fn bump_epoch(&self, sub: &str) -> i64 {
        self.shared.users.bump_epoch(sub)
    }

    /// current: replaces the organizations of the user `sub` in the membership table
    /// (configuring the membership service if the emulator started without one).
    /// Allowances already granted stay valid for their 5 minutes, as on the API.
    pub fn set_memberships(&self, sub: &str, orgs: Vec<Organization>) {
        self.shared.tenancy.set_memberships(sub, orgs);
    }

    /// The stored item of user `sub` at `/v1/{segment}/{uid}` as `GET ...?includeDeleted=true`
    /// would answer it; `None` when the entity (in this generation), the uid or the item
    /// does not exist.
    pub fn item(&self, sub: &str, segment: &str, uid: &str) -> Option<serde_json::Value> {
        let kind = kinds::by_segment(segment).filter(|k| k.gens.has(self.generation()))?;
        let uid = uuid::Uuid::parse_str(uid).ok()?;
        let user = self.shared.users.get(sub)?;
        let data = user.lock();
        let item = data.get(kind, &uid)?;
        let shape = item::Shape::of(kind, self.generation());
        serde_json::to_value(item::ItemJson(item, shape)).ok()
    }

    /// Every stored item of user `sub` at `/v1/{segment}`, deleted ones too, oldest change
    /// first, each as [`Emulator::item`] gives it (for checks of what the API holds).
    pub fn items(&self, sub: &str, segment: &str) -> Vec<serde_json::Value> {
        let Some(kind) = kinds::by_segment(segment).filter(|k| k.gens.has(self.generation()))
        else {
            return Vec::new();
        };
        let Some(user) = self.shared.users.get(sub) else {
            return Vec::new();
        };
        let data = user.lock();
        let shape = item::Shape::of(kind, self.generation());
        data.list(kind, None, usize::MAX, true)
            .into_iter()
            .filter_map(|item| serde_json::to_value(item::ItemJson(item, shape)).ok())
            .collect()
    }

    /// The fault-injection controls.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Requests whose handling was dropped before an answer was produced (the client went
    /// away); each also appears in the log with status 499.
    pub fn aborted_requests(&self) -> u64 {
        self.shared.counters.aborted.load(Ordering::Relaxed)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> u64 {
        self.shared.counters.in_flight.load(Ordering::Relaxed)
    }

    /// The most requests ever handled at once.
    pub fn peak_in_flight(&self) -> u64 {
        self.shared.counters.peak_in_flight.load(Ordering::Relaxed)
    }
}

/// One life of a spawned server: from a bind to a stop or a restart.
struct Life {
    stop: Option<oneshot::Sender<()>>,
    /// Cancelled by a restart: every connection of this life is dropped at once.
    kill: CancellationToken,
    join: Option<JoinHandle<std::io::Result<()>>>,
}

impl Life {
    fn start(emulator: &Emulator, listener: TcpListener) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        // A dropped sender resolves the receiver too, hence the stop on drop.
        let stop = async move {
            let _ = rx.await;
        };
        let kill = CancellationToken::new();
        let join = tokio::spawn(serve::serve(
            emulator.router(),
            listener,
            stop,
            kill.clone(),
        ));
        Self {
            stop: Some(tx),
            kill,
            join: Some(join),
        }
    }
}

/// A running emulator started by [`Emulator::spawn`].
pub struct EmulatorHandle {
    /// The bound address (the real port when `:0` was asked).
    pub addr: SocketAddr,
    /// The emulator, for introspection and faults.
    pub emulator: Emulator,
    life: tokio::sync::Mutex<Life>,
    restarts: AtomicU64,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Plays an API restart (a crash and a start, like `kill -9` under a supervisor):
    /// every connection is dropped at once, whatever its request was doing (a request
    /// whose change was already stored stays stored, one that was not never is); nothing
    /// listens for `down` (connections are refused); every sync session is forgotten
    /// (contract §3: they live in process memory), and so are the in-memory rate limits.
    /// The data, the users and their epochs stay, as the real API's stay in PostgreSQL.
    pub async fn restart(&self, down: Duration) -> std::io::Result<()> {
        let mut life = self.life.lock().await;
        life.kill.cancel();
        if let Some(join) = life.join.take() {
            // The loop returns as soon as it sees the cancellation; its listener goes with it.
            let _ = join.await;
        }
        self.emulator.shared.restarted();
        tokio::time::sleep(down).await;
        // The port was ours a moment ago; a bind can still race the old socket's close.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(error = %e, "emulator rebind failed; trying again");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        *life = Life::start(&self.emulator, listener);
        self.restarts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many restarts [`EmulatorHandle::restart`] played.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then returns.
    pub async fn shutdown(self) {
        let mut life = self.life.into_inner();
        if let Some(tx) = life.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut join) = life.join.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut join)
                .await
                .is_err()
        {
            life.kill.cancel();
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
