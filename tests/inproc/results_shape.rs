//! Results shaped for a model's context (issue 23): items without the API's sync
//! bookkeeping, previews on list pages, `fields`, the full shape that is today's result
//! byte for byte, and the result bound, walked page by page under a property test.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use toolbridge_mcp::config::ResultShape;

/// Payload keys the API keeps for its sync clients (contract §4, §7.7).
const BOOKKEEPING: [&str; 9] = [
    "sync",
    "updatedTs",
    "updateTime",
    "isDirty",
    "isDeleted",
    "remoteUpdatedAt",
    "lastSyncedAt",
    "version",
    "uid",
];

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn words(n: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.chars().count() < n {
        s.push_str(&format!("wörd{i} "));
        i += 1;
    }
    s.chars().take(n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_items_keep_their_own_fields_and_lists_preview_long_text() {
    let stack = Stack::start_with(current_emulator_config(), |_| {}).await;
    let client = stack.client("shape-user").await;
    let long = words(600);
    let created = ok(
        &client,
        "create_note",
        json!({"title": "Long", "content": long, "tags": ["a"]}),
    )
    .await;
    assert_eq!(keys(&created), ["payload", "uid", "updatedAt", "version"]);
    assert_eq!(keys(&created["payload"]), ["content", "tags", "title"]);
    ok(
        &client,
        "create_note",
        json!({"title": "Short", "content": "fifty characters or so, not more than that."}),
    )
    .await;
    let uid = created["uid"].as_str().unwrap();

    // get_ is never shortened.
    let got = ok(&client, "get_note", json!({"uid": uid})).await;
    assert_eq!(got["payload"]["content"], json!(long));
    assert!(got.get("cut").is_none());
    for key in BOOKKEEPING {
        assert!(got["payload"].get(key).is_none(), "{key} in {got}");
    }

    let page = ok(&client, "list_notes", json!({})).await;
    let items = page["items"].as_array().unwrap();
    let (long_item, short_item) = (&items[0], &items[1]);
    let preview = long_item["payload"]["content"].as_str().unwrap();
    assert!(
        preview.ends_with('…') && preview.chars().count() <= 201,
        "{preview}"
    );
    assert!(long.starts_with(preview.trim_end_matches('…')));
    assert_eq!(long_item["cut"], json!({"content": 600}));
    assert!(short_item.get("cut").is_none());
    assert!(
        page["note"].as_str().unwrap().contains("get_note"),
        "{page}"
    );
    assert_eq!(page["hasMore"], json!(false));

    // fields: those payload keys, whole; unknown names are simply absent.
    let page = ok(
        &client,
        "list_notes",
        json!({"fields": ["content", "nope"]}),
    )
    .await;
    assert_eq!(page["items"][0]["payload"], json!({"content": long}));
    assert!(page.get("note").is_none());
    let got = ok(
        &client,
        "get_note",
        json!({"uid": uid, "fields": ["title"]}),
    )
    .await;
    assert_eq!(got["payload"], json!({"title": "Long"}));
    // A non-list is refused before the API is called.
    stack.emulator().clear_requests();
    let e = err(&client, "list_notes", json!({"fields": "title"})).await;
    assert!(e.contains("`fields` must be an array of strings"), "{e}");
    assert!(api_calls(stack.emulator()).is_empty());

    // Deleted items say when.
    let deleted = ok(&client, "delete_note", json!({"uid": uid})).await;
    assert!(deleted["deletedAt"].is_string(), "{deleted}");
    assert!(deleted["payload"].get("isDeleted").is_none(), "{deleted}");

    // The output schemas say so.
    let tools = client.list_all_tools().await.unwrap();
    let get_note = tools.iter().find(|t| t.name == "get_note").unwrap();
    let schema = serde_json::to_string(&get_note.output_schema).unwrap();
    assert!(schema.contains("no sync bookkeeping"), "{schema}");
    stack.stop().await;
}

/// A direct session on the API, to read its answers as they are.
async fn raw_api(stack: &Stack, sub: &str, path: &str) -> String {
    let http = reqwest::Client::new();
    let base = stack.emu.base_url();
    let bearer = format!("Bearer {}", token(sub));
    let session: Value = http
        .post(format!("{base}/v1/sync/sessions"))
        .header("Authorization", &bearer)
        .header("X-TB-Tenant-ID", TENANT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.get(format!("{base}{path}"))
        .header("Authorization", &bearer)
        .header("X-TB-Tenant-ID", TENANT)
        .header("X-Sync-Session", session["id"].as_str().unwrap())
        .header("X-Sync-Epoch", session["epoch"].to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `TOOLBRIDGE_RESULT_SHAPE=full`: the text block is what the gateway gave before issue 23:
/// the API's answer re-serialized, plus `hasMore` on lists (and `nextCursor` only when
/// there may be more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_shape_is_todays_result_byte_for_byte() {
    let stack = Stack::start_with(current_emulator_config(), |c| {
        c.result_shape = ResultShape::Full;
    })
    .await;
    let client = stack.client("full-user").await;
    let mut uids = Vec::new();
    for n in [50, 300, 600] {
        let created = ok(
            &client,
            "create_note",
            json!({"title": format!("n{n}"), "content": words(n)}),
        )
        .await;
        uids.push(created["uid"].as_str().unwrap().to_owned());
    }
    let result = call(&client, "get_note", json!({"uid": uids[2]})).await;
    let api: Value = serde_json::from_str(
        &raw_api(&stack, "full-user", &format!("/v1/notes/{}", uids[2])).await,
    )
    .unwrap();
    assert_eq!(text(&result), api.to_string());
    assert!(api["payload"]["sync"].is_object(), "{api}");

    for (limit, more) in [(2, true), (10, false)] {
        let result = call(&client, "list_notes", json!({"limit": limit})).await;
        let mut api: Value = serde_json::from_str(
            &raw_api(&stack, "full-user", &format!("/v1/notes?limit={limit}")).await,
        )
        .unwrap();
        if !more {
            api.as_object_mut().unwrap().remove("nextCursor");
        }
        api["hasMore"] = json!(more);
        assert_eq!(text(&result), api.to_string(), "limit {limit}");
    }
    stack.stop().await;
}

/// Walks every page of list_notes; returns each page's text and the uids in order.
async fn walk(client: &Client, limit: i64, fields: Option<&Value>) -> (Vec<String>, Vec<Value>) {
    let mut cursor: Option<String> = None;
    let mut texts = Vec::new();
    let mut items = Vec::new();
    for _ in 0..500 {
        let mut args = json!({"limit": limit});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        if let Some(f) = fields {
            args["fields"] = f.clone();
        }
        let r = call(client, "list_notes", args).await;
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        let page = r.structured_content.clone().unwrap();
        // The text block, measured against the bound, is the page's own compact JSON.
        assert_eq!(text(&r), page.to_string());
        texts.push(text(&r));
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        if page["hasMore"] != json!(true) {
            return (texts, items);
        }
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    panic!("more than 500 pages");
}

const BOUND: usize = 2048;

/// Under a small bound, for any number and sizes of notes, any page size, either shape and
/// with or without `fields`: walking all pages returns every note exactly once, in the
/// API's order, every page's text is within the bound, and only a note too large alone is
/// shortened (alone on its page, saying so).
#[test]
fn walking_bounded_pages_returns_every_item_once_in_order() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stacks = rt.block_on(async {
        let mut stacks = Vec::new();
        for shape in [ResultShape::Compact, ResultShape::Full] {
            stacks.push(
                Stack::start_with(current_emulator_config(), move |c| {
                    c.result_shape = shape;
                    c.max_result_bytes = BOUND;
                })
                .await,
            );
        }
        stacks
    });
    static CASE: AtomicUsize = AtomicUsize::new(0);
    // How often the bound shaped a page, so the property is not met vacuously.
    static BOUNDED: AtomicUsize = AtomicUsize::new(0);
    static ALONE: AtomicUsize = AtomicUsize::new(0);
    let notes = prop::collection::vec((0usize..300, 0usize..3000), 0..14);
    let strategy = (notes, 1i64..8, 0usize..2, any::<bool>());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(notes, limit, shape, whole)| {
            let stack = &stacks[shape];
            let sub = format!("walker-{}", CASE.fetch_add(1, Ordering::SeqCst));
            rt.block_on(async {
                let client = stack.client(&sub).await;
                let mut created = Vec::new();
                for (i, (title, content)) in notes.iter().enumerate() {
                    let item = ok(
                        &client,
                        "create_note",
                        json!({"title": format!("{i} {}", words(*title)), "content": words(*content)}),
                    )
                    .await;
                    let at = chrono::DateTime::parse_from_rfc3339(item["updatedAt"].as_str().unwrap())
                        .unwrap();
                    created.push((at, item["uid"].as_str().unwrap().to_owned(), item));
                }
                // The API's order: (updatedAt, uid).
                created.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                let fields = whole.then(|| json!(["title", "content"]));
                let (texts, items) = walk(&client, limit, fields.as_ref()).await;
                let got: Vec<&str> = items.iter().map(|i| i["uid"].as_str().unwrap()).collect();
                let want: Vec<&str> = created.iter().map(|c| c.1.as_str()).collect();
                assert_eq!(got, want);
                let mut originals = created.iter().map(|c| &c.2);
                for t in &texts {
                    assert!(t.len() <= BOUND, "a page of {} bytes: {t}", t.len());
                    let page: Value = serde_json::from_str(t).unwrap();
                    let page_items = page["items"].as_array().unwrap();
                    let alone_too_large = page_items.len() == 1
                        && page["note"].as_str().is_some_and(|n| n.contains("larger than one result"));
                    if alone_too_large {
                        assert_eq!(page["bounded"], json!(true), "{page}");
                        ALONE.fetch_add(1, Ordering::SeqCst);
                    } else if page["bounded"] == json!(true) {
                        BOUNDED.fetch_add(1, Ordering::SeqCst);
                    }
                    for item in page_items {
                        let original = originals.next().unwrap();
                        for key in ["title", "content"] {
                            let full = original["payload"][key].as_str().unwrap();
                            let shown = item["payload"][key].as_str().unwrap_or_default();
                            if shown == full {
                                continue;
                            }
                            // Only a preview (compact, no fields) or a note too large alone
                            // differs, and it says so.
                            let previewed = shape == 0 && !whole;
                            assert!(previewed || alone_too_large, "{key} cut: {page}");
                            assert!(shown.ends_with('…'), "{shown}");
                            assert_eq!(item["cut"][key], json!(full.chars().count()), "{item}");
                        }
                    }
                }
            });
            Ok(())
        })
        .unwrap();
    let (bounded, alone) = (BOUNDED.load(Ordering::SeqCst), ALONE.load(Ordering::SeqCst));
    println!("{bounded} pages bounded, {alone} notes alone on their page");
    assert!(bounded > 0 && alone > 0, "{bounded} bounded, {alone} alone");
    rt.block_on(async {
        for s in stacks {
            s.stop().await;
        }
    });
}
