//! Per-user shares of the gateway, so one token cannot take it away from the others.
//!
//! A user is the token's `sub`, known here only as the [`UserKey`] the token check put into
//! the request's caller, a keyed hash (so logs can tell users apart without naming them;
//! requests without a token share [`UserKey::ANONYMOUS`]). Each user has, at most:
//!
//! - `TOOLBRIDGE_MAX_REQUESTS_PER_USER` MCP POSTs in progress, counted from the first byte
//!   of the body to the last byte of the answer (a slow sender spends its own share); more
//!   wait for one of that user's own requests to finish (up to the request timeout);
//! - `TOOLBRIDGE_USER_REQUESTS_PER_SECOND` requests a second, when set (a token bucket one
//!   second deep);
//! - `TOOLBRIDGE_MAX_SESSIONS_PER_USER` MCP sessions: a new one closes that user's oldest
//!   idle session first, and is refused only when every one of them is busy.
//!
//! Every session also remembers its owner (another user's request on it gets the same 404
//! as an unknown session) and the JSON-RPC ids in flight in it (a second request with one
//! of them is refused instead of hanging; see `fair`). Past a limit a user gets 429 with
//! `Retry-After`; nobody else ever waits behind them.
//!
//! The state is bounded: a session entry lives as long as the session (itself capped), a
//! user entry as long as it has a session or a request, or a rate-limit bucket that has not
//! refilled yet; past [`SWEEP_AT`] users the idle ones are dropped.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use rmcp::{model::RequestId, transport::streamable_http_server::session::SessionId};
use tokio::sync::Semaphore;

use crate::{call::UserKey, config::Config};

/// User entries kept before idle ones are swept out.
pub(crate) const SWEEP_AT: usize = 4096;

/// Why a user's request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited {
    /// Over the request rate; retry after this many seconds.
    Rate(u64),
    /// At the limit of requests in progress.
    InFlight(usize),
    /// At the limit of sessions, all of them busy.
    Sessions(usize),
    /// The gateway-wide session cap.
    Full,
}

/// A request on a session the user does not own (or that does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotFound;

/// A request id already in flight in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duplicate;

#[derive(Debug, Clone, Copy)]
struct Limits {
    requests: usize,
    sessions: usize,
    max_sessions: usize,
    rate: Option<f64>,
}

struct User {
    /// Places for requests in progress (`TOOLBRIDGE_MAX_REQUESTS_PER_USER`).
    slots: Arc<Semaphore>,
    /// Requests holding a place or waiting for one.
    in_flight: usize,
    sessions: Vec<SessionId>,
    opening: usize,
    /// Rate-limit tokens, and when they were last topped up.
    tokens: f64,
    topped: Option<Instant>,
}

impl User {
    fn new(places: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(places)),
            in_flight: 0,
            sessions: Vec::new(),
            opening: 0,
            tokens: 0.0,
            topped: None,
        }
    }
}

struct Session {
    owner: Option<UserKey>,
    busy: usize,
    last_used: Instant,
    ids: HashSet<RequestId>,
}

#[derive(Default)]
struct State {
    users: HashMap<UserKey, User>,
    sessions: HashMap<SessionId, Session>,
    opening: usize,
    swept_at: usize,
}

/// The per-user state of one gateway. Shared as `Arc<Users>`.
pub(crate) struct Users {
    state: Mutex<State>,
    limits: Limits,
}

