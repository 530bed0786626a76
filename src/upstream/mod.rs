//! The client side: one pooled `reqwest` client behind a `reqwest-middleware` chain of
//! small layers, each chosen once from the configuration (see `client.rs` for the order):
//! 429 retry, API slots, sync sessions, backend credential, tenant header. Handlers call
//! `Upstream::call`; they never build headers themselves.

mod answer;
mod client;
pub(crate) mod correlation;
mod credential;
mod error;
mod flight;
mod generation;
mod marks;
mod probe;
mod readiness;
mod retry;
pub mod signing;
mod slot;
mod sync_sessions;
mod tenant;

pub use client::install_crypto_provider;
pub(crate) use client::{
    ApiRequest, ApiResponse, Call, Upstream, client_builder, configured_caller,
};
pub(crate) use error::UpstreamError;
