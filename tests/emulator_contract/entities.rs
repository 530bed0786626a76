//! Contract section 4: the life of every entity through every route, and the 4xx answers.

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
