//! The MCP session manager (rmcp's [`SessionManager`]): what a stateful session holds
//! between calls is what was negotiated at `initialize`, nothing more.
//!
//! rmcp's own `LocalSessionManager` keeps a session worker, a service loop and seven tokio
//! channels alive for every session; tokio allocates each channel's first block of 32
//! message slots up front, so an idle session held about 52 KiB (2,000 idle sessions: 104
//! MiB). Here a session is its negotiated client info plus a few small handles:
//!
//! - `initialize` runs through rmcp's own handshake (`serve_server`, spawned by rmcp on the
//!   transport [`create_session`] returns), so version negotiation is rmcp's; the
//!   [`Handshake`] transport hands it the one `initialize` request, takes its answer, and
//!   then ends, so the service loop ends with it. Its worker then calls `close_session`,
//!   which this manager expects once and ignores.
//! - Every later request goes straight to the gateway's handler (rmcp's
//!   `Service::handle_request`, the dispatch rmcp's own service loop calls), in a task of its
//!   own, and its answer is streamed back as the request's SSE stream. Not a one-request
//!   service loop per request (`serve_directly`, rmcp's stateless path, which this manager
//!   used before): that built a peer with a 1,024-slot channel, spawned the loop and the
//!   handler as two tasks and moved both large futures each time, about 85,000 instructions
//!   of a 550,000-instruction tool call (callgrind, BENCHMARKS.md). The handler's context
//!   needs a [`Peer`], which only a service loop makes: one loop, started on first use and
//!   ended at shutdown, lends its peer to every request ([`OutOfBand`]). That peer knows no
//!   client info, so the negotiated version travels as [`NegotiatedVersion`]: with no
//!   `_meta` version a request is dispatched as the pre-2026-07-28 request it is, as with
//!   the session's own peer. Nothing here sends the client anything outside an answer
//!   (no progress, no server-to-client requests); what a handler would send is dropped with
//!   a warning. `notifications/cancelled` cancels the request it names; other notifications
//!   need nothing from this server.
//! - The `GET` stream stays open, with nothing to say (this server sends no requests or
//!   notifications of its own), until the session ends.
//!
//! Owners: rmcp's `create_session` takes no argument, so a session is written down there
//! without an owner in [`Users`] (nobody may use it), and gets its owner in
//! `initialize_session`, which receives the `initialize` request with its HTTP `Parts`: the
//! edge put the user's [`Opening`] (their reserved place) into them. No moment exists in
//! which a session is usable by someone other than its owner. A session idle for longer
//! than `TOOLBRIDGE_SESSION_IDLE_TIMEOUT_SECONDS` is gone: the next look at it, or the next
//! sweep (at most one per tenth of that time, when a session is created), closes it.
//!
//! [`create_session`]: SessionManager::create_session

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use parking_lot::Mutex;
use rmcp::{
    RoleServer, Service,
    model::{
        ClientJsonRpcMessage, ClientNotification, ClientRequest, Extensions, GetExtensions,
        GetMeta, JsonRpcRequest, ProtocolVersion, RequestId, RequestMetaObject,
        ServerJsonRpcMessage, ServerResult,
    },
    service::{
        Peer, RequestContext, RunningService, RxJsonRpcMessage, TxJsonRpcMessage,
        serve_directly_with_ct,
    },
    transport::{
        Transport,
        streamable_http_server::session::{
            EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
        },
    },
};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::users::{Reservation, Users};
use crate::{call::NegotiatedVersion, mcp::Gateway};

/// The log target of rmcp's service loop, whose request and answer lines the direct
/// dispatch writes in its place.
const RMCP_LOOP: &str = "rmcp::service";

/// The SSE retry interval a request stream announces (rmcp's default).
const SSE_RETRY: Duration = Duration::from_secs(3);

/// The place an `initialize` request reserved for the session it opens, in that request's
/// extensions (which must be `Clone`: the reservation is taken out once).
#[derive(Clone)]
pub(crate) struct Opening(Arc<Mutex<Option<Reservation>>>);

impl Opening {
    pub(crate) fn new(reservation: Reservation) -> Self {
        Self(Arc::new(Mutex::new(Some(reservation))))
    }

