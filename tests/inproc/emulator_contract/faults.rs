//! Fault injection, the request log, in-flight and aborted-request accounting, shutdown.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use toolbridge_mcp::emulator::{EmulatorConfig, Fault};

use crate::emulator_contract::support::*;

/// Polls `cond` every 10 ms until it holds; gives up (and fails) after 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn every_fault_kind_answers_as_documented() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    let faults = h.emulator.faults();

    faults.push(Fault::Status {
        status: 503,
        json_error: "down for maintenance".into(),
    });
    c.get("/v1/notes")
        .await
        .expect_error(503, "down for maintenance");

    faults.push(Fault::Html502);
    let r = c.get("/v1/notes").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (502, "<html>Bad Gateway</html>")
    );
    assert_eq!(r.header("content-type"), Some("text/html"));

    faults.push(Fault::NonJson200);
    let r = c.get("/v1/notes").await;
    assert_eq!(
        (r.status, r.text().as_str(), r.header("content-type")),
        (200, "hello", Some("text/plain"))
    );

    faults.push(Fault::TruncatedJson);
    let r = c
        .request(Method::GET, "/v1/notes")
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(r.bytes().await.is_err(), "the body is cut short");

    h.emulator.bump_epoch("alice");
    h.emulator.bump_epoch("alice");
    faults.push(Fault::EpochMismatch);
    let r = send(
        c.request(Method::GET, "/v1/notes")
            .header("x-correlation-id", "f-1"),
    )
    .await;
    assert_eq!(r.expect_error(409, "epoch_mismatch")["epoch"], 3);
    assert_eq!(r.header("x-sync-epoch"), Some("3"));
    let mut c = c;
    c.epoch = Some("3".into());

    faults.push(Fault::SessionExpired);
    c.get("/v1/notes").await.expect(428);

    faults.push(Fault::RateLimited {
        retry_after_secs: 7,
    });
    let r = c.get("/v1/notes").await;
    r.expect(429);
    assert_eq!(r.header("retry-after"), Some("7"));
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-burst",
    ] {
        assert!(r.header(name).is_some(), "{name}");
    }

    faults.push(Fault::Delay(Duration::from_millis(50)));
    c.get("/v1/notes").await.expect(200);
    assert_eq!(faults.queued(), 0, "every one-shot was consumed once");
    c.get("/v1/notes").await.expect(200);
}

#[tokio::test]
async fn faults_skip_sessions_and_come_before_auth_persistent_until_cleared() {
    let h = start(EmulatorConfig::default()).await;
    let faults = h.emulator.faults();
    faults.set_persistent(Some(Fault::Html502));
    faults.push(Fault::NonJson200);
    // Session routes and health are never faulted, and do not consume faults.
    let c = Client::with_session(&h, "alice").await;
    assert_eq!(c.get("/healthz").await.status, 200);
    assert_eq!(faults.queued(), 1);
    // One-shot first, then the persistent one, even for a caller with no token at all.
    assert_eq!(c.get("/v1/tasks").await.status, 200);
    assert_eq!(c.get("/v1/tasks").await.status, 502);
    assert_eq!(Client::anonymous(&h).get("/v1/tasks").await.status, 502);
    faults.clear();
    c.get("/v1/tasks").await.expect(200);
    assert_eq!(Client::anonymous(&h).get("/v1/tasks").await.status, 401);
}

#[tokio::test]
async fn a_client_that_gives_up_is_counted_as_aborted() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    h.emulator
        .faults()
        .push(Fault::Delay(Duration::from_secs(30)));
    let impatient = c
        .request(Method::GET, "/v1/notes")
        .timeout(Duration::from_millis(200));
    assert!(impatient.send().await.is_err(), "the client times out");
    let em = h.emulator.clone();
    eventually("the dropped request is counted", || {
        em.aborted_requests() == 1
    })
    .await;
    assert_eq!(h.emulator.in_flight(), 0);
    let last = h.emulator.requests().pop().unwrap();
    assert_eq!((last.status, last.path.as_str()), (499, "/v1/notes"));
    // The emulator is unharmed.
    c.get("/v1/notes").await.expect(200);
    assert_eq!(h.emulator.aborted_requests(), 1);
}

#[tokio::test]
async fn the_global_delay_holds_requests_in_flight() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "alice").await;
    h.emulator.faults().set_delay(Duration::from_millis(300));
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.get("/v1/notes").await.status }
    });
    let em = h.emulator.clone();
    eventually("the delayed request is in flight", || em.in_flight() == 1).await;
    // Health is not delayed, so it answers while the other request waits.
    assert_eq!(c.get("/healthz").await.status, 200);
    assert_eq!(slow.await.unwrap(), 200);
    assert_eq!(h.emulator.in_flight(), 0);
    assert_eq!(h.emulator.aborted_requests(), 0);
}

