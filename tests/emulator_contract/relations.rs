//! Contract section 4 across items: client uids, pagination, link fields, user isolation.

use reqwest::Method;
use serde_json::json;
use toolbridge_mcp::emulator::EmulatorConfig;

use crate::support::*;

#[tokio::test]
async fn client_uids_are_kept_and_duplicates_refused() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    let uid = uuid::Uuid::new_v4().to_string();
    let item = c
        .create(
            "tasks",
            json!({"uid": uid, "title": "x", "sync": {"version": 99}}),
        )
        .await;
    assert_eq!((&item["uid"], &item["version"]), (&json!(uid), &json!(1)));
    assert_eq!(item["payload"]["sync"]["version"], 1, "server fields win");
    c.post("/v1/tasks", json!({"uid": uid})).await.expect(409);
    c.call(Method::DELETE, &format!("/v1/tasks/{uid}"), None)
        .await
        .expect(200);
    c.post("/v1/tasks", json!({"uid": uid})).await.expect(409);
}

#[tokio::test]
async fn pagination_walks_oldest_first_without_duplicates() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            c.create("notes", json!({"title": i})).await["uid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Touching the first one moves it to the end.
    c.call(
        Method::PATCH,
        &format!("/v1/notes/{}", made[0]),
        Some(json!({"t": 1})),
    )
    .await
    .expect(200);
    made.rotate_left(1);
    let (mut seen, mut cursor, mut sizes) = (Vec::new(), None::<String>, Vec::new());
    loop {
        let path = match &cursor {
            Some(cur) => format!("/v1/notes?limit=2&cursor={cur}"),
            None => "/v1/notes?limit=2".to_owned(),
        };
        let page = c.get(&path).await.expect(200);
        let got = uids(&page);
        sizes.push(got.len());
        if got.is_empty() {
            assert!(
                page.get("nextCursor").is_none(),
                "no cursor on an empty page"
            );
            break;
        }
        seen.extend(got);
        cursor = Some(page["nextCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(sizes, vec![2, 2, 1, 0]);
    assert_eq!(seen, made, "oldest change first, each once");
    // An undecodable cursor restarts; bad limits fall back to the default.
    for path in [
        "/v1/notes?limit=2&cursor=%%%garbage",
        "/v1/notes?limit=2&cursor=bm9wZQ",
    ] {
        assert_eq!(
            uids(&c.get(path).await.expect(200)),
            made[..2].to_vec(),
            "{path}"
        );
    }
    for limit in ["0", "-3", "abc"] {
        assert_eq!(
            uids(&c.get(&format!("/v1/notes?limit={limit}")).await.expect(200)).len(),
            5
        );
    }
}

#[tokio::test]
async fn links_are_checked_on_every_write() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    let note = c.create("notes", json!({"title": "n"})).await["uid"].clone();
    let task = c.create("tasks", json!({"title": "t"})).await["uid"].clone();
    let chat = c.create("chats", json!({"title": "c"})).await["uid"].clone();
    let fail = |verb: &str, name: &str| format!("failed to {verb} {name}");
    for bad in [
        json!({"content": "x"}),
        json!({"parentType": "note", "parentUid": uuid::Uuid::new_v4()}),
        json!({"parentType": "chat", "parentUid": chat}),
        json!({"parentType": "task", "parentUid": note}),
    ] {
        c.post("/v1/comments", bad)
            .await
            .expect_error(500, &fail("create", "comment"));
    }
    let on_task = c
        .create("comments", json!({"parentType": "task", "parentUid": task}))
        .await;
    let comment = c
        .create(
            "comments",
            json!({"content": "x", "parentType": "note", "parentUid": note}),
        )
        .await;
    let path = format!("/v1/comments/{}", comment["uid"].as_str().unwrap());
    // PUT replaces everything: without the link fields it fails, with them it works.
    c.call(Method::PUT, &path, Some(json!({"content": "y"})))
        .await
        .expect_error(500, &fail("update", "comment"));
    let body = json!({"content": "y", "parentType": "note", "parentUid": note});
    assert_eq!(
        c.call(Method::PUT, &path, Some(body)).await.expect(200)["version"],
        2
    );
    // Once the parent is deleted, every write of the child fails; a read still works.
    c.call(
        Method::DELETE,
        &format!("/v1/notes/{}", note.as_str().unwrap()),
        None,
    )
    .await
    .expect(200);
    c.call(Method::PATCH, &path, Some(json!({"a": 1})))
        .await
        .expect_error(500, &fail("patch", "comment"));
    c.post(&format!("{path}/archive"), json!({}))
        .await
        .expect_error(500, &fail("archive", "comment"));
    c.post(&format!("{path}/process"), json!({"action": "resolve"}))
        .await
        .expect_error(500, &fail("process", "comment"));
    c.get(&path).await.expect(200);
    c.call(Method::DELETE, &path, None).await.expect(200);
    assert_eq!(on_task["payload"]["parentType"], "task");

    let msg = c
        .create("chat_messages", json!({"chatUid": chat, "content": "hi"}))
        .await;
    let mpath = format!("/v1/chat_messages/{}", msg["uid"].as_str().unwrap());
    c.call(Method::PUT, &mpath, Some(json!({"content": "y"})))
        .await
        .expect_error(500, &fail("update", "chat message"));
    c.call(
        Method::DELETE,
        &format!("/v1/chats/{}", chat.as_str().unwrap()),
        None,
    )
    .await
    .expect(200);
    c.post("/v1/chat_messages", json!({"chatUid": chat}))
        .await
        .expect_error(500, &fail("create", "chat message"));
    c.post(&format!("{mpath}/process"), json!({"action": "mark_read"}))
        .await
        .expect_error(500, &fail("process", "chat message"));
}

#[tokio::test]
async fn users_never_see_each_other() {
    let h = start(EmulatorConfig::default()).await;
    let alice = Client::with_session(&h, "alice").await;
    let bob = Client::with_session(&h, "bob").await;
    let note = alice.create("notes", json!({"title": "secret"})).await;
    let path = format!("/v1/notes/{}", note["uid"].as_str().unwrap());
    assert!(uids(&bob.get("/v1/notes?includeDeleted=true").await.expect(200)).is_empty());
    bob.get(&path).await.expect_error(404, "note not found");
    bob.call(Method::DELETE, &path, None).await.expect(404);
    // Bob cannot hang a comment on Alice's note either.
    let link = json!({"parentType": "note", "parentUid": note["uid"]});
    bob.post("/v1/comments", link.clone())
        .await
        .expect_error(500, "failed to create comment");
    // The same uid may exist for both users.
    bob.create("notes", json!({"uid": note["uid"]})).await;
    assert_eq!(
        alice.get(&path).await.expect(200)["payload"]["title"],
        "secret"
    );
    alice.create("comments", link).await;
}
