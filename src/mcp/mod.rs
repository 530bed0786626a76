//! The MCP side: the catalog of entity tools, argument decoding, one handler per verb, the
//! note edit review and its MCP Apps views, and the rmcp server that ties them together.

pub mod catalog;
pub mod edit;
pub mod fields;
pub mod handlers;
pub mod protocol;
pub mod results;
pub mod review;
pub mod server;
pub mod tools;
pub mod views;

pub use server::Gateway;
