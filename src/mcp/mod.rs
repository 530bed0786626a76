//! The MCP side: the catalog of entity tools, argument decoding, one handler per verb, the
//! note edit review and its MCP Apps views, and the rmcp server that ties them together.

pub mod catalog;
pub(crate) mod edit;
pub(crate) mod fields;
pub(crate) mod handlers;
pub(crate) mod protocol;
pub(crate) mod results;
pub(crate) mod review;
pub(crate) mod server;
pub(crate) mod shape;
pub(crate) mod spans;
pub(crate) mod tools;
pub(crate) mod views;

/// The payload keys the API writes itself: the soak test compares only the fields a user owns.
pub use fields::RESERVED_KEYS;
pub(crate) use server::Gateway;
