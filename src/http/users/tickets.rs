//! What a request holds of its user's share, each given back when dropped.

use std::{sync::Arc, time::Instant};

use rmcp::{model::RequestId, transport::streamable_http_server::session::SessionId};
use tokio::sync::OwnedSemaphorePermit;

use super::{Duplicate, Users};
use crate::call::UserKey;

/// One request of a user; gives its place back when dropped.
pub(crate) struct Ticket {
    pub(super) users: Arc<Users>,
    pub(super) user: UserKey,
    /// The user's place, once they have one (dropped after the count is given back).
    pub(super) _place: Option<OwnedSemaphorePermit>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut st = self.users.state.lock();
        if let Some(u) = st.users.get_mut(&self.user) {
            u.in_flight -= 1;
        }
        Users::forget_if_idle(
            &mut st.users,
            self.user,
            self.users.limits.rate,
            Instant::now(),
        );
    }
}

/// A request inside a session: the session counts as busy until this is dropped.
pub(crate) struct InSession {
    pub(super) users: Arc<Users>,
    pub(super) sid: SessionId,
}

impl InSession {
    /// Marks `id` as in flight in this session until the returned guard is dropped.
    pub(crate) fn claim(&self, id: &RequestId) -> Result<IdInFlight, Duplicate> {
        let mut st = self.users.state.lock();
        // The session may have ended meanwhile: then rmcp answers, not this check.
        if let Some(s) = st.sessions.get_mut(&self.sid)
            && !s.ids.insert(id.clone())
        {
            return Err(Duplicate);
        }
        Ok(IdInFlight {
            users: self.users.clone(),
            sid: self.sid.clone(),
            id: id.clone(),
        })
    }
}

impl Drop for InSession {
    fn drop(&mut self) {
        if let Some(s) = self.users.state.lock().sessions.get_mut(&self.sid) {
            s.busy -= 1;
            s.last_used = Instant::now();
        }
    }
}

/// A JSON-RPC id in flight in a session.
pub(crate) struct IdInFlight {
    pub(super) users: Arc<Users>,
    pub(super) sid: SessionId,
    pub(super) id: RequestId,
}

impl Drop for IdInFlight {
    fn drop(&mut self) {
        if let Some(s) = self.users.state.lock().sessions.get_mut(&self.sid) {
            s.ids.remove(&self.id);
        }
    }
}

/// A place for a session being opened.
pub(crate) struct Reservation {
    pub(super) users: Arc<Users>,
    pub(super) user: UserKey,
    pub(super) armed: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut st = self.users.state.lock();
        st.opening -= 1;
        if let Some(u) = st.users.get_mut(&self.user) {
            u.opening -= 1;
        }
        Users::forget_if_idle(
            &mut st.users,
            self.user,
            self.users.limits.rate,
            Instant::now(),
        );
    }
}
