//! The retry rules of `docs/retries.md`, one test per row (its failure injected once into
//! a real call: retried or not, as the table says), and the unknown outcome of every write
//! verb (the answer cut after the API processed the request, and before it did): the
//! result names the uid and how to check it, and the emulator's state shows which it was.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{EmulatorConfig, Fault};

const USER: &str = "retry-user";

fn no_rate_limit() -> EmulatorConfig {
    EmulatorConfig {
        rate_limit: None,
        ..emulator_config()
    }
}

/// Requests the API received for `method` on paths starting with `prefix` (entity routes).
/// A request is logged when its handling ends, and a cut connection ends it only when the
/// emulator drops it: wait (at most 10 s) until nothing is in flight.
async fn seen(stack: &Stack, method: &str, prefix: &str) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stack.emulator().in_flight() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stack
        .emulator()
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .count()
}

/// A gateway over an emulator without rate limits, a client of [`USER`] and one note.
async fn setup(tweak: impl FnOnce(&mut toolbridge_mcp::config::Config)) -> (Stack, Client, String) {
    let stack = Stack::start_with(no_rate_limit(), tweak).await;
    let client = stack.client(USER).await;
    let uid = new_note(&client).await;
    (stack, client, uid)
}

async fn finish(stack: Stack, client: Client) {
    client.cancel().await.ok();
    stack.stop().await;
}

async fn new_note(client: &Client) -> String {
    let note = ok(client, "create_note", json!({"title": "t", "content": "c"})).await;
    note["uid"].as_str().unwrap().to_owned()
}

fn stored(stack: &Stack, uid: &str) -> Option<Value> {
    stack.emulator().item(USER, "notes", uid)
}

/// A write verb: its tool, its arguments for the note `uid`, and whether the emulator's
/// item shows it applied.
struct WriteCase {
    tool: &'static str,
    method: &'static str,
    args: fn(&str) -> Value,
    applied: fn(&Value) -> bool,
}

const WRITES: &[WriteCase] = &[
    WriteCase {
        tool: "update_note",
        method: "PUT",
        args: |uid| json!({"uid": uid, "title": "replaced", "content": "new"}),
        applied: |item| item["payload"]["title"] == "replaced",
    },
    WriteCase {
        tool: "patch_note",
        method: "PATCH",
        args: |uid| json!({"uid": uid, "updates": {"title": "patched"}}),
        applied: |item| item["payload"]["title"] == "patched",
    },
    WriteCase {
        tool: "delete_note",
        method: "DELETE",
        args: |uid| json!({"uid": uid}),
        applied: |item| item.get("deletedAt").is_some_and(Value::is_string),
    },
    WriteCase {
        tool: "archive_note",
        method: "POST",
        args: |uid| json!({"uid": uid}),
        applied: |item| item["payload"]["status"] == "archived",
    },
    WriteCase {
        tool: "process_note",
        method: "POST",
        args: |uid| json!({"uid": uid, "action": "pin"}),
        applied: |item| item["payload"]["pinned"] == true,
    },
];

/// The unknown-outcome message: says so, names the uid and the read that checks it.
fn assert_unknown(msg: &str, uid: &str) {
    assert!(msg.contains("outcome is unknown"), "{msg}");
    assert!(msg.contains(uid), "names the uid: {msg}");
    assert!(
        msg.contains(&format!("get_note {{\"uid\": \"{uid}\"")),
        "says how to check: {msg}"
    );
    assert!(
        !msg.contains("127.0.0.1") && !msg.contains("http://"),
        "{msg}"
    );
}

/// The faults that lose a write's answer, after the API processed it and before.
fn cuts() -> [Fault; 4] {
    [
        Fault::ResetAfterRead { processed: true },
        Fault::CloseBeforeAnswer { processed: true },
        Fault::ResetAfterRead { processed: false },
        Fault::CloseBeforeAnswer { processed: false },
    ]
}

fn processed(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::ResetAfterRead { processed: true } | Fault::CloseBeforeAnswer { processed: true }
    )
}

