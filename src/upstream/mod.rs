//! The client side: one pooled `reqwest` client behind a `reqwest-middleware` chain that
//! signs every request with the tenant headers and wraps every entity request in a sync
//! session. Handlers call [`Upstream::call`]; they never build headers themselves.

mod answer;
mod client;
mod correlation;
mod error;
mod middleware;
mod sessions;
pub mod signing;

pub use client::{ApiRequest, ApiResponse, CallContext, Upstream, install_crypto_provider};
pub use error::UpstreamError;
pub use sessions::{SessionInfo, SessionStats};
