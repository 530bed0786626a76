//! Contract section 4's rules for bad input: uids, bodies (JSON `null` included), the
//! check order of each verb, and the process rules of each kind of entity (§7.6).

use reqwest::Method;
use serde_json::json;
use toolbridge_mcp::emulator::EmulatorConfig;

use crate::emulator_contract::entities::{Case, cases};
use crate::emulator_contract::support::*;

fn name_of(all: &[Case], entity: &str) -> &'static str {
    all.iter().find(|k| k.entity == entity).unwrap().name
}

#[tokio::test]
async fn uids_and_bodies() {
    let h = start(EmulatorConfig {
        rate_limit: None,
        ..EmulatorConfig::current()
    })
    .await;
    let c = Client::with_session(&h, "alice").await;
    let all = cases(h.emulator.generation());
    for e in ENTITIES.iter().chain(NEW_ENTITIES.iter()) {
        let base = format!("/v1/{e}");
        let bad = format!("{base}/not-a-uuid");
        for (method, path) in [
            (Method::GET, bad.clone()),
            (Method::PUT, bad.clone()),
            (Method::PATCH, bad.clone()),
            (Method::DELETE, bad.clone()),
            (Method::POST, format!("{bad}/archive")),
            (Method::POST, format!("{bad}/process")),
        ] {
            c.call(method, &path, Some(json!({})))
                .await
                .expect_error(400, "invalid UID");
        }
        // A POST body's uid is used only when it is a UUID string; otherwise the server
        // makes one, no error.
        let links = match *e {
            "comments" => {
                let note = c.create("notes", json!({})).await;
                json!({"parentType": "note", "parentUid": note["uid"]})
            }
            "chat_messages" => json!({"chatUid": c.create("chats", json!({})).await["uid"]}),
            _ => json!({}),
        };
        for uid in [json!("nope"), json!(7), json!(null)] {
            let body = crate::emulator_contract::entities::with(json!({"uid": uid}), &links);
            let made = c.create(e, body).await;
            assert!(uuid::Uuid::parse_str(made["uid"].as_str().unwrap()).is_ok());
            assert_eq!(made["payload"]["uid"], made["uid"]);
        }
        for raw in ["{not json", "[1,2]", "\"text\"", "", "42"] {
            c.raw(Method::POST, &base, raw)
                .await
                .expect_error(400, "invalid JSON");
        }
        // Like Go's decoder, only the first JSON value counts.
        let trailing = format!(
            "{} and then some",
            crate::emulator_contract::entities::with(json!({"t": 1}), &links)
        );
        let r = send(c.request(Method::POST, &base).body(trailing)).await;
        assert_eq!(r.expect(201)["payload"]["t"], 1);
        // A JSON null: POST and PUT are 500 with an empty body.
        let r = c.raw(Method::POST, &base, "null").await;
        assert_eq!((r.status, r.body.len()), (500, 0));
        let item = c.create(e, links.clone()).await;
        let path = format!("{base}/{}", item["uid"].as_str().unwrap());
        let r = c.raw(Method::PUT, &path, "null").await;
        assert_eq!((r.status, r.body.len()), (500, 0));
        // ...and PATCH rewrites the item unchanged, as a new version.
        let patched = c.raw(Method::PATCH, &path, "null").await.expect(200);
        assert_eq!(patched["version"], 2);
        assert_eq!(
            patched["payload"].get("chatUid"),
            item["payload"].get("chatUid")
        );
        let name = name_of(&all, e);
        let missing = format!("{base}/{}", uuid::Uuid::new_v4());
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            c.call(method, &missing, Some(json!({})))
                .await
                .expect_error(404, &format!("{name} not found"));
        }
        c.post(&format!("{missing}/archive"), json!({}))
            .await
            .expect_error(404, &format!("{name} not found"));
    }
    let big = vec![b' '; 5 * 1024 * 1024];
    send(c.request(Method::POST, "/v1/notes").body(big))
        .await
        .expect_error(413, "request body too large");
}