/// create: the uid the gateway picked is named, and a repeat with it writes the same note,
/// never a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_names_the_uid_it_picked_when_its_answer_is_cut_after_or_before_processing() {
    let stack = Stack::start_with(no_rate_limit(), |_| {}).await;
    let client = stack.client(USER).await;
    for fault in cuts() {
        let processed = processed(&fault);
        let before = seen(&stack, "POST", "/v1/notes").await;
        stack.emulator().faults().push(fault.clone());
        let msg = err(
            &client,
            "create_note",
            json!({"title": "cut", "content": "x"}),
        )
        .await;
        assert_eq!(
            seen(&stack, "POST", "/v1/notes").await - before,
            1,
            "a write is not resent"
        );
        let uid = msg
            .split("so the note ")
            .nth(1)
            .and_then(|rest| rest.get(..36))
            .unwrap_or_default()
            .to_owned();
        assert!(uuid::Uuid::parse_str(&uid).is_ok(), "{fault:?}: {msg}");
        assert_unknown(&msg, &uid);
        assert!(
            msg.contains(&format!("create_note again with \"uid\": \"{uid}\"")),
            "{msg}"
        );
        assert_eq!(stored(&stack, &uid).is_some(), processed, "{fault:?}");
        let again = ok(
            &client,
            "create_note",
            json!({"uid": uid, "title": "cut", "content": "x"}),
        )
        .await;
        assert_eq!(again["uid"], json!(uid));
        assert_eq!(again["version"], json!(if processed { 2 } else { 1 }));
    }
    finish(stack, client).await;
}