    /// The reservation `message` (an `initialize` request) carries, if any.
    fn take(message: &ClientJsonRpcMessage) -> Option<Reservation> {
        let ClientJsonRpcMessage::Request(req) = message else {
            return None;
        };
        let parts = req.request.extensions().get::<http::request::Parts>()?;
        parts.extensions.get::<Opening>()?.0.lock().take()
    }
}

/// Why the manager could not do what rmcp asked (rmcp answers 500 or 404 with it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("no such session")]
    NotFound,
    #[error("the session's initialize handshake did not answer")]
    Handshake,
    #[error("resuming a stream is not supported: calls are cancelled when their client leaves")]
    NoResume,
    #[error("only a request opens a stream")]
    NotARequest,
}

/// One session, as kept between calls.
pub(super) struct Session {
    /// The protocol version negotiated at `initialize` (set once the handshake has
    /// answered): all that later requests need of the handshake (see the module docs).
    version: Mutex<Option<ProtocolVersion>>,
    /// The handshake's other ends, until `initialize_session` uses them.
    handshake: Mutex<
        Option<(
            oneshot::Sender<ClientJsonRpcMessage>,
            oneshot::Receiver<ServerJsonRpcMessage>,
        )>,
    >,
    /// Requests in progress, by id, for `notifications/cancelled`.
    running: Mutex<HashMap<RequestId, CancellationToken>>,
    /// Ends the session's `GET` stream when dropped (with the session).
    stream_end: Mutex<Option<oneshot::Sender<()>>>,
    last_used: Mutex<Instant>,
    /// Set when the handshake's service loop ends: its worker's `close_session` follows.
    worker_exit: AtomicBool,
}

impl Session {
    /// The version this session negotiated, once it has.
    fn version(&self) -> Option<ProtocolVersion> {
        self.version.lock().clone()
    }

    fn touch(&self) {
        *self.last_used.lock() = Instant::now();
    }

    fn idle_since(&self, now: Instant) -> Option<Duration> {
        if !self.running.lock().is_empty() {
            return None;
        }
        Some(now.saturating_duration_since(*self.last_used.lock()))
    }
}

/// The sessions of one gateway, and the owners in [`Users`].
pub(crate) struct Sessions {
    sessions: Mutex<HashMap<SessionId, Arc<Session>>>,
    users: Arc<Users>,
    gateway: Gateway,
    /// Cancelled at shutdown: every request being served ends.
    cancel: CancellationToken,
    idle: Duration,
    next_sweep: Mutex<Instant>,
    /// Request streams opened, for their priming events' ids.
    streams: AtomicU64,
    /// The loop whose peer every request's handler context gets (see the module docs).
    out_of_band: std::sync::OnceLock<OutOfBandLoop>,
}

/// The service loop behind the peer lent to session requests, kept for as long as the
/// sessions (dropping a `RunningService` ends its loop).
struct OutOfBandLoop {
    peer: Peer<RoleServer>,
    _service: Mutex<RunningService<RoleServer, Gateway>>,
}

/// The transport of that loop: nothing ever comes in, and a message a handler sends the
/// client outside its answer (a notification or a request; this gateway sends neither) is
/// dropped with a warning rather than delivered late or never answered.
struct OutOfBand;

impl Transport<RoleServer> for OutOfBand {
    type Error = SessionError;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send + 'static {
        let kind = match &item {
            ServerJsonRpcMessage::Notification(_) => "notification",
            ServerJsonRpcMessage::Request(_) => "request",
            _ => "answer",
        };
        tracing::warn!(
            kind,
            "a handler sent a session client a message outside its answer: dropped"
        );
        std::future::ready(Ok(()))
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        std::future::pending().await
    }

    async fn close(&mut self) -> Result<(), SessionError> {
        Ok(())
    }
}

impl Sessions {
    pub(crate) fn new(
        users: Arc<Users>,
        gateway: Gateway,
        cancel: CancellationToken,
        idle: Duration,
    ) -> Self {
        Self {
            sessions: Mutex::default(),
            users,
            gateway,
            cancel,
            idle,
            next_sweep: Mutex::new(Instant::now()),
            streams: AtomicU64::new(0),
            out_of_band: std::sync::OnceLock::new(),
        }
    }

