//! The emulator against the API contract (`shared/toolbridge-api.md`), over real sockets:
//! each test spawns an emulator on `127.0.0.1:0` and drives it with reqwest.
//!
//! The tests live in `tests/emulator_contract/` (not test targets of their own):
//! `access` (sections 1–3), `entities` and `relations` (section 4), `faults` (injection, log, counters).

#[path = "emulator_contract/access.rs"]
mod access;
#[path = "emulator_contract/entities.rs"]
mod entities;
#[path = "emulator_contract/faults.rs"]
mod faults;
#[path = "emulator_contract/relations.rs"]
mod relations;
#[path = "emulator_contract/support.rs"]
mod support;
