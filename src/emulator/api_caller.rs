//! The authenticated caller handed to every route handler (a request extension), so that
//! handlers depend on neither the gates nor the shared state. Named `ApiCaller`, not
//! `Caller`: it is the caller as the emulated API sees it (its store, its correlation id),
//! on the other side of the wire from the gateway's `call::Caller`, and shares nothing
//! with it.

use std::sync::Arc;

use parking_lot::Mutex;

use super::config::Generation;
use super::error::Cid;
use super::store::UserData;

/// An authenticated caller of the emulated API.
#[derive(Clone)]
pub(crate) struct ApiCaller {
    /// The JWT `sub` (or dev-mode `X-Debug-Sub`).
    pub(crate) sub: Arc<str>,
    /// That user's data.
    pub(crate) user: Arc<Mutex<UserData>>,
    /// The request's correlation id.
    pub(crate) cid: Cid,
    /// The generation the emulator plays.
    pub(crate) generation: Generation,
}
