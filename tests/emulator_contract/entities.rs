//! Contract section 4: the life of every entity, errors, pagination, links, isolation.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};
use toolbridge_mcp::emulator::EmulatorConfig;

use crate::support::*;

/// What the contract's entity table says, written out independently of the emulator's.
struct Case {
    entity: &'static str,
    name: &'static str,
    archive: (&'static str, Value),
    actions: Vec<(&'static str, &'static str, Value)>,
}

fn cases() -> Vec<Case> {
    let s = |v: &str| json!(v);
    vec![
        Case {
            entity: "notes",
            name: "note",
            archive: ("status", s("archived")),
            actions: vec![
                ("pin", "pinned", json!(true)),
                ("unpin", "pinned", json!(false)),
                ("archive", "status", s("archived")),
                ("unarchive", "status", s("active")),
            ],
        },
        Case {
            entity: "tasks",
            name: "task",
            archive: ("status", s("archived")),
            actions: vec![
                ("start", "status", s("in_progress")),
                ("complete", "status", s("completed")),
                ("reopen", "status", s("open")),
            ],
        },
        Case {
            entity: "comments",
            name: "comment",
            archive: ("status", s("archived")),
            actions: vec![
                ("resolve", "status", s("resolved")),
                ("reopen", "status", s("open")),
            ],
        },
        Case {
            entity: "chats",
            name: "chat",
            archive: ("archived", json!(true)),
            actions: vec![
                ("resolve", "status", s("resolved")),
                ("reopen", "status", s("active")),
            ],
        },
        Case {
            entity: "chat_messages",
            name: "chat message",
            archive: ("archived", json!(true)),
            actions: vec![
                ("mark_read", "read", json!(true)),
                ("mark_delivered", "delivered", json!(true)),
            ],
        },
    ]
}

/// Merges the object `extra` into the object `base`.
fn with(mut base: Value, extra: &Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn uids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uid"].as_str().unwrap().to_owned())
        .collect()
}

/// Walks one item through every route, checking each answer.
async fn life(c: &Client, case: &Case, links: &Value) {
    let (e, name) = (case.entity, case.name);
    let created = c
        .create(e, with(json!({"title": "t1", "extra": 1}), links))
        .await;
    let uid = created["uid"].as_str().unwrap().to_owned();
    assert_eq!(created["version"], 1);
    assert!(created.get("deletedAt").is_none());
    let p = &created["payload"];
    assert_eq!(
        (&p["title"], &p["uid"], &p["updatedTs"]),
        (&json!("t1"), &created["uid"], &created["updatedAt"])
    );
    assert_eq!(p["sync"], json!({"version": 1, "isDeleted": false}));
    let at = created["updatedAt"].as_str().unwrap();
    assert!(
        at.ends_with('Z') && at.contains('.'),
        "RFC 3339 with ms: {at}"
    );
    let item = format!("/v1/{e}/{uid}");
    assert_eq!(c.get(&item).await.expect(200), created);
    assert!(uids(&c.get(&format!("/v1/{e}")).await.expect(200)).contains(&uid));

    let mut stamps = vec![created["updatedAt"].as_str().unwrap().to_owned()];
    let mut track = |v: &Value, version: i64| {
        assert_eq!(v["version"], version, "{e}: {v}");
        assert_eq!(v["payload"]["sync"]["version"], version);
        let stamp = v["updatedAt"].as_str().unwrap().to_owned();
        assert!(
            stamp > *stamps.last().unwrap(),
            "{e}: updatedAt must increase"
        );
        stamps.push(stamp);
    };
    // PUT replaces the payload; If-Match quoted, then unquoted, then stale.
    let put = |if_match: &'static str, title: &'static str| {
        let rb = c.request(Method::PUT, &item).header("if-match", if_match);
        let body = with(json!({"title": title}), links);
        send(
            rb.header("content-type", "application/json")
                .body(body.to_string()),
        )
    };
    let v = put("\"1\"", "t2").await.expect(200);
    track(&v, 2);
    assert_eq!(v["payload"]["title"], "t2");
    assert!(
        v["payload"].get("extra").is_none(),
        "PUT replaces the whole payload"
    );
    track(&put("2", "t3").await.expect(200), 3);
    put("1", "t4")
        .await
        .expect_error(412, "version mismatch: expected 1, current 3");
    // PATCH merges; `uid` and `sync` of the body are ignored.
    let v = c
        .call(
            Method::PATCH,
            &item,
            Some(json!({"color": "red", "uid": "x", "sync": 5})),
        )
        .await
        .expect(200);
    track(&v, 4);
    assert_eq!(
        (&v["payload"]["color"], &v["payload"]["title"]),
        (&json!("red"), &json!("t3"))
    );
    assert_eq!(v["payload"]["uid"], uid.as_str());
    // Every action, with its effect.
    let mut version = 4;
    for (action, field, value) in &case.actions {
        let body = json!({"action": action, "metadata": {"by": "test"}});
        let v = c.post(&format!("{item}/process"), body).await.expect(200);
        version += 1;
        track(&v, version);
        assert_eq!(&v["payload"][field], value, "{e} {action}");
    }
    c.post(&format!("{item}/process"), json!({"action": "explode"}))
        .await
        .expect_error(400, "invalid action: explode");
    let v = c
        .post(&format!("{item}/archive"), json!({}))
        .await
        .expect(200);
    version += 1;
    track(&v, version);
    assert_eq!(v["payload"][case.archive.0], case.archive.1);

    // Soft delete: no payload in the answer.
    let d = c.call(Method::DELETE, &item, None).await.expect(200);
    let keys: HashSet<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        HashSet::from(["uid", "version", "updatedAt", "deletedAt"])
    );
    assert_eq!(d["version"], version + 1);
    assert_eq!(d["deletedAt"], d["updatedAt"]);
    let gone = c
        .get(&item)
        .await
        .expect_error(410, &format!("{name} deleted"));
    assert_eq!(gone["deletedAt"], d["deletedAt"]);
    let kept = c
        .get(&format!("{item}?includeDeleted=true"))
        .await
        .expect(200);
    assert_eq!(
        (&kept["deletedAt"], &kept["payload"]["sync"]["isDeleted"]),
        (&d["deletedAt"], &json!(true))
    );
    assert_eq!(kept["payload"]["sync"]["deletedAt"], d["deletedAt"]);
    // Every change of a deleted item is 410.
    for (method, path, body) in [
        (
            Method::PUT,
            item.clone(),
            Some(with(json!({"title": "x"}), links)),
        ),
        (Method::PATCH, item.clone(), Some(json!({"a": 1}))),
        (Method::DELETE, item.clone(), None),
        (Method::POST, format!("{item}/archive"), Some(json!({}))),
        (
            Method::POST,
            format!("{item}/process"),
            Some(json!({"action": case.actions[0].0})),
        ),
    ] {
        c.call(method.clone(), &path, body)
            .await
            .expect_error(410, &format!("{name} deleted"));
    }
    assert!(!uids(&c.get(&format!("/v1/{e}")).await.expect(200)).contains(&uid));
    assert!(
        uids(
            &c.get(&format!("/v1/{e}?includeDeleted=true"))
                .await
                .expect(200)
        )
        .contains(&uid)
    );
}

