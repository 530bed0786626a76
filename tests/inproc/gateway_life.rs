//! The whole life of every entity through the real gateway, driven by rmcp's client, with
//! the emulator of each API generation as the API and the default configuration. Expected
//! values are written out here, not taken from the gateway's own catalog (only the count of
//! tools is, so that it has one home).

use crate::common;

use common::*;
use serde_json::{Value, json};
use toolbridge_mcp::{config::Generation, mcp::catalog::tool_names};

/// (singular, plural, archive effect (key, value), actions with their effect)
struct Case {
    singular: &'static str,
    plural: &'static str,
    archive: (&'static str, Value),
    actions: Vec<(&'static str, &'static str, Value)>,
}

fn cases(generation: Generation) -> Vec<Case> {
    let mut cases = vec![
        Case {
            singular: "note",
            plural: "notes",
            archive: ("status", json!("archived")),
            actions: vec![
                ("pin", "pinned", json!(true)),
                ("unpin", "pinned", json!(false)),
                ("archive", "status", json!("archived")),
                ("unarchive", "status", json!("active")),
            ],
        },
        Case {
            singular: "task",
            plural: "tasks",
            archive: ("status", json!("archived")),
            actions: vec![
                ("start", "status", json!("in_progress")),
                ("complete", "status", json!("completed")),
                ("reopen", "status", json!("open")),
            ],
        },
        Case {
            singular: "comment",
            plural: "comments",
            archive: ("status", json!("archived")),
            actions: vec![
                ("resolve", "status", json!("resolved")),
                ("reopen", "status", json!("open")),
            ],
        },
        Case {
            singular: "chat",
            plural: "chats",
            archive: ("archived", json!(true)),
            actions: vec![
                ("resolve", "status", json!("resolved")),
                ("reopen", "status", json!("active")),
            ],
        },
        Case {
            singular: "chat_message",
            plural: "chat_messages",
            archive: ("archived", json!(true)),
            actions: vec![
                ("mark_read", "read", json!(true)),
                ("mark_delivered", "delivered", json!(true)),
            ],
        },
    ];
    if generation == Generation::Current {
        for (singular, plural) in [
            ("task_list", "task_lists"),
            ("task_list_category", "task_list_categories"),
        ] {
            cases.push(Case {
                singular,
                plural,
                archive: ("archived", json!(true)),
                actions: vec![("unarchive", "archived", json!(false))],
            });
        }
        // The current API also keeps `done` in step with a task's status (§7.7).
        let task = cases.iter_mut().find(|c| c.singular == "task").unwrap();
        task.archive = ("done", json!(true));
        task.actions[1] = ("complete", "done", json!(true));
    }
    cases
}

/// Create arguments and the payload keys they must produce (camelCase on the wire).
fn create_args(singular: &str, note: &str, chat: &str) -> (Value, Vec<(&'static str, Value)>) {
    match singular {
        "note" => (
            json!({"title": "T", "content": "C", "tags": ["a"], "additional_fields": {"color": "blue"}}),
            vec![
                ("title", json!("T")),
                ("content", json!("C")),
                ("tags", json!(["a"])),
                ("color", json!("blue")),
            ],
        ),
        "task" => (
            json!({"title": "Do", "description": "D", "status": "open", "priority": "high", "due_date": "2027-01-02"}),
            vec![
                ("title", json!("Do")),
                ("priority", json!("high")),
                ("dueDate", json!("2027-01-02")),
            ],
        ),
        "comment" => (
            json!({"content": "Nice", "parent_type": "note", "parent_uid": note, "author": "ana"}),
            vec![
                ("parentType", json!("note")),
                ("parentUid", json!(note)),
                ("author", json!("ana")),
            ],
        ),
        "chat" => (
            // An array given as a JSON string, as some LLM clients send it.
            json!({"title": "Room", "participants": "[\"ana\", \"ben\"]", "archived": false}),
            vec![
                ("title", json!("Room")),
                ("participants", json!(["ana", "ben"])),
                ("archived", json!(false)),
            ],
        ),
        "chat_message" => (
            json!({"chat_uid": chat, "content": "hi", "sender": "ana", "message_type": "text"}),
            vec![
                ("chatUid", json!(chat)),
                ("messageType", json!("text")),
                ("sender", json!("ana")),
            ],
        ),
        "task_list" => (
            json!({"title": "Home", "color": "#336699", "icon": "house"}),
            vec![("title", json!("Home")), ("color", json!("#336699"))],
        ),
        "task_list_category" => (
            json!({"name": "Life", "order": 2}),
            vec![("name", json!("Life")), ("order", json!(2))],
        ),
        _ => unreachable!(),
    }
}

fn update_args(singular: &str, uid: &str, version: i64) -> Value {
    match singular {
        "task_list" => json!({"uid": uid, "title": "Home2", "if_match": version}),
        "task_list_category" => json!({"uid": uid, "name": "Life2", "if_match": version}),
        "note" => json!({"uid": uid, "title": "T2", "content": "C2", "if_match": version}),
        "task" => {
            json!({"uid": uid, "title": "Do2", "status": "open", "if_match": version.to_string()})
        }
        "chat" => json!({"uid": uid, "title": "Room2", "if_match": version}),
        _ => json!({"uid": uid, "content": "edited", "if_match": version}),
    }
}

fn payload<'a>(item: &'a Value, key: &str) -> &'a Value {
    &item["payload"][key]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_lives_its_whole_life_on_the_seed_api() {
    whole_life(Stack::start().await, Generation::Seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_lives_its_whole_life_on_the_current_api() {
    whole_life(
        Stack::start_with(current_emulator_config(), |_| {}).await,
        Generation::Current,
    )
    .await;
}

async fn whole_life(stack: Stack, generation: Generation) {
    let client = stack.client("alice").await;

    let tools = client.list_all_tools().await.unwrap();
    let names: std::collections::BTreeSet<String> =
        tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools.len(), tool_names(generation).len());
    let cases = cases(generation);
    // Every tool is exercised below: health_check, 8 per case, and the review's two.
    assert_eq!(
        tools.len(),
        1 + 8 * cases.len() + toolbridge_mcp::mcp::catalog::REVIEW_TOOLS.len(),
        "{names:?}"
    );
    let mut called = std::collections::BTreeSet::new();

    // Parents for the linked entities.
    let note = ok(
        &client,
        "create_note",
        json!({"title": "parent", "content": "p"}),
    )
    .await;
    let chat = ok(&client, "create_chat", json!({"title": "parent chat"})).await;
    let (note_uid, chat_uid) = (note["uid"].as_str().unwrap(), chat["uid"].as_str().unwrap());

    for case in cases {
        let (s, p) = (case.singular, case.plural);
        for verb in [
            "get", "create", "update", "patch", "delete", "archive", "process",
        ] {
            called.insert(format!("{verb}_{s}"));
        }
        called.insert(format!("list_{p}"));
        let (args, expect) = create_args(s, note_uid, chat_uid);
        let created = ok(&client, &format!("create_{s}"), args).await;
        let uid = created["uid"].as_str().unwrap().to_owned();
        assert_eq!(created["version"], json!(1), "{s}");
        for (k, v) in &expect {
            assert_eq!(payload(&created, k), v, "{s}.{k}");
        }

        let got = ok(&client, &format!("get_{s}"), json!({"uid": uid})).await;
        assert_eq!(got["uid"], json!(uid));

        let listed = ok(&client, &format!("list_{p}"), json!({"limit": 1000})).await;
        assert!(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["uid"] == json!(uid)),
            "{s} listed"
        );

        // Update with if_match; the linked entities keep their link fields.
        let updated = ok(&client, &format!("update_{s}"), update_args(s, &uid, 1)).await;
        assert_eq!(updated["version"], json!(2), "{s}");
        for (k, v) in &expect {
            if ["parentType", "parentUid", "chatUid"].contains(k) {
                assert_eq!(payload(&updated, k), v, "{s}: {k} carried over by update");
            }
        }
        // A stale if_match is refused with advice.
        let stale = err(&client, &format!("update_{s}"), update_args(s, &uid, 1)).await;
        assert!(
            stale.contains(&format!("get_{s}")) && stale.contains("if_match"),
            "{stale}"
        );

        // Patch, with the object sent as a JSON string.
        let patched = ok(
            &client,
            &format!("patch_{s}"),
            json!({"uid": uid, "updates": "{\"mood\": \"good\"}"}),
        )
        .await;
        assert_eq!(payload(&patched, "mood"), &json!("good"));
        assert_eq!(patched["version"], json!(3));

        let mut version = 3;
        for (action, key, value) in &case.actions {
            let r = ok(
                &client,
                &format!("process_{s}"),
                json!({"uid": uid, "action": action, "metadata": {"why": "test"}}),
            )
            .await;
            version += 1;
            assert_eq!(payload(&r, key), value, "{s} {action}");
            assert_eq!(r["version"], json!(version));
        }

        let archived = ok(&client, &format!("archive_{s}"), json!({"uid": uid})).await;
        assert_eq!(
            payload(&archived, case.archive.0),
            &case.archive.1,
            "{s} archive"
        );

        let deleted = ok(&client, &format!("delete_{s}"), json!({"uid": uid})).await;
        assert_eq!(deleted["uid"], json!(uid));
        assert!(deleted["deletedAt"].is_string(), "{s}: {deleted}");
        // Seed answers {uid, version, updatedAt, deletedAt}; current the whole item.
        assert_eq!(
            deleted.get("payload").is_some(),
            generation == Generation::Current,
            "{s}: {deleted}"
        );

        let gone = err(&client, &format!("get_{s}"), json!({"uid": uid})).await;
        assert!(gone.contains("deleted"), "{gone}");
        let still = ok(
            &client,
            &format!("get_{s}"),
            json!({"uid": uid, "include_deleted": true}),
        )
        .await;
        assert!(still["deletedAt"].is_string());

        let without = ok(&client, &format!("list_{p}"), json!({})).await;
        assert!(
            !without["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["uid"] == json!(uid))
        );
        let with = ok(
            &client,
            &format!("list_{p}"),
            json!({"include_deleted": true}),
        )
        .await;
        assert!(
            with["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["uid"] == json!(uid))
        );
    }
    // The note edit review, without a view: show the hunks, apply one decision each.
    let note = ok(
        &client,
        "create_note",
        json!({"title": "r", "content": "a\nb\n"}),
    )
    .await;
    let uid = note["uid"].as_str().unwrap();
    let review = ok(
        &client,
        "edit_note_ui",
        json!({"uid": uid, "proposed_content": "A\nb\nc\n"}),
    )
    .await;
    assert_eq!(review["base_version"], 1, "{review}");
    assert_eq!(review["hunks"].as_array().unwrap().len(), 2, "{review}");
    let applied = ok(
        &client,
        "apply_note_edit",
        json!({"uid": uid, "base_version": 1, "proposed_content": "A\nb\nc\n",
            "decisions": [{"hunk": 0, "action": "reject"}, {"hunk": 1, "action": "accept"}]}),
    )
    .await;
    assert_eq!(
        (&applied["status"], &applied["version"], &applied["content"]),
        (&json!("applied"), &json!(2), &json!("a\nb\nc\n"))
    );
    called.extend(toolbridge_mcp::mcp::catalog::REVIEW_TOOLS.map(String::from));
    called.insert("health_check".into());
    let h = ok(&client, "health_check", json!({})).await;
    assert_eq!(h["api_generation"], json!(generation.as_str()), "{h}");
    assert_eq!(called, names, "every listed tool was called");
    client.cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_never_reach_the_api() {
    let stack = Stack::start().await;
    let client = stack.client("bob").await;
    // The generation check happens once, at the first list or call.
    client.list_all_tools().await.unwrap();
    let before = stack.emulator().requests().len();
    let cases = [
        ("get_note", json!({"uid": "not-a-uuid"}), "UUID"),
        (
            "process_note",
            json!({"uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a", "action": "explode"}),
            "\"pin\", \"unpin\", \"archive\", \"unarchive\"",
        ),
        (
            "process_chat_message",
            json!({"uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a", "action": "pin"}),
            "\"mark_read\", \"mark_delivered\"",
        ),
        (
            "create_comment",
            json!({"content": "x", "parent_type": "chat", "parent_uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a"}),
            "\"note\", \"task\"",
        ),
        (
            "create_note",
            json!({"title": "no content"}),
            "missing required parameter `content`",
        ),
        ("list_notes", json!({"limit": 5000}), "between 1 and 1000"),
        (
            "patch_task",
            json!({"uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a", "updates": "not json"}),
            "JSON object",
        ),
        (
            "create_task",
            json!({"title": "t", "titel": "typo"}),
            "unknown parameter `titel`",
        ),
        (
            "create_note",
            json!({"title": "t", "content": "c", "additional_fields": {"sync": 1}}),
            "may not set `sync`",
        ),
        (
            "patch_note",
            json!({"uid": "0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a", "updates": {"deletedAt": "2026-01-01T00:00:00Z"}}),
            "may not set `deletedAt`",
        ),
        (
            "list_notes",
            json!({"cursor": "x".repeat(100_000)}),
            "longer than any value the API hands out",
        ),
    ];
    for (tool, args, needle) in cases {
        let msg = err(&client, tool, args).await;
        assert!(msg.contains(needle), "{tool}: {msg}");
        assert!(msg.contains("API was not called"), "{tool}: {msg}");
    }
    assert_eq!(
        stack.emulator().requests().len(),
        before,
        "no request reached the API"
    );
    client.cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_walks_every_item_once() {
    let stack = Stack::start().await;
    let client = stack.client("pager").await;
    let mut made = std::collections::BTreeSet::new();
    for i in 0..5 {
        let n = ok(&client, "create_task", json!({"title": format!("t{i}")})).await;
        made.insert(n["uid"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut args = json!({"limit": 2});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let page = ok(&client, "list_tasks", args).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["uid"].as_str().unwrap().to_owned());
        }
        if page["hasMore"] != json!(true) {
            break;
        }
        cursor = Some(page["nextCursor"].as_str().unwrap().to_owned());
    }
    let unique: std::collections::BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(unique, made);
    client.cancel().await.ok();
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_a_token_is_refused_before_the_api() {
    let stack = Stack::start().await;
    let client = stack.client_with(None, Default::default()).await;
    assert_eq!(
        client.list_all_tools().await.unwrap().len(),
        tool_names(Generation::Seed).len()
    );
    let msg = err(&client, "list_notes", json!({})).await;
    assert!(msg.contains("Bearer"), "{msg}");
    // Only the unauthenticated generation check may have reached the API.
    let reached: Vec<_> = stack
        .emulator()
        .requests()
        .into_iter()
        .filter(|r| r.path != "/v1/sync/info")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(reached.is_empty(), "{reached:?}");
    // health_check needs no token and leaks no address.
    let h = ok(&client, "health_check", json!({})).await;
    assert_eq!(h["status"], json!("ok"));
    assert_eq!(h["api"], json!("reachable"));
    assert!(!h.to_string().contains("127.0.0.1"), "{h}");
    client.cancel().await.ok();
    stack.stop().await;
}

/// The review refuses what it cannot merge as it was reviewed, and a stale version is a
/// conflict: in every case the note is untouched and no write reached the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_refuses_what_it_cannot_merge_and_writes_nothing() {
    let stack = Stack::start().await;
    let client = stack.client("reviewer").await;
    let note = ok(
        &client,
        "create_note",
        json!({"title": "t", "content": "a\nb\n"}),
    )
    .await;
    let uid = note["uid"].as_str().unwrap();
    let proposed = "A\nb\nC\n";
    let apply = |base_version: i64, decisions: Value| {
        json!({"uid": uid, "base_version": base_version, "proposed_content": proposed,
            "decisions": decisions})
    };
    for (args, says) in [
        (
            apply(1, json!([{"hunk": 0, "action": "accept"}])),
            "hunk 1 has no decision",
        ),
        (
            apply(
                1,
                json!([{"hunk": 0, "action": "accept"}, {"hunk": 5, "action": "accept"}]),
            ),
            "the edit has 2 hunks",
        ),
        (
            apply(
                1,
                json!([{"hunk": 0, "action": "maybe"}, {"hunk": 1, "action": "accept"}]),
            ),
            "`decisions` must be an array of",
        ),
        (
            apply(
                1,
                json!([{"hunk": 0, "action": "revise"}, {"hunk": 1, "action": "accept"}]),
            ),
            "revise needs the text",
        ),
    ] {
        let msg = err(&client, "apply_note_edit", args).await;
        assert!(msg.contains(says), "{says}: {msg}");
    }
    // A version other than the note's: the conflict, with the note as it is.
    let stale = apply(
        7,
        json!([{"hunk": 0, "action": "accept"}, {"hunk": 1, "action": "accept"}]),
    );
    let r = call(&client, "apply_note_edit", stale).await;
    assert_eq!(r.is_error, Some(true));
    let conflict = r.structured_content.unwrap();
    assert_eq!(
        (
            &conflict["status"],
            &conflict["current_version"],
            &conflict["current_content"]
        ),
        (&json!("conflict"), &json!(1), &json!("a\nb\n"))
    );
    let item = stack.emulator().item("reviewer", "notes", uid).unwrap();
    assert_eq!(
        (&item["version"], &item["payload"]["content"]),
        (&json!(1), &json!("a\nb\n"))
    );
    assert!(
        !api_calls(stack.emulator())
            .iter()
            .any(|r| r.method == "PATCH" || r.method == "PUT"),
        "nothing was written"
    );
    client.cancel().await.ok();
    stack.stop().await;
}

/// A write that lands between the review's read and its write: the `If-Match` on the
/// version reviewed refuses the apply (412), so the other write stands and the review says
/// so. The emulator holds the apply's write (a delay fault) until the other write is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_between_the_review_read_and_its_write_is_refused_by_if_match() {
    use toolbridge_mcp::emulator::Fault;
    let stack = Stack::start().await;
    let reviewer = stack.client("racer").await;
    let other = stack.client("racer").await;
    let note = ok(
        &reviewer,
        "create_note",
        json!({"title": "t", "content": "a\nb\n"}),
    )
    .await;
    let uid = note["uid"].as_str().unwrap().to_owned();
    let emu = stack.emulator();
    // The apply's read goes through; its write waits at the API.
    emu.faults().push(Fault::Delay(std::time::Duration::ZERO));
    emu.faults()
        .push(Fault::Delay(std::time::Duration::from_secs(5)));
    let args = json!({"uid": uid, "base_version": 1, "proposed_content": "A\nb\n",
        "decisions": [{"hunk": 0, "action": "accept"}]});
    let applying = tokio::spawn(async move {
        let r = call(&reviewer, "apply_note_edit", args).await;
        reviewer.cancel().await.ok();
        r
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while emu.faults().queued() > 0 || emu.in_flight() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never wrote"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    ok(
        &other,
        "patch_note",
        json!({"uid": uid, "updates": {"content": "theirs\n"}}),
    )
    .await;
    let r = applying.await.unwrap();
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    let conflict = r.structured_content.unwrap();
    assert_eq!(
        (
            &conflict["status"],
            &conflict["current_version"],
            &conflict["current_content"]
        ),
        (&json!("conflict"), &json!(2), &json!("theirs\n"))
    );
    let item = emu.item("racer", "notes", &uid).unwrap();
    assert_eq!(
        (&item["version"], &item["payload"]["content"]),
        (&json!(2), &json!("theirs\n"))
    );
    let refused = api_calls(emu)
        .into_iter()
        .find(|r| r.method == "PATCH" && r.header("if-match") == Some("1"))
        .expect("the apply's write reached the API");
    assert_eq!(refused.status, 412);
    other.cancel().await.ok();
    stack.stop().await;
}