#[tokio::test]
async fn the_log_records_every_request_with_its_verdicts() {
    let h = start(EmulatorConfig::default()).await;
    let mut c = Client::new(&h, "alice");
    c.get("/v1/notes").await.expect(428);
    c.open().await;
    let rb = c
        .request(Method::POST, "/v1/notes")
        .header("x-correlation-id", "c-1");
    send(rb.body(json!({"title": "x"}).to_string()))
        .await
        .expect(201);
    Client::anonymous(&h).get("/healthz").await;
    let log = h.emulator.requests();
    assert_eq!(log.len(), 4);
    let (gated, opened, created, health) = (&log[0], &log[1], &log[2], &log[3]);
    assert_eq!(
        (
            gated.status,
            gated.session_id.as_deref(),
            gated.session_valid
        ),
        (428, None, false)
    );
    assert_eq!(
        (opened.method.as_str(), opened.path.as_str(), opened.status),
        ("POST", "/v1/sync/sessions", 201)
    );
    assert_eq!(created.user.as_deref(), Some("alice"));
    assert!(created.tenant_valid && created.session_valid);
    assert_eq!(created.session_id, c.session);
    assert_eq!(
        (created.status, created.correlation_id.as_str()),
        (201, "c-1")
    );
    assert_eq!(created.header("X-Correlation-ID"), Some("c-1"));
    assert!(
        created
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert!(created.headers.iter().all(|(k, _)| *k == k.to_lowercase()));
    assert!(created.at_ms >= gated.at_ms);
    assert_eq!((health.user.as_deref(), health.tenant_valid), (None, false));
    // Stale tenant headers are recorded as invalid.
    let mut stale = c.clone();
    stale.tenant = Tenant::None;
    let mut rb = stale.request(Method::GET, "/v1/notes");
    for (k, v) in tenant_headers(TENANT, "1000", TENANT_SECRET) {
        rb = rb.header(k, v);
    }
    assert_eq!(send(rb).await.status, 401);
    let last = h.emulator.requests().pop().unwrap();
    assert_eq!(
        (last.user.as_deref(), last.tenant_valid, last.session_valid),
        (Some("alice"), false, true)
    );
    h.emulator.clear_requests();
    assert!(h.emulator.requests().is_empty());
}

#[tokio::test]
async fn recording_can_be_off_and_shutdown_stops_serving() {
    let h = start(EmulatorConfig {
        record_requests: false,
        rate_limit: None,
        ..EmulatorConfig::default()
    })
    .await;
    let c = Client::with_session(&h, "alice").await;
    for _ in 0..200 {
        c.get("/v1/notes").await.expect(200);
    }
    assert!(h.emulator.requests().is_empty());
    assert!(
        c.get("/v1/notes")
            .await
            .header("x-ratelimit-limit")
            .is_none()
    );
    let base = h.base_url();
    h.shutdown().await;
    let fresh = http();
    assert!(fresh.get(format!("{base}/healthz")).send().await.is_err());
}

/// The faults that end a connection without an answer: after reading the request, with the
/// change applied or not; a reset or an orderly close. A proxy's 5xx carries `Retry-After`
/// when asked.
#[tokio::test]
async fn hangups_apply_the_change_or_not_and_proxy_errors_carry_retry_after() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "hang").await;
    let faults = h.emulator.faults();
    for processed in [true, false] {
        for fault in [
            Fault::ResetAfterRead { processed },
            Fault::CloseBeforeAnswer { processed },
        ] {
            let uid = uuid::Uuid::new_v4().to_string();
            faults.push(fault.clone());
            let sent = c
                .request(Method::POST, "/v1/notes")
                .json(&json!({"uid": uid, "title": "t"}))
                .send()
                .await;
            assert!(sent.is_err(), "{fault:?}: no answer, got {sent:?}");
            assert_eq!(
                h.emulator.item("hang", "notes", &uid).is_some(),
                processed,
                "{fault:?}"
            );
        }
    }
    for (status, retry_after) in [(502, None), (503, Some(3)), (504, Some(1))] {
        faults.push(Fault::ProxyError {
            status,
            retry_after_secs: retry_after,
        });
        let r = c.get("/v1/notes").await;
        assert_eq!(r.status, status);
        assert_eq!(r.header("content-type"), Some("text/html"));
        assert_eq!(
            r.header("retry-after"),
            retry_after.map(|s| s.to_string()).as_deref()
        );
    }
    // The next request is served normally.
    c.get("/v1/notes").await.expect(200);
}

/// A restart drops every connection and session and refuses connections while down; the
/// data stays.
#[tokio::test]
async fn a_restart_forgets_sessions_and_connections_and_keeps_the_data() {
    let h = start(EmulatorConfig::default()).await;
    let c = Client::with_session(&h, "restarted").await;
    let note = c.create("notes", json!({"title": "kept"})).await;
    let uid = note["uid"].as_str().unwrap().to_owned();
    let addr = h.addr;
    let restart = h.restart(Duration::from_millis(300));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        tokio::net::TcpStream::connect(addr).await.is_err()
    };
    let (restarted, refused) = tokio::join!(restart, probe);
    restarted.unwrap();
    assert!(refused, "nothing listens while the API is down");
    assert_eq!(h.restarts(), 1);
    // The old session is unknown now; a new one sees the note as it was.
    c.get(&format!("/v1/notes/{uid}")).await.expect(428);
    let c = Client::with_session(&h, "restarted").await;
    let got = c.get(&format!("/v1/notes/{uid}")).await.expect(200);
    assert_eq!(got["payload"]["title"], json!("kept"));
    assert_eq!(got["version"], json!(1));
}
