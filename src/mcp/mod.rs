//! The MCP side: the catalog of 41 tools, argument decoding, one handler per verb, and the
//! rmcp server that ties them together.

pub mod catalog;
pub(crate) mod fields;
pub(crate) mod handlers;
pub(crate) mod protocol;
pub(crate) mod results;
pub(crate) mod server;
pub(crate) mod tools;

pub(crate) use server::Gateway;
