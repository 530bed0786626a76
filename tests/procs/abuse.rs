//! Issue 12: one holder of a valid token cannot take the gateway away from the others, and
//! the smaller leaks around it are closed. One test per item of the issue, each on real
//! sockets against a real gateway, with counts sized to stay well under a minute on two
//! busy cores, asserting the fixed behaviour (none of them times anything):
//!
//! 1. slow bodies hold no request slot (`bodies`)
//! 2. a worst-case body is refused before it is parsed, memory stays flat (`bodies`)
//! 3. one token's thousands of sessions leave room for others (`sessions`)
//! 4. duplicate request ids get an answer; every stream has a deadline (`sessions`)
//! 5. a session answers only its owner (`sessions`)
//! 6. two `Host` or two `Origin` headers are refused (`headers`)
//! 7. `/metrics` on the main port checks `Host` (`headers`)
//! 8. configuration errors never print a secret (`secrets`)
//! 9. debug logs carry no argument or result (`secrets`)
//! 10. malformed JSON-RPC, batches and over-deep JSON get 400 with a JSON-RPC error (`bodies`)
//!
//! plus the per-user shares themselves (`fairness`): requests in progress and the rate.

use crate::common;

use common::{mcp_http::request, *};

/// A gateway that verifies tokens (so every request has a user), tweaked per test.
async fn stack(tweak: impl FnOnce(&mut toolbridge_mcp::config::Config)) -> Stack {
    Stack::start_with(emulator_config(), |c| {
        c.jwt_hs256_secret = toolbridge_mcp::secret::Secret::new(JWT_SECRET);
        tweak(c);
    })
    .await
}

/// A `tools/call` of `list_notes` with JSON-RPC id `id`.
fn list_notes(id: u64) -> String {
    request(
        serde_json::json!(id),
        "tools/call",
        serde_json::json!({"name": "list_notes", "arguments": {}}),
    )
}

#[path = "abuse/bodies.rs"]
mod bodies;
#[path = "abuse/fairness.rs"]
mod fairness;
#[path = "abuse/headers.rs"]
mod headers;
#[path = "abuse/secrets.rs"]
mod secrets;
#[path = "abuse/sessions.rs"]
mod sessions;
