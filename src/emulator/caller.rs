//! The authenticated caller handed to every route handler (a request extension), so that
//! handlers depend on neither the gates nor the shared state.

use std::sync::Arc;

use parking_lot::Mutex;

use super::config::Generation;
use super::error::Cid;
use super::store::UserData;

/// An authenticated caller.
#[derive(Clone)]
pub(crate) struct Caller {
    /// The JWT `sub` (or dev-mode `X-Debug-Sub`).
    pub(crate) sub: Arc<str>,
    /// That user's data.
    pub(crate) user: Arc<Mutex<UserData>>,
    /// The request's correlation id.
    pub(crate) cid: Cid,
    /// The generation the emulator plays.
    pub(crate) generation: Generation,
}