    /// The peer for a request's handler context (the loop starts on first use: it needs
    /// the runtime, which building the sessions does not).
    fn peer(&self) -> Peer<RoleServer> {
        self.out_of_band
            .get_or_init(|| {
                // rmcp's loop runs inside the span current when it starts (its tasks are
                // instrumented with `Span::current()`), for as long as it lives: started with
                // no subscriber there is no current span, so it is not the first request's
                // (which would then never end, and never be exported). A root debug span did
                // not do it: disabled at the default level, it left the request's current.
                let service = tracing::subscriber::with_default(
                    tracing::subscriber::NoSubscriber::default(),
                    || {
                        serve_directly_with_ct(
                            self.gateway.clone(),
                            OutOfBand,
                            None,
                            self.cancel.child_token(),
                        )
                    },
                );
                OutOfBandLoop {
                    peer: service.peer().clone(),
                    _service: Mutex::new(service),
                }
            })
            .peer
            .clone()
    }

    /// The session `id`, when it exists and has not been idle too long. Looked up by the
    /// text of the id, as the edge read it from the header (no id is built to ask).
    pub(super) fn get(&self, id: &str) -> Option<Arc<Session>> {
        let session = self.sessions.lock().get(id).cloned()?;
        if session
            .idle_since(Instant::now())
            .is_some_and(|d| d > self.idle)
        {
            self.end(&SessionId::from(id));
            return None;
        }
        Some(session)
    }

