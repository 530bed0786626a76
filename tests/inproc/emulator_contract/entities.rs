//! Contract sections 4, 7.6 and 7.7: the life of every entity of each generation through
//! every route, with the shapes each generation answers.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};
use toolbridge_mcp::emulator::{EmulatorConfig, Generation};

use crate::emulator_contract::support::*;

/// What the contract's entity tables say, written out independently of the emulator's.
pub struct Case {
    pub entity: &'static str,
    pub name: &'static str,
    pub archive: Vec<(&'static str, Value)>,
    pub actions: Vec<(&'static str, Vec<(&'static str, Value)>)>,
    /// `invalid action: ` (§4) or `unknown action: ` (§7.6).
    pub bad_action: &'static str,
}

pub fn cases(generation: Generation) -> Vec<Case> {
    let current = generation == Generation::Current;
    let s = |v: &str| json!(v);
    // Tasks' `done` exists only in the current generation (§7.7).
    let task = |status: &str, done: bool| {
        let mut sets = vec![("status", s(status))];
        if current {
            sets.push(("done", json!(done)));
        }
        sets
    };
    let one = |field: &'static str, v: Value| vec![(field, v)];
    let mut all = vec![
        Case {
            entity: "notes",
            name: "note",
            archive: one("status", s("archived")),
            actions: vec![
                ("pin", one("pinned", json!(true))),
                ("unpin", one("pinned", json!(false))),
                ("archive", one("status", s("archived"))),
                ("unarchive", one("status", s("active"))),
            ],
            bad_action: "invalid action: ",
        },
        Case {
            entity: "tasks",
            name: "task",
            archive: task("archived", true),
            actions: vec![
                ("start", task("in_progress", false)),
                ("complete", task("completed", true)),
                ("reopen", task("open", false)),
            ],
            bad_action: "invalid action: ",
        },
        Case {
            entity: "comments",
            name: "comment",
            archive: one("status", s("archived")),
            actions: vec![
                ("resolve", one("status", s("resolved"))),
                ("reopen", one("status", s("open"))),
            ],
            bad_action: "invalid action: ",
        },
        Case {
            entity: "chats",
            name: "chat",
            archive: one("archived", json!(true)),
            actions: vec![
                ("resolve", one("status", s("resolved"))),
                ("reopen", one("status", s("active"))),
            ],
            bad_action: "invalid action: ",
        },
        Case {
            entity: "chat_messages",
            name: "chat message",
            archive: one("archived", json!(true)),
            actions: vec![
                ("mark_read", one("read", json!(true))),
                ("mark_delivered", one("delivered", json!(true))),
            ],
            bad_action: "invalid action: ",
        },
    ];
    if current {
        for (entity, name) in [
            ("task_lists", "task_list"),
            ("task_list_categories", "task_list_category"),
        ] {
            all.push(Case {
                entity,
                name,
                archive: one("archived", json!(true)),
                actions: vec![("unarchive", one("archived", json!(false)))],
                bad_action: "unknown action: ",
            });
        }
    }
    all
}

