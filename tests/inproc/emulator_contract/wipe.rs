//! Contract section 3: `POST /v1/sync/wipe` and `GET /v1/sync/state`, both generations.

use reqwest::Method;
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{EmulatorConfig, RateLimit};

use crate::emulator_contract::support::*;

/// Two items of every entity (one of them deleted), plus the parents they need.
async fn fill(c: &Client, entities: &[&str]) {
    let note = c.create("notes", json!({})).await["uid"].clone();
    let chat = c.create("chats", json!({})).await["uid"].clone();
    for e in entities {
        let links = match *e {
            "comments" => json!({"parentType": "note", "parentUid": note}),
            "chat_messages" => json!({"chatUid": chat}),
            _ => json!({}),
        };
        c.create(e, links.clone()).await;
        let doomed = c.create(e, links).await;
        c.delete(&format!("/v1/{e}/{}", doomed["uid"].as_str().unwrap()))
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn a_wipe_deletes_everything_raises_the_epoch_and_ends_every_session() {
    for (cfg, entities, keys) in [
        (
            EmulatorConfig::default(),
            ENTITIES.to_vec(),
            vec!["chat", "chat_message", "comment", "note", "task"],
        ),
        (
            EmulatorConfig::current(),
            [&ENTITIES[..], &NEW_ENTITIES[..]].concat(),
            vec![
                "chat",
                "chat_message",
                "comment",
                "note",
                "task",
                "task_list",
                "task_list_category",
            ],
        ),
    ] {
        let cfg = EmulatorConfig {
            rate_limit: Some(RateLimit {
                per_minute: 600,
                burst: 200,
            }),
            ..cfg
        };
        let h = start(cfg).await;
        let mut alice = Client::with_session(&h, "alice").await;
        let other_device = Client::with_session(&h, "alice").await;
        let bob = Client::with_session(&h, "bob").await;
        fill(&alice, &entities).await;
        bob.create("notes", json!({"title": "bob's"})).await;
        assert_eq!(
            alice.get("/v1/sync/state").await.expect(200),
            json!({"epoch": 1})
        );

        // The confirmation is required; the body decodes like the API's struct.
        let mut stale = alice.clone();
        stale.epoch = Some("0".into());
        for (raw, msg) in [
            ("", "invalid request body"),
            ("[1]", "invalid request body"),
            (r#"{"confirm": 5}"#, "invalid request body"),
            (r#"{"confirm": "WIPE", "mode": 1}"#, "invalid request body"),
            (
                "null",
                r#"confirmation required: must send {"confirm":"WIPE"}"#,
            ),
            (
                r#"{"confirm": "wipe"}"#,
                r#"confirmation required: must send {"confirm":"WIPE"}"#,
            ),
        ] {
            stale
                .raw(Method::POST, "/v1/sync/wipe", raw)
                .await
                .expect_error(400, msg);
        }
        let mut none = alice.clone();
        none.session = None;
        none.post("/v1/sync/wipe", json!({"confirm": "WIPE"}))
            .await
            .expect(428);

        // No epoch check: a stale epoch may wipe.
        let r = stale
            .post("/v1/sync/wipe", json!({"confirm": "WIPE", "mode": "hard"}))
            .await;
        let body = r.expect(200);
        assert!(
            r.header("x-ratelimit-limit").is_none(),
            "wipe is not limited"
        );
        assert_eq!(body["epoch"], 2);
        let deleted = body["deleted"].as_object().unwrap();
        let mut got: Vec<&str> = deleted.keys().map(String::as_str).collect();
        got.sort_unstable();
        assert_eq!(got, keys);
        // Two per entity (one of them soft-deleted), plus the parent note and chat.
        for (k, n) in deleted {
            let parents = u64::from(k == "note" || k == "chat");
            assert_eq!(n.as_u64(), Some(2 + parents), "{k}");
        }

        // Every session of the user is gone: 428, not 409, on every route that needs one.
        for c in [&alice, &other_device] {
            c.get("/v1/notes").await.expect(428);
            c.get("/v1/sync/state").await.expect(428);
        }
        assert_eq!(h.emulator.open_sessions("alice"), 0);
        assert_eq!(h.emulator.open_sessions("bob"), 1);
        let session = alice.open().await;
        assert_eq!(session["epoch"], 2);
        for e in &entities {
            let all = alice
                .get(&format!("/v1/{e}?includeDeleted=true"))
                .await
                .expect(200);
            assert!(uids(&all).is_empty(), "{e} hard-deleted");
        }
        let state = alice.get("/v1/sync/state").await.expect(200);
        assert_eq!(state["epoch"], 2);
        assert_eq!(state["lastWipeBy"], session["userId"]);
        instant(&state["lastWipeAt"]);
        // Bob is untouched.
        let bobs = bob.get("/v1/notes").await.expect(200);
        assert_eq!(bobs["items"][0]["payload"]["title"], "bob's");
        assert_eq!(
            bob.get("/v1/sync/state").await.expect(200),
            json!({"epoch": 1})
        );
    }
}

#[tokio::test]
async fn the_wipe_method_matches_the_route_and_bump_epoch_is_only_the_epoch() {
    let h = start(EmulatorConfig::current()).await;
    let alice = Client::with_session(&h, "alice").await;
    alice.create("task_lists", json!({})).await;
    // bump_epoch: the session survives, so the next call is a 409.
    assert_eq!(h.emulator.bump_epoch("alice"), 2);
    assert_eq!(alice.get("/v1/notes").await.expect(409)["epoch"], 2);
    assert_eq!(h.emulator.open_sessions("alice"), 1);
    // wipe: the session ends, the data goes.
    assert_eq!(h.emulator.wipe("alice"), 3);
    alice.get("/v1/notes").await.expect(428);
    assert_eq!(h.emulator.open_sessions("alice"), 0);
    let mut fresh = Client::with_session(&h, "alice").await;
    fresh.epoch = Some("3".into());
    let lists = fresh
        .get("/v1/task_lists?includeDeleted=true")
        .await
        .expect(200);
    assert_eq!(lists["items"], Value::Array(vec![]));
    // The current generation wants its tenant header on wipe and state too.
    fresh.tenant = Tenant::None;
    for (method, path) in [
        (Method::GET, "/v1/sync/state"),
        (Method::POST, "/v1/sync/wipe"),
    ] {
        let r = fresh
            .call(method, path, Some(json!({"confirm": "WIPE"})))
            .await;
        r.expect_plain(401, "Unauthorized: missing tenant header");
    }
}
