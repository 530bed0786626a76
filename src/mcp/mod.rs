//! The MCP side: the catalog of 41 tools, argument decoding, one handler per verb, and the
//! rmcp server that ties them together.

pub mod catalog;
pub mod fields;
pub mod handlers;
pub mod protocol;
pub mod results;
pub mod server;
pub mod tools;

pub use server::Gateway;