impl Users {
    /// Limits from the config.
    pub(crate) fn new(cfg: &Config) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            limits: Limits {
                requests: cfg.max_requests_per_user,
                sessions: cfg.max_sessions_per_user,
                max_sessions: cfg.max_sessions,
                rate: (cfg.user_requests_per_second > 0.0).then_some(cfg.user_requests_per_second),
            },
        })
    }

    /// Spends one request of the user's rate (any method), when a rate is configured.
    pub(crate) fn spend(&self, user: UserKey) -> Result<(), Limited> {
        let Some(rate) = self.limits.rate else {
            return Ok(());
        };
        let now = Instant::now();
        let mut st = self.state.lock();
        let u = self.user(&mut st, user, now);
        let burst = rate.max(1.0);
        let elapsed = u
            .topped
            .map_or(burst, |t| now.duration_since(t).as_secs_f64());
        u.tokens = (u.tokens + elapsed * rate).min(burst);
        u.topped = Some(now);
        if u.tokens < 1.0 {
            return Err(Limited::Rate(((1.0 - u.tokens) / rate).ceil() as u64));
        }
        u.tokens -= 1.0;
        Ok(())
    }

    /// Takes one of the user's places for requests in progress (POSTs), waiting up to
    /// `wait` for one of their own requests to finish. The place is given back when the
    /// ticket is dropped. Only this user's requests wait here.
    pub(crate) async fn begin(
        self: &Arc<Self>,
        user: UserKey,
        wait: Duration,
    ) -> Result<Ticket, Limited> {
        let slots = {
            let mut st = self.state.lock();
            let u = self.user(&mut st, user, Instant::now());
            u.in_flight += 1;
            u.slots.clone()
        };
        // From here on the ticket gives the count back, even if this future is dropped.
        let mut ticket = Ticket {
            users: self.clone(),
            user,
            _place: None,
        };
        let place = match slots.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => tokio::time::timeout(wait, slots.acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
        };
        match place {
            Some(p) => {
                ticket._place = Some(p);
                Ok(ticket)
            }
            None => Err(Limited::InFlight(self.limits.requests)),
        }
    }

    /// The entry of `user`, made (after a sweep, if the map is full) when missing.
    fn user<'a>(&self, st: &'a mut State, user: UserKey, now: Instant) -> &'a mut User {
        if !st.users.contains_key(&user) {
            self.sweep(st, now);
        }
        let places = self.limits.requests;
        st.users.entry(user).or_insert_with(|| User::new(places))
    }

    /// Enters session `sid` for `user`: `NotFound` when another user owns it; `None`
    /// when no such session exists (rmcp then answers 404 itself).
    pub(crate) fn enter(
        self: &Arc<Self>,
        user: UserKey,
        sid: &str,
    ) -> Result<Option<InSession>, NotFound> {
        let mut st = self.state.lock();
        let Some(s) = st.sessions.get_mut(sid) else {
            return Ok(None);
        };
        if s.owner != Some(user) {
            return Err(NotFound);
        }
        s.busy += 1;
        s.last_used = Instant::now();
        Ok(Some(InSession {
            users: self.clone(),
            sid: sid.into(),
        }))
    }

    /// Makes room for a new session of `user`: closes (returns) their oldest idle session
    /// when they are at their limit. The reservation becomes the session in [`opened`].
    ///
    /// [`opened`]: Users::opened
    pub(crate) fn reserve(
        self: &Arc<Self>,
        user: UserKey,
    ) -> Result<(Reservation, Option<SessionId>), Limited> {
        let mut st = self.state.lock();
        let st = &mut *st;
        self.user(st, user, Instant::now());
        let u = st.users.get_mut(&user).expect("just made");
        let mut evicted = None;
        if u.sessions.len() + u.opening >= self.limits.sessions {
            let oldest = u
                .sessions
                .iter()
                .enumerate()
                .filter_map(|(i, sid)| st.sessions.get(sid).map(|s| (i, s)))
                .filter(|(_, s)| s.busy == 0)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(i, _)| i);
            let Some(i) = oldest else {
                return Err(Limited::Sessions(self.limits.sessions));
            };
            let sid = u.sessions.swap_remove(i);
            st.sessions.remove(&sid);
            evicted = Some(sid);
        } else if st.sessions.len() + st.opening >= self.limits.max_sessions {
            return Err(Limited::Full);
        }
        u.opening += 1;
        st.opening += 1;
        Ok((
            Reservation {
                users: self.clone(),
                user,
                armed: true,
            },
            evicted,
        ))
    }

    /// A session was created, not initialized yet: nobody may use it until [`opened`]
    /// gives it its owner.
    ///
    /// [`opened`]: Users::opened
    pub(crate) fn created(&self, sid: &SessionId) {
        let session = Session {
            owner: None,
            busy: 0,
            last_used: Instant::now(),
            ids: HashSet::new(),
        };
        self.state.lock().sessions.insert(sid.clone(), session);
    }

    /// A session is being initialized: it belongs to whoever reserved it (nobody without a
    /// reservation: such a session answers 404 to everyone). The session may have ended
    /// meanwhile; then the reservation is simply given back.
    pub(crate) fn opened(&self, sid: &SessionId, reservation: Option<Reservation>) {
        let Some(mut r) = reservation else {
            tracing::warn!("an MCP session was opened outside the edge; nobody may use it");
            return;
        };
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let Some(session) = st.sessions.get_mut(sid) else {
            drop(guard);
            return; // `r` gives its place back when dropped, outside the lock
        };
        r.armed = false;
        session.owner = Some(r.user);
        if let Some(u) = st.users.get_mut(&r.user) {
            u.opening -= 1;
            u.sessions.push(sid.clone());
        }
        st.opening -= 1;
    }

    /// A session ended (closed, deleted, evicted or expired).
    pub(crate) fn closed(&self, sid: &SessionId) {
        let mut st = self.state.lock();
        let st = &mut *st;
        let Some(owner) = st.sessions.remove(sid).and_then(|s| s.owner) else {
            return;
        };
        if let Some(u) = st.users.get_mut(&owner) {
            u.sessions.retain(|s| s != sid);
            Self::forget_if_idle(&mut st.users, owner, self.limits.rate, Instant::now());
        }
    }

    /// Sessions the gateway has open.
    #[cfg(test)]
    pub(crate) fn session_count(&self) -> usize {
        self.state.lock().sessions.len()
    }

    /// Users with state.
    #[cfg(test)]
    pub(crate) fn user_count(&self) -> usize {
        self.state.lock().users.len()
    }

    fn sweep(&self, st: &mut State, now: Instant) {
        if st.users.len() < SWEEP_AT.max(2 * st.swept_at) {
            return;
        }
        let rate = self.limits.rate;
        let keys: Vec<UserKey> = st.users.keys().copied().collect();
        for k in keys {
            Self::forget_if_idle(&mut st.users, k, rate, now);
        }
        if st.users.len() >= SWEEP_AT {
            // Still full of rate buckets: forget the idle ones anyway (their next request
            // starts with a full bucket), so the map stays bounded by what is in use.
            st.users
                .retain(|_, u| u.in_flight + u.sessions.len() + u.opening > 0);
        }
        st.swept_at = st.users.len();
    }

    fn forget_if_idle(
        users: &mut HashMap<UserKey, User>,
        key: UserKey,
        rate: Option<f64>,
        now: Instant,
    ) {
        let Some(u) = users.get(&key) else { return };
        let busy = u.in_flight + u.sessions.len() + u.opening > 0;
        let refilled = match (rate, u.topped) {
            (Some(rate), Some(t)) => {
                u.tokens + now.duration_since(t).as_secs_f64() * rate >= rate.max(1.0)
            }
            _ => true,
        };
        if !busy && refilled {
            users.remove(&key);
        }
    }
}

mod tickets;
pub(crate) use tickets::{IdInFlight, InSession, Reservation, Ticket};

#[cfg(test)]
mod tests;