/// Merges the object `extra` into the object `base`.
pub fn with(mut base: Value, extra: &Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// The server fields of a payload, checked against its item.
fn check_server_fields(item: &Value, generation: Generation, entity: &str) {
    let p = &item["payload"];
    assert_eq!(
        (&p["uid"], &p["updatedTs"]),
        (&item["uid"], &item["updatedAt"]),
        "{item}"
    );
    let deleted = item.get("deletedAt").is_some();
    assert_eq!(p["sync"]["version"], item["version"]);
    assert_eq!(p["sync"]["isDeleted"], deleted);
    assert_eq!(p["sync"].get("deletedAt"), item.get("deletedAt"));
    instant(&item["updatedAt"]);
    let flat = [
        "version",
        "isDirty",
        "isDeleted",
        "remoteUpdatedAt",
        "lastSyncedAt",
    ];
    match generation {
        Generation::Seed => {
            assert!(p.get("updateTime").is_none(), "{p}");
            for f in flat {
                assert!(p.get(f).is_none(), "seed {entity}: no {f}");
            }
        }
        Generation::Current => {
            assert_eq!(p["updateTime"], p["updatedTs"]);
            if entity == "notes" {
                assert_eq!(
                    (&p["version"], &p["isDirty"]),
                    (&item["version"], &json!(0))
                );
                assert_eq!(p["isDeleted"], json!(i32::from(deleted)));
                assert_eq!(p["remoteUpdatedAt"], item["updatedAt"]);
                assert_eq!(p["lastSyncedAt"], item["updatedAt"]);
            } else {
                for f in flat {
                    assert!(p.get(f).is_none(), "current {entity}: no {f}");
                }
            }
        }
    }
}

/// Walks one item through every route, checking each answer.
async fn life(c: &Client, case: &Case, links: &Value, generation: Generation) {
    let (e, name) = (case.entity, case.name);
    let created = c
        .create(e, with(json!({"title": "t1", "extra": 1}), links))
        .await;
    let uid = created["uid"].as_str().unwrap().to_owned();
    assert_eq!(created["version"], 1);
    assert!(created.get("deletedAt").is_none());
    assert_eq!(created["payload"]["title"], "t1");
    check_server_fields(&created, generation, e);
    let item = format!("/v1/{e}/{uid}");
    assert_eq!(c.get(&item).await.expect(200), created);
    assert!(uids(&c.get(&format!("/v1/{e}")).await.expect(200)).contains(&uid));

    let mut stamps = vec![instant(&created["updatedAt"])];
    let mut track = |v: &Value, version: i64| {
        assert_eq!(v["version"], version, "{e}: {v}");
        check_server_fields(v, generation, e);
        let stamp = instant(&v["updatedAt"]);
        assert!(
            stamp > *stamps.last().unwrap(),
            "{e}: updatedAt must increase"
        );
        stamps.push(stamp);
    };
    let write = |method: Method, if_match: Option<&str>, body: Value| {
        let mut rb = c
            .request(method, &item)
            .header("content-type", "application/json");
        if let Some(m) = if_match {
            rb = rb.header("if-match", m);
        }
        send(rb.body(body.to_string()))
    };
    // PUT replaces the payload; If-Match quoted, then bare, then stale.
    let v = write(
        Method::PUT,
        Some("\"1\""),
        with(json!({"title": "t2"}), links),
    )
    .await
    .expect(200);
    track(&v, 2);
    assert_eq!(v["payload"]["title"], "t2");
    assert!(
        v["payload"].get("extra").is_none(),
        "PUT replaces the whole payload"
    );
    track(
        &write(Method::PUT, Some("2"), with(json!({"title": "t3"}), links))
            .await
            .expect(200),
        3,
    );
    write(Method::PUT, Some("1"), with(json!({"title": "t4"}), links))
        .await
        .expect_error(
            412,
            "version mismatch: version mismatch: expected 1, actual 3",
        );
    // Anything but a decimal integer is ignored: the write is unconditional.
    let mut version = 3;
    for ignored in ["W/\"1\"", "*", "abc"] {
        version += 1;
        let v = write(
            Method::PUT,
            Some(ignored),
            with(json!({"title": "t3"}), links),
        )
        .await;
        track(&v.expect(200), version);
    }
    // PATCH merges, honours If-Match, and ignores the body's `uid` and `sync`.
    write(Method::PATCH, Some("2"), json!({"color": "red"}))
        .await
        .expect_error(
            412,
            &format!("version mismatch: version mismatch: expected 2, actual {version}"),
        );
    let current = format!("\"{version}\"");
    let body = json!({"color": "red", "uid": "x", "sync": 5});
    let v = write(Method::PATCH, Some(&current), body).await.expect(200);
    version += 1;
    track(&v, version);
    assert_eq!(
        (&v["payload"]["color"], &v["payload"]["title"]),
        (&json!("red"), &json!("t3"))
    );
    assert_eq!(v["payload"]["uid"], uid.as_str());
    // Every action, with its effects.
    for (action, sets) in &case.actions {
        let body = json!({"action": action, "metadata": {"by": "test"}});
        let v = c.post(&format!("{item}/process"), body).await.expect(200);
        version += 1;
        track(&v, version);
        for (field, value) in sets {
            assert_eq!(&v["payload"][field], value, "{e} {action} {field}");
        }
        if generation == Generation::Seed {
            assert!(v["payload"].get("done").is_none(), "seed: no `done`");
        }
    }
    c.post(&format!("{item}/process"), json!({"action": "explode"}))
        .await
        .expect_error(400, &format!("{}explode", case.bad_action));
    // Archive never reads its body.
    let r = c
        .raw(Method::POST, &format!("{item}/archive"), "not json at all")
        .await;
    let v = r.expect(200);
    version += 1;
    track(&v, version);
    for (field, value) in &case.archive {
        assert_eq!(&v["payload"][field], value, "{e} archive {field}");
    }

    // Soft delete: seed answers a summary, current the full item.
    let d = c.delete(&item).await.expect(200);
    version += 1;
    let keys: HashSet<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    match generation {
        Generation::Seed => {
            assert_eq!(
                keys,
                HashSet::from(["uid", "version", "updatedAt", "deletedAt"])
            );
            assert_eq!(d["version"], version);
        }
        Generation::Current => {
            track(&d, version);
            assert_eq!(d["payload"]["color"], "red", "the deleted payload");
        }
    }
    assert_eq!(d["deletedAt"], d["updatedAt"]);
    let gone = c.get(&item).await.expect_gone(&format!("{name} deleted"));
    assert_eq!(gone["deletedAt"], d["deletedAt"]);
    let kept = c
        .get(&format!("{item}?includeDeleted=true"))
        .await
        .expect(200);
    assert_eq!(kept["deletedAt"], d["deletedAt"]);
    check_server_fields(&kept, generation, e);
    c.get(&format!("{item}?includeDeleted=1")).await.expect(410);
    // Every change of a deleted item is 410, even a process with a bad action.
    for (method, path, body) in [
        (
            Method::PUT,
            item.clone(),
            Some(with(json!({"title": "x"}), links)),
        ),
        (Method::PATCH, item.clone(), Some(json!({"a": 1}))),
        (Method::POST, format!("{item}/archive"), Some(json!({}))),
        (
            Method::POST,
            format!("{item}/process"),
            Some(json!({"action": case.actions[0].0})),
        ),
        (
            Method::POST,
            format!("{item}/process"),
            Some(json!({"action": "explode"})),
        ),
    ] {
        c.call(method, &path, body)
            .await
            .expect_gone(&format!("{name} deleted"));
    }
    c.delete(&item)
        .await
        .expect_gone(&format!("{name} already deleted"));
    assert!(!uids(&c.get(&format!("/v1/{e}")).await.expect(200)).contains(&uid));
    let all = c
        .get(&format!("/v1/{e}?includeDeleted=true"))
        .await
        .expect(200);
    assert!(uids(&all).contains(&uid));
    // POST with the uid upserts: payload replaced, version + 1, revived, still 201.
    let revived = c
        .create(e, with(json!({"uid": uid, "title": "back"}), links))
        .await;
    version += 1;
    track(&revived, version);
    assert!(revived.get("deletedAt").is_none());
    assert!(
        revived["payload"].get("color").is_none(),
        "payload replaced"
    );
    assert_eq!(c.get(&item).await.expect(200)["payload"]["title"], "back");
}

#[tokio::test]
async fn every_entity_of_each_generation_lives_its_full_life() {
    for (cfg, generation) in [
        (EmulatorConfig::default(), Generation::Seed),
        (EmulatorConfig::current(), Generation::Current),
    ] {
        let h = start(EmulatorConfig {
            rate_limit: None,
            ..cfg
        })
        .await;
        let c = Client::with_session(&h, "alice").await;
        let note = c.create("notes", json!({"title": "parent"})).await["uid"].clone();
        let chat = c.create("chats", json!({"title": "room"})).await["uid"].clone();
        let all = cases(generation);
        assert_eq!(
            all.len(),
            if generation == Generation::Seed { 5 } else { 7 }
        );
        for case in all {
            let links = match case.entity {
                "comments" => json!({"parentType": "note", "parentUid": note}),
                "chat_messages" => json!({"chatUid": chat}),
                _ => json!({}),
            };
            life(&c, &case, &links, generation).await;
            // The test-side view agrees with the emulator's own.
            let listed = c
                .get(&format!("/v1/{}?includeDeleted=true", case.entity))
                .await
                .expect(200);
            let first = &listed["items"][0];
            let stored = h
                .emulator
                .item("alice", case.entity, first["uid"].as_str().unwrap());
            assert_eq!(stored.as_ref(), Some(first));
        }
        assert_eq!(h.emulator.item("alice", "notes", "not-a-uid"), None);
        assert_eq!(
            h.emulator
                .item("nobody", "notes", &uuid::Uuid::new_v4().to_string()),
            None
        );
    }
}
