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
//! - Every later request is served by a one-request service with the negotiated client
//!   info (`serve_directly`, the same path rmcp takes for stateless requests), its answer
//!   streamed back as the request's SSE stream. `notifications/cancelled` cancels the
//!   request it names; other notifications need nothing from this server.
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
    RoleServer,
    model::{
        ClientConfig, ClientJsonRpcMessage, ClientNotification, ClientRequest, GetExtensions,
        RequestId, ServerJsonRpcMessage, ServerResult,
    },
    service::{RxJsonRpcMessage, TxJsonRpcMessage, serve_directly_with_ct},
    transport::{
        OneshotTransport, Transport,
        streamable_http_server::session::{
            EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
        },
    },
};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::users::{Reservation, Users};
use crate::mcp::Gateway;

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
}

/// One session, as kept between calls.
struct Session {
    /// The client as negotiated at `initialize` (set once the handshake has answered).
    peer: Mutex<Option<ClientConfig>>,
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
        }
    }

    /// The session `id`, when it exists and has not been idle too long.
    fn get(&self, id: &SessionId) -> Option<Arc<Session>> {
        let session = self.sessions.lock().get(id).cloned()?;
        if session
            .idle_since(Instant::now())
            .is_some_and(|d| d > self.idle)
        {
            self.end(id);
            return None;
        }
        Some(session)
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
            peer: Mutex::new(None),
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
        let mut peer = match &message {
            ClientJsonRpcMessage::Request(req) => match &req.request {
                ClientRequest::InitializeRequest(init) => Some(init.params.clone()),
                _ => None,
            },
            _ => None,
        };
        request_tx
            .send(message)
            .map_err(|_| SessionError::Handshake)?;
        let answer = answer_rx.await.map_err(|_| SessionError::Handshake)?;
        // Later requests see the client as negotiated: the version the answer names.
        if let (Some(p), ServerJsonRpcMessage::Response(resp)) = (&mut peer, &answer)
            && let ServerResult::InitializeResult(result) = &resp.result
        {
            p.protocol_version = result.protocol_version.clone();
        }
        *session.peer.lock() = peer;
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
        let session = self.get(id).ok_or(SessionError::NotFound)?;
        session.touch();
        let request_id = match &message {
            ClientJsonRpcMessage::Request(req) => Some(req.id.clone()),
            _ => None,
        };
        let ct = self.cancel.child_token();
        if let Some(rid) = &request_id {
            session.running.lock().insert(rid.clone(), ct.clone());
        }
        let peer = session.peer.lock().clone();
        let (transport, answers) = OneshotTransport::<RoleServer>::new(message);
        let service = serve_directly_with_ct(self.gateway.clone(), transport, peer, ct);
        tokio::spawn(async move {
            let _ = service.waiting().await;
            if let Some(rid) = request_id {
                session.running.lock().remove(&rid);
            }
            session.touch();
        });
        // A priming event first (an id and the retry interval, no data), as rmcp's own
        // session streams start: clients learn the reconnection delay before anything else.
        let n = self.streams.fetch_add(1, Ordering::Relaxed);
        let priming = ServerSseMessage::priming(format!("0/{n}"), SSE_RETRY);
        let answers = futures::stream::unfold(answers, |mut rx| async move {
            let message = rx.recv().await?;
            Some((ServerSseMessage::from_message(message), rx))
        });
        Ok(futures::stream::once(std::future::ready(priming)).chain(answers))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), SessionError> {
        let session = self.get(id).ok_or(SessionError::NotFound)?;
        session.touch();
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