    /// Cancelled at shutdown: what a request's stream ends with (only waited on, so the
    /// token itself, not a child of its own).
    pub(super) fn shutdown(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Request `request_id` of `session`: its answer stream (a priming event, then the
    /// answer), the handler running in a task of its own. `meta` and `extensions` are the
    /// request's, taken out of it as rmcp's service loop does.
    pub(super) fn call(
        &self,
        session: Arc<Session>,
        request_id: RequestId,
        request: ClientRequest,
        meta: RequestMetaObject,
        mut extensions: Extensions,
    ) -> impl Stream<Item = ServerSseMessage> + Send + Sync + 'static {
        session.touch();
        let ct = self.cancel.child_token();
        session
            .running
            .lock()
            .insert(request_id.clone(), ct.clone());
        if let Some(version) = session.version() {
            extensions.insert(NegotiatedVersion(version));
        }
        let answered = self.spawn(request_id, request, meta, extensions, ct, Some(session));
        // A priming event first (an id and the retry interval, no data), as rmcp's own
        // session streams start: clients learn the reconnection delay before anything else.
        let n = self.streams.fetch_add(1, Ordering::Relaxed);
        let priming = ServerSseMessage::priming(format!("0/{n}"), SSE_RETRY);
        let answer = futures::stream::once(answered)
            .filter_map(|a| std::future::ready(a.ok().map(ServerSseMessage::from_message)));
        futures::stream::once(std::future::ready(priming)).chain(answer)
    }

    /// A 2026-07-28 request, which belongs to no session: its answer, from the handler
    /// running in a task of its own, cancelled if this future is dropped first (the client
    /// left) or at shutdown.
    pub(super) async fn run(
        &self,
        request_id: RequestId,
        request: ClientRequest,
        meta: RequestMetaObject,
        extensions: Extensions,
    ) -> ServerJsonRpcMessage {
        let ct = self.cancel.child_token();
        let left = ct.clone().drop_guard();
        let answer = self.spawn(request_id.clone(), request, meta, extensions, ct, None);
        let answer = answer.await;
        left.disarm();
        answer.unwrap_or_else(|_| {
            ServerJsonRpcMessage::error(
                rmcp::ErrorData::internal_error("the call ended without an answer", None),
                Some(request_id),
            )
        })
    }

    /// Runs the handler on one request in a task of its own, as rmcp's loop does (a client
    /// that leaves does not drop the call halfway: it is cancelled through `ct`, and ends
    /// in order); the receiver gets its answer. The request's `session`, if any, is told
    /// when it ends, whether or not anyone still reads the answer.
    fn spawn(
        &self,
        request_id: RequestId,
        request: ClientRequest,
        meta: RequestMetaObject,
        extensions: Extensions,
        ct: CancellationToken,
        session: Option<Arc<Session>>,
    ) -> oneshot::Receiver<ServerJsonRpcMessage> {
        // rmcp's loop logs each request and answer whole at debug, under its own target;
        // so does this dispatch, so naming rmcp in the filter (`RUST_LOG=...,rmcp=debug`)
        // still shows them, and nothing else does (`telemetry`).
        tracing::debug!(target: RMCP_LOOP, %request_id, ?request, "received request");
        let mut ctx = RequestContext::new(request_id.clone(), self.peer());
        ctx.ct = ct;
        ctx.meta = meta;
        ctx.extensions = extensions;
        let (answer_tx, answer_rx) = oneshot::channel();
        let gateway = self.gateway.clone();
        // Boxed: the handler's future is several KiB (every tool's path inline), and tokio
        // copies a task's future into its cell and its stage over on completion; a box is
        // copied once and the task moves a pointer.
        tokio::spawn(Box::pin(async move {
            let answer = match gateway.handle_request(request, ctx).await {
                Ok(result) => {
                    tracing::debug!(target: RMCP_LOOP, id = %request_id, ?result, "response message");
                    ServerJsonRpcMessage::response(result, request_id.clone())
                }
                Err(error) => {
                    tracing::warn!(target: RMCP_LOOP, id = %request_id, ?error, "response error");
                    ServerJsonRpcMessage::error(error, Some(request_id.clone()))
                }
            };
            let _ = answer_tx.send(answer);
            if let Some(session) = session {
                session.running.lock().remove(&request_id);
                session.touch();
            }
        }));
        answer_rx
    }

    /// Forgets session `id`: its `GET` stream and running requests end.
    fn end(&self, id: &SessionId) {
        let Some(session) = self.sessions.lock().remove(id) else {
            return;
        };
        self.users.closed(id);
        session.stream_end.lock().take();
        for (_, ct) in session.running.lock().drain() {
            ct.cancel();
        }
        tracing::debug!("MCP session closed");
    }

    /// Closes the sessions idle for too long, at most once per tenth of the idle time.
    fn sweep(&self) {
        let now = Instant::now();
        {
            let mut next = self.next_sweep.lock();
            if now < *next {
                return;
            }
            *next = now + self.idle / 10;
        }
        let expired: Vec<SessionId> = self
            .sessions
            .lock()
            .iter()
            .filter(|(_, s)| s.idle_since(now).is_some_and(|d| d > self.idle))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.end(&id);
        }
    }
}

/// The transport rmcp's handshake runs on: the `initialize` request in, its answer out,
/// then the end (so the service loop ends as soon as the handshake is done).
pub(crate) struct Handshake {
    request: Option<oneshot::Receiver<ClientJsonRpcMessage>>,
    answer: Option<oneshot::Sender<ServerJsonRpcMessage>>,
    session: Arc<Session>,
}

impl Transport<RoleServer> for Handshake {
    type Error = SessionError;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send + 'static {
        // Only the answer to `initialize` (or to a ping before it) is ever sent here.
        let sent = match self.answer.take() {
            Some(tx) => tx.send(item).map_err(|_| SessionError::Handshake),
            None => Ok(()),
        };
        std::future::ready(sent)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        if let Some(rx) = self.request.take()
            && let Ok(message) = rx.await
        {
            return Some(message);
        }
        self.session.worker_exit.store(true, Ordering::SeqCst);
        None
    }

    async fn close(&mut self) -> Result<(), SessionError> {
        Ok(())
    }
}

impl SessionManager for Sessions {
    type Error = SessionError;
    type Transport = Handshake;

