//! Contract section 4 across items: client uids, pagination, link fields, user isolation.

use reqwest::Method;
use serde_json::json;
use toolbridge_mcp::emulator::EmulatorConfig;

use crate::emulator_contract::support::*;

#[tokio::test]
async fn client_uids_are_kept_and_existing_ones_upserted() {
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
    // An existing uid: payload replaced, version + 1, still 201.
    let again = c.create("tasks", json!({"uid": uid, "title": "y"})).await;
    assert_eq!(
        (&again["version"], &again["payload"]["title"]),
        (&json!(2), &json!("y"))
    );
    c.call(Method::DELETE, &format!("/v1/tasks/{uid}"), None)
        .await
        .expect(200);
    // A deleted one is revived.
    let revived = c.create("tasks", json!({"uid": uid.to_uppercase()})).await;
    assert_eq!(
        (&revived["uid"], &revived["version"]),
        (&json!(uid), &json!(4))
    );
    assert!(revived.get("deletedAt").is_none());
    assert_eq!(
        revived["payload"]["sync"],
        json!({"version": 4, "isDeleted": false})
    );
    c.get(&format!("/v1/tasks/{uid}")).await.expect(200);
    // An upsert is a write like any other: the links must hold.
    let note = c.create("notes", json!({})).await;
    let link = json!({"parentType": "note", "parentUid": note["uid"]});
    let comment = c.create("comments", link).await;
    let body = json!({"uid": comment["uid"], "parentType": "chat", "parentUid": note["uid"]});
    c.post("/v1/comments", body)
        .await
        .expect_error(500, "failed to create comment");
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

#[tokio::test]
async fn deleting_a_task_list_detaches_its_live_tasks_in_the_same_step() {
    let h = start(toolbridge_mcp::emulator::EmulatorConfig::current()).await;
    let c = Client::with_session(&h, "alice").await;
    let list = c.create("task_lists", json!({"title": "groceries"})).await;
    let other = c.create("task_lists", json!({})).await;
    let list_uid = list["uid"].as_str().unwrap().to_owned();
    // Neither link of a task is checked.
    let dangling = uuid::Uuid::new_v4().to_string();
    c.create(
        "tasks",
        json!({"taskListUid": dangling, "parentUid": dangling}),
    )
    .await;
    let member = c
        .create("tasks", json!({"title": "milk", "taskListUid": list_uid}))
        .await;
    let gone = c.create("tasks", json!({"taskListUid": list_uid})).await;
    let gone_path = format!("/v1/tasks/{}", gone["uid"].as_str().unwrap());
    c.delete(&gone_path).await.expect(200);
    let upper = c
        .create("tasks", json!({"taskListUid": list_uid.to_uppercase()}))
        .await;
    let elsewhere = c
        .create("tasks", json!({"taskListUid": other["uid"]}))
        .await;

    let deleted = c
        .delete(&format!("/v1/task_lists/{list_uid}"))
        .await
        .expect(200);
    let path = format!("/v1/tasks/{}", member["uid"].as_str().unwrap());
    let t = c.get(&path).await.expect(200);
    let p = &t["payload"];
    assert!(p.get("taskListUid").is_none(), "{t}");
    assert_eq!(
        (&p["title"], &t["version"], &p["sync"]["version"]),
        (&json!("milk"), &json!(2), &json!(2))
    );
    // The same instant as the list's deletion, written with three fraction digits.
    assert_eq!(instant(&t["updatedAt"]), instant(&deleted["updatedAt"]));
    let three = chrono::DateTime::parse_from_rfc3339(t["updatedAt"].as_str().unwrap())
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for stamp in [
        &p["updatedTs"],
        &p["updateTime"],
        &p["updatedAt"],
        &p["sync"]["updatedAt"],
    ] {
        assert_eq!(stamp.as_str(), Some(three.as_str()), "{t}");
    }
    // Untouched: a deleted task, another spelling of the uid, another list's task.
    let kept = c
        .get(&format!("{gone_path}?includeDeleted=true"))
        .await
        .expect(200);
    assert_eq!(kept["payload"]["taskListUid"], json!(list_uid));
    for (item, version) in [(&upper, 1), (&elsewhere, 1)] {
        let now = c
            .get(&format!("/v1/tasks/{}", item["uid"].as_str().unwrap()))
            .await
            .expect(200);
        assert_eq!(
            (
                now["version"].as_i64(),
                now["payload"].get("taskListUid").is_some()
            ),
            (Some(version), true)
        );
    }
    // The next write is an ordinary one again: `sync.updatedAt` goes, payload fields stay.
    let patched = c
        .call(Method::PATCH, &path, Some(json!({"done": true})))
        .await
        .expect(200);
    assert!(patched["payload"]["sync"].get("updatedAt").is_none());
    assert_eq!(patched["payload"]["updatedTs"], patched["updatedAt"]);
    assert_eq!(
        patched["payload"]["updatedAt"].as_str(),
        Some(three.as_str())
    );
    // Deleting a category cascades nothing.
    let cat = c
        .create("task_list_categories", json!({"name": "home"}))
        .await;
    let in_cat = c
        .create(
            "tasks",
            json!({"taskListUid": cat["uid"], "categoryUid": cat["uid"]}),
        )
        .await;
    c.delete(&format!(
        "/v1/task_list_categories/{}",
        cat["uid"].as_str().unwrap()
    ))
    .await
    .expect(200);
    let after = c
        .get(&format!("/v1/tasks/{}", in_cat["uid"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(after["version"], 1);
}
