//! The emulator against the API contract (`shared/toolbridge-api.md`), both generations,
//! over real sockets: each test spawns an emulator on `127.0.0.1:0` and drives it with reqwest.
//!
//! The tests live in `tests/inproc/emulator_contract/` (not test targets of their own): `access`
//! (sections 1–3 and 5), `entities`, `malformed` and `relations` (section 4, 7.6, 7.7),
//! `wipe` (wipe and state), `current` (7.1, 7.2, 7.5), `exchange` (7.3, 7.4), `faults`
//! (injection, log, counters).

#[path = "emulator_contract/access.rs"]
mod access;
#[path = "emulator_contract/current.rs"]
mod current;
#[path = "emulator_contract/entities.rs"]
mod entities;
#[path = "emulator_contract/exchange.rs"]
mod exchange;
#[path = "emulator_contract/faults.rs"]
mod faults;
#[path = "emulator_contract/malformed.rs"]
mod malformed;
#[path = "emulator_contract/relations.rs"]
mod relations;
#[path = "emulator_contract/support.rs"]
mod support;
#[path = "emulator_contract/wipe.rs"]
mod wipe;