#[tokio::test]
async fn check_orders() {
    let h = start(EmulatorConfig::current()).await;
    let c = Client::with_session(&h, "alice").await;
    let unknown = |e: &str| format!("/v1/{e}/{}", uuid::Uuid::new_v4());
    // PUT and PATCH: lookup before the body.
    for method in [Method::PUT, Method::PATCH] {
        c.raw(method.clone(), &unknown("notes"), "{bad")
            .await
            .expect_error(404, "note not found");
        c.raw(method, &unknown("task_lists"), "{bad")
            .await
            .expect_error(404, "task_list not found");
    }
    let deleted = c.create("notes", json!({})).await;
    let deleted = format!("/v1/notes/{}", deleted["uid"].as_str().unwrap());
    c.delete(&deleted).await.expect(200);
    c.raw(Method::PUT, &deleted, "{bad")
        .await
        .expect_gone("note deleted");
    c.raw(Method::PUT, &deleted, "null")
        .await
        .expect_gone("note deleted");
    // Process (§4): body first, then lookup, then action.
    let process = |path: String| format!("{path}/process");
    for bad in [
        "{bad",
        "[1]",
        r#"{"action": 5}"#,
        r#"{"action": "pin", "metadata": "x"}"#,
    ] {
        c.raw(Method::POST, &process(unknown("notes")), bad)
            .await
            .expect_error(400, "invalid JSON");
    }
    let explode = json!({"action": "explode"});
    c.post(&process(unknown("notes")), explode.clone())
        .await
        .expect_error(404, "note not found");
    c.post(&process(deleted.clone()), explode.clone())
        .await
        .expect_gone("note deleted");
    let live = c.create("notes", json!({})).await;
    let live = format!("/v1/notes/{}", live["uid"].as_str().unwrap());
    c.post(&process(live.clone()), json!({"metadata": {}}))
        .await
        .expect_error(400, "invalid action: ");
    c.raw(Method::POST, &process(live.clone()), "null")
        .await
        .expect_error(400, "invalid action: ");
    let pin = json!({"ACTION": "pin", "metadata": null});
    assert_eq!(
        c.post(&process(live), pin).await.expect(200)["payload"]["pinned"],
        true,
        "Go matches keys ignoring case"
    );
    // Task lists and categories (§7.6): lookup before the body; `unknown action`.
    for (e, name) in [
        ("task_lists", "task_list"),
        ("task_list_categories", "task_list_category"),
    ] {
        c.raw(Method::POST, &process(unknown(e)), "{bad")
            .await
            .expect_error(404, &format!("{name} not found"));
        let item = c.create(e, json!({})).await;
        let path = format!("/v1/{e}/{}", item["uid"].as_str().unwrap());
        c.raw(Method::POST, &process(path.clone()), "{bad")
            .await
            .expect_error(400, "invalid JSON");
        c.post(&process(path.clone()), json!({"action": "pin"}))
            .await
            .expect_error(400, "unknown action: pin");
        c.post(&process(path), json!({"action": "archive"}))
            .await
            .expect_error(400, "unknown action: archive");
    }
}

#[tokio::test]
async fn list_limits_and_cursors() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    for i in 0..3 {
        c.create("notes", json!({"title": i})).await;
    }
    for (limit, n) in [
        ("1", 1),
        ("2", 2),
        ("5000", 3),
        ("0", 3),
        ("-3", 3),
        ("abc", 3),
        ("%202", 3),
    ] {
        let page = c.get(&format!("/v1/notes?limit={limit}")).await.expect(200);
        assert_eq!(uids(&page).len(), n, "limit={limit}");
    }
    // Only the first value of a repeated parameter counts.
    assert_eq!(
        uids(&c.get("/v1/notes?limit=1&limit=3").await.expect(200)).len(),
        1
    );
    // The cursor is unpadded base64url of "<updatedAtMs>|<uuid>".
    use base64::Engine;
    let page = c.get("/v1/notes?limit=1").await.expect(200);
    let cursor = page["nextCursor"].as_str().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (ms, uid) = raw.split_once('|').unwrap();
    assert_eq!(uid, uids(&page)[0]);
    let at = instant(&page["items"][0]["updatedAt"]);
    assert_eq!(ms.parse::<i64>().unwrap(), at.timestamp_millis());
}
