//! rmcp's in-memory session manager, with every session's owner written down the moment
//! it is created and forgotten the moment it ends (by DELETE, eviction, idle timeout or
//! shutdown: rmcp calls `close_session` for each).
//!
//! rmcp's `create_session` takes no argument, so the owner travels in a task-local set by
//! the edge ([`opening`]) around the `initialize` request that creates the session: rmcp
//! creates it inside that request's own future. Registering there, and not when the
//! response header is seen, leaves no moment in which the session exists unowned.

use std::{cell::RefCell, future::Future, sync::Arc};

use futures::Stream;
use rmcp::{
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::streamable_http_server::session::{
        EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
        local::{LocalSessionManager, LocalSessionManagerError},
    },
};

use super::users::{Reservation, Users};

tokio::task_local! {
    static OPENING: RefCell<Option<Reservation>>;
}

/// Runs `f` (the handling of an `initialize` request) with the reservation its new session
/// takes over.
pub(crate) async fn opening<F: Future>(reservation: Reservation, f: F) -> F::Output {
    OPENING.scope(RefCell::new(Some(reservation)), f).await
}

/// [`LocalSessionManager`] plus the owners in [`Users`].
pub(crate) struct Sessions {
    inner: LocalSessionManager,
    users: Arc<Users>,
}

impl Sessions {
    pub(crate) fn new(inner: LocalSessionManager, users: Arc<Users>) -> Self {
        Self { inner, users }
    }
}

type Error = LocalSessionManagerError;

impl SessionManager for Sessions {
    type Error = Error;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Error> {
        let (id, transport) = self.inner.create_session().await?;
        let reservation = OPENING.try_with(|r| r.borrow_mut().take()).ok().flatten();
        self.users.opened(&id, reservation);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Error> {
        self.users.closed(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Error> {
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        _id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Error> {
        // Sessions live in this process only: an unknown id is a 404, never a session
        // re-created without an owner.
        Ok(RestoreOutcome::NotSupported)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}