/// One write verb on a note, its answer cut after the API processed it and before: the
/// result names the note's uid and how to check it, the write was sent once, and the
/// emulator shows which it was.
async fn cut_write(tool: &str) {
    let case = WRITES.iter().find(|c| c.tool == tool).unwrap();
    let stack = Stack::start_with(no_rate_limit(), |_| {}).await;
    let client = stack.client(USER).await;
    for fault in cuts() {
        let uid = new_note(&client).await;
        let before = seen(&stack, case.method, "/v1/notes/").await;
        stack.emulator().faults().push(fault.clone());
        let msg = err(&client, case.tool, (case.args)(&uid)).await;
        assert_eq!(
            seen(&stack, case.method, "/v1/notes/").await - before,
            1,
            "{tool}: a write is not resent after its answer is lost"
        );
        assert_unknown(&msg, &uid);
        let item = stored(&stack, &uid).unwrap();
        assert_eq!(
            (case.applied)(&item),
            processed(&fault),
            "{tool} {fault:?}: {item}"
        );
    }
    finish(stack, client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_names_the_uid_when_its_answer_is_cut_after_or_before_processing() {
    cut_write("update_note").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_names_the_uid_when_its_answer_is_cut_after_or_before_processing() {
    cut_write("patch_note").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_names_the_uid_when_its_answer_is_cut_after_or_before_processing() {
    cut_write("delete_note").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_names_the_uid_when_its_answer_is_cut_after_or_before_processing() {
    cut_write("archive_note").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_names_the_uid_when_its_answer_is_cut_after_or_before_processing() {
    cut_write("process_note").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_takes_a_uid_and_other_reserved_keys_stay_refused() {
    let stack = Stack::start_with(no_rate_limit(), |_| {}).await;
    let client = stack.client(USER).await;
    let uid = "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a";
    let first = ok(
        &client,
        "create_note",
        json!({"uid": uid, "title": "a", "content": "b"}),
    )
    .await;
    assert_eq!(first["uid"], json!(uid));
    let again = ok(
        &client,
        "create_note",
        json!({"uid": uid, "title": "a", "content": "b"}),
    )
    .await;
    assert_eq!(
        (again["uid"].clone(), again["version"].clone()),
        (json!(uid), json!(2))
    );
    let listed = ok(&client, "list_notes", json!({})).await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "one note, not two"
    );
    let msg = err(
        &client,
        "create_note",
        json!({"uid": "not-a-uuid", "title": "a", "content": "b"}),
    )
    .await;
    assert!(msg.contains("must be a UUID"), "{msg}");
    for key in ["uid", "version", "sync"] {
        let msg = err(
            &client,
            "create_note",
            json!({"title": "a", "content": "b", "additional_fields": {key: 1}}),
        )
        .await;
        assert!(msg.contains(&format!("may not set `{key}`")), "{msg}");
    }
    finish(stack, client).await;
}

// ---- One test per row of the table in docs/retries.md ----

/// Row `429`: waited out and retried, for a write too (the limiter runs before any effect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_429_is_waited_out_and_retried() {
    let stack = Stack::start_with(no_rate_limit(), |_| {}).await;
    let client = stack.client(USER).await;
    stack.emulator().faults().push(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let before = seen(&stack, "POST", "/v1/notes").await;
    let note = ok(
        &client,
        "create_note",
        json!({"title": "a", "content": "b"}),
    )
    .await;
    assert_eq!(seen(&stack, "POST", "/v1/notes").await - before, 2);
    assert_eq!(note["version"], json!(1));
    finish(stack, client).await;
}

/// Rows `428` and `409 epoch_mismatch`: a new session or the API's epoch, then once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_428_and_409_are_retried_once() {
    let (stack, client, uid) = setup(|_| {}).await;
    for fault in [Fault::SessionExpired, Fault::EpochMismatch] {
        stack.emulator().faults().push(fault.clone());
        let before = seen(&stack, "PATCH", "/v1/notes/").await;
        ok(
            &client,
            "patch_note",
            json!({"uid": uid, "updates": {"k": 1}}),
        )
        .await;
        assert_eq!(
            seen(&stack, "PATCH", "/v1/notes/").await - before,
            2,
            "{fault:?}"
        );
    }
    finish(stack, client).await;
}

/// Row "connection refused": nothing was sent, so every request is tried again after a
/// short back-off; an API back within it serves the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_connection_refused_is_retried_after_a_short_back_off() {
    let (stack, client, uid) = setup(|_| {}).await;
    let addr = stack.emu.addr;
    let emu = &stack.emu;
    let restart = emu.restart(Duration::from_millis(700));
    let call_while_down = async {
        // Wait until the port refuses, then call.
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        call(&client, "archive_note", json!({"uid": uid})).await
    };
    let (restarted, result) = tokio::join!(restart, call_while_down);
    restarted.unwrap();
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    assert_eq!(
        stored(&stack, &uid).unwrap()["version"],
        json!(2),
        "archived once"
    );
    finish(stack, client).await;
}

/// Row "connection closed before the request was sent": the API restarted and closed the
/// pooled connection; the next call goes out on a fresh one, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_a_pooled_connection_closed_by_a_restart_is_replaced() {
    let (stack, client, uid) = setup(|_| {}).await;
    stack.emu.restart(Duration::ZERO).await.unwrap();
    // Let the gateway's pool see the close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = seen(&stack, "PATCH", "/v1/notes/").await;
    let patched = ok(
        &client,
        "patch_note",
        json!({"uid": uid, "updates": {"k": 1}}),
    )
    .await;
    assert_eq!(patched["version"], json!(2));
    // One 428 (the restart forgot the session), then the retry on a new session.
    assert_eq!(seen(&stack, "PATCH", "/v1/notes/").await - before, 2);
    finish(stack, client).await;
}

/// Row "connection reset after the request was sent": a read is sent again at once; a
/// write is not (unknown outcome, tested per verb above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_reset_after_sending_retries_a_read_once_and_never_a_write() {
    let (stack, client, uid) = setup(|_| {}).await;
    for fault in [
        Fault::ResetAfterRead { processed: true },
        Fault::CloseBeforeAnswer { processed: false },
        Fault::TruncatedJson,
    ] {
        stack.emulator().faults().push(fault.clone());
        let before = seen(&stack, "GET", "/v1/notes/").await;
        let got = ok(&client, "get_note", json!({"uid": uid})).await;
        assert_eq!(got["uid"], json!(uid));
        assert_eq!(
            seen(&stack, "GET", "/v1/notes/").await - before,
            2,
            "{fault:?}"
        );
        stack.emulator().faults().push(fault.clone());
        let before = seen(&stack, "PATCH", "/v1/notes/").await;
        let msg = err(
            &client,
            "patch_note",
            json!({"uid": uid, "updates": {"k": 2}}),
        )
        .await;
        assert_unknown(&msg, &uid);
        assert_eq!(
            seen(&stack, "PATCH", "/v1/notes/").await - before,
            1,
            "{fault:?}"
        );
    }
    finish(stack, client).await;
}

/// Row "timeout": the request's time is spent; nothing is retried, and a write's outcome
/// is unknown (here it was applied before the stall).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_timeout_is_not_retried() {
    let (stack, client, uid) = setup(|c| c.request_timeout_seconds = 2.0).await;
    stack
        .emulator()
        .faults()
        .push(Fault::Stall { processed: true });
    let before = seen(&stack, "POST", "/v1/notes/").await;
    let msg = err(
        &client,
        "process_note",
        json!({"uid": uid, "action": "pin"}),
    )
    .await;
    assert!(msg.contains("did not answer within"), "{msg}");
    assert_unknown(&msg, &uid);
    assert_eq!(seen(&stack, "POST", "/v1/notes/").await - before, 1);
    assert_eq!(
        stored(&stack, &uid).unwrap()["payload"]["pinned"],
        json!(true)
    );
    stack
        .emulator()
        .faults()
        .push(Fault::Stall { processed: false });
    let before = seen(&stack, "GET", "/v1/notes/").await;
    let msg = err(&client, "get_note", json!({"uid": uid})).await;
    assert!(msg.contains("did not answer within"), "{msg}");
    assert_eq!(seen(&stack, "GET", "/v1/notes/").await - before, 1);
    finish(stack, client).await;
}

/// Rows `502`/`503`/`504`, with and without `Retry-After`: every request the gateway sends
/// is repeatable (creates carry their uid), so each is sent again and succeeds; the write
/// is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_502_503_504_are_retried_with_and_without_retry_after() {
    let stack = Stack::start_with(no_rate_limit(), |_| {}).await;
    let client = stack.client(USER).await;
    for status in [502, 503, 504] {
        for retry_after_secs in [None, Some(1)] {
            let fault = Fault::ProxyError {
                status,
                retry_after_secs,
            };
            stack.emulator().faults().push(fault.clone());
            let before = seen(&stack, "POST", "/v1/notes").await;
            let note = ok(
                &client,
                "create_note",
                json!({"title": "p", "content": "q"}),
            )
            .await;
            assert_eq!(
                seen(&stack, "POST", "/v1/notes").await - before,
                2,
                "{fault:?}"
            );
            assert_eq!(note["version"], json!(1), "{fault:?}");
            let uid = note["uid"].as_str().unwrap();
            stack.emulator().faults().push(fault.clone());
            let before = seen(&stack, "GET", "/v1/notes/").await;
            ok(&client, "get_note", json!({"uid": uid})).await;
            assert_eq!(
                seen(&stack, "GET", "/v1/notes/").await - before,
                2,
                "{fault:?}"
            );
        }
    }
    // Persistent: the back-off gives up after its few tries and says the outcome is unknown.
    stack
        .emulator()
        .faults()
        .set_persistent(Some(Fault::ProxyError {
            status: 503,
            retry_after_secs: None,
        }));
    let uid = "7a4b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let before = seen(&stack, "POST", "/v1/notes").await;
    let msg = err(
        &client,
        "create_note",
        json!({"uid": uid, "title": "p", "content": "q"}),
    )
    .await;
    stack.emulator().faults().set_persistent(None);
    assert_eq!(
        seen(&stack, "POST", "/v1/notes").await - before,
        4,
        "1 + 3 retries"
    );
    assert_unknown(&msg, uid);
    finish(stack, client).await;
}

/// Row "a non-JSON answer": the API answered; nothing is retried. A write's outcome is
/// unknown (a 200 that is not JSON may be a success).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_a_non_json_answer_is_not_retried() {
    let (stack, client, uid) = setup(|_| {}).await;
    stack.emulator().faults().push(Fault::NonJson200);
    let before = seen(&stack, "GET", "/v1/notes/").await;
    let msg = err(&client, "get_note", json!({"uid": uid})).await;
    assert!(msg.contains("non-JSON"), "{msg}");
    assert_eq!(seen(&stack, "GET", "/v1/notes/").await - before, 1);
    stack.emulator().faults().push(Fault::NonJson200);
    let msg = err(&client, "delete_note", json!({"uid": uid})).await;
    assert_unknown(&msg, &uid);
    finish(stack, client).await;
}