#[tokio::test]
async fn every_entity_lives_its_full_life() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    let note = c.create("notes", json!({"title": "parent"})).await["uid"].clone();
    let chat = c.create("chats", json!({"title": "room"})).await["uid"].clone();
    for case in cases() {
        let links = match case.entity {
            "comments" => json!({"parentType": "note", "parentUid": note}),
            "chat_messages" => json!({"chatUid": chat}),
            _ => json!({}),
        };
        life(&c, &case, &links).await;
    }
}

#[tokio::test]
async fn malformed_requests_are_400_and_unknown_items_404() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    for e in ENTITIES {
        c.get(&format!("/v1/{e}/not-a-uuid"))
            .await
            .expect_error(400, "invalid UID");
        c.post(&format!("/v1/{e}"), json!({"uid": "nope"}))
            .await
            .expect_error(400, "invalid UID");
        c.post(&format!("/v1/{e}"), json!({"uid": 7}))
            .await
            .expect_error(400, "invalid UID");
        for raw in ["{not json", "[1,2]", "\"text\"", ""] {
            let rb = c.request(Method::POST, &format!("/v1/{e}")).body(raw);
            send(rb).await.expect_error(400, "invalid JSON");
        }
        let missing = format!("/v1/{e}/{}", uuid::Uuid::new_v4());
        let name = cases().into_iter().find(|k| k.entity == e).unwrap().name;
        c.get(&missing)
            .await
            .expect_error(404, &format!("{name} not found"));
        c.call(Method::PATCH, &missing, Some(json!({})))
            .await
            .expect_error(404, &format!("{name} not found"));
        c.call(Method::DELETE, &missing, None).await.expect(404);
    }
    let n = c.create("notes", json!({"title": "a"})).await;
    let item = format!("/v1/notes/{}", n["uid"].as_str().unwrap());
    send(c.request(Method::PATCH, &item).body("nope"))
        .await
        .expect_error(400, "invalid JSON");
    c.post(&format!("{item}/process"), json!({"metadata": {}}))
        .await
        .expect_error(400, "invalid action: ");
    c.post(
        &format!("{item}/process"),
        json!({"action": "pin", "metadata": "x"}),
    )
    .await
    .expect_error(400, "invalid JSON");
    c.post(&format!("{item}/archive"), json!([1]))
        .await
        .expect_error(400, "invalid JSON");
    send(c.request(Method::POST, &format!("{item}/archive")))
        .await
        .expect(200);
    let big = vec![b' '; 5 * 1024 * 1024];
    send(c.request(Method::POST, "/v1/notes").body(big))
        .await
        .expect_error(413, "request body too large");
}

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