    async fn create_session(&self) -> Result<(SessionId, Handshake), SessionError> {
        self.sweep();
        let id: SessionId = uuid::Uuid::new_v4().to_string().into();
        let (request_tx, request_rx) = oneshot::channel();
        let (answer_tx, answer_rx) = oneshot::channel();
        let session = Arc::new(Session {
            version: Mutex::new(None),
            handshake: Mutex::new(Some((request_tx, answer_rx))),
            running: Mutex::default(),
            stream_end: Mutex::new(None),
            last_used: Mutex::new(Instant::now()),
            worker_exit: AtomicBool::new(false),
        });
        self.users.created(&id);
        self.sessions.lock().insert(id.clone(), session.clone());
        let transport = Handshake {
            request: Some(request_rx),
            answer: Some(answer_tx),
            session,
        };
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, SessionError> {
        self.users.opened(id, Opening::take(&message));
        let session = self.get(id).ok_or(SessionError::NotFound)?;
        let (request_tx, answer_rx) = session
            .handshake
            .lock()
            .take()
            .ok_or(SessionError::Handshake)?;
        let mut version = match &message {
            ClientJsonRpcMessage::Request(req) => match &req.request {
                ClientRequest::InitializeRequest(init) => {
                    Some(init.params.protocol_version.clone())
                }
                _ => None,
            },
            _ => None,
        };
        request_tx
            .send(message)
            .map_err(|_| SessionError::Handshake)?;
        let answer = answer_rx.await.map_err(|_| SessionError::Handshake)?;
        // Later requests see the version as negotiated: the one the answer names.
        if let (Some(v), ServerJsonRpcMessage::Response(resp)) = (&mut version, &answer)
            && let ServerResult::InitializeResult(result) = &resp.result
        {
            *v = result.protocol_version.clone();
        }
        *session.version.lock() = version;
        session.touch();
        Ok(answer)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, SessionError> {
        Ok(self.get(id).is_some())
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), SessionError> {
        // The handshake's worker closes its session when its (deliberately short) service
        // loop ends: that once, the session lives on.
        if let Some(session) = self.sessions.lock().get(id)
            && session.worker_exit.swap(false, Ordering::SeqCst)
        {
            return Ok(());
        }
        self.end(id);
        Ok(())
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError> {
        let ClientJsonRpcMessage::Request(JsonRpcRequest {
            id: request_id,
            mut request,
            ..
        }) = message
        else {
            return Err(SessionError::NotARequest);
        };
        let session = self.get(id).ok_or(SessionError::NotFound)?;
        // What rmcp's service loop does with a request: its `_meta` and extensions become
        // the handler's context.
        let meta = std::mem::replace(request.get_meta_mut(), RequestMetaObject::new());
        let extensions = std::mem::take(request.extensions_mut());
        Ok(self.call(session, request_id, request, meta, extensions))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), SessionError> {
        let session = self.get(id).ok_or(SessionError::NotFound)?;
        session.touch();
        // Its MCP span (traces on only), held while it is handled.
        let _span = match &message {
            ClientJsonRpcMessage::Notification(n) => {
                crate::mcp::spans::session_notification(&n.notification, session.version())
            }
            _ => tracing::Span::none(),
        };
        if let ClientJsonRpcMessage::Notification(n) = &message
            && let ClientNotification::CancelledNotification(c) = &n.notification
            && let Some(rid) = &c.params.request_id
            && let Some(ct) = session.running.lock().get(rid)
        {
            ct.cancel();
        }
        Ok(())
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError> {
        let session = self.get(id).ok_or(SessionError::NotFound)?;
        let (end_tx, end_rx) = oneshot::channel::<()>();
        // A second GET stream replaces the first, which ends.
        *session.stream_end.lock() = Some(end_tx);
        Ok(futures::stream::once(end_rx)
            .filter_map(|_| std::future::ready(None::<ServerSseMessage>)))
    }

    async fn resume(
        &self,
        _id: &SessionId,
        _last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError> {
        Err::<futures::stream::Empty<ServerSseMessage>, _>(SessionError::NoResume)
    }

    async fn restore_session(
        &self,
        _id: SessionId,
    ) -> Result<RestoreOutcome<Handshake>, SessionError> {
        // Sessions live in this process only: an unknown id is a 404, never a session
        // re-created without an owner.
        Ok(RestoreOutcome::NotSupported)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        None
    }
}
