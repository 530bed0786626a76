use super::*;
use crate::{call::UserKeyring, secret::Secret};

fn users(tweak: impl FnOnce(&mut Config)) -> Arc<Users> {
    let mut cfg = Config {
        tenant_header_secret: Secret::new("s"),
        max_sessions_per_user: 2,
        max_requests_per_user: 2,
        max_sessions: 5,
        ..Config::default()
    };
    tweak(&mut cfg);
    Users::new(&cfg)
}

/// The key the token check gives `sub` in the deployment `users` builds.
fn who(sub: &str) -> UserKey {
    UserKeyring::new(&Config {
        tenant_header_secret: Secret::new("s"),
        ..Config::default()
    })
    .key(sub)
}

fn open(u: &Arc<Users>, user: UserKey, sid: &str) -> Option<SessionId> {
    let (r, evicted) = u.reserve(user).unwrap();
    u.created(&SessionId::from(sid));
    u.opened(&SessionId::from(sid), Some(r));
    evicted
}

const NOW: Duration = Duration::ZERO;

#[tokio::test]
async fn requests_in_progress_are_capped_per_user_and_given_back() {
    let u = users(|_| {});
    let (alice, bob) = (who("alice"), who("bob"));
    let a1 = u.begin(alice, NOW).await.unwrap();
    let _a2 = u.begin(alice, NOW).await.unwrap();
    assert!(matches!(
        u.begin(alice, NOW).await,
        Err(Limited::InFlight(2))
    ));
    // Bob has his own share.
    let _b = u.begin(bob, NOW).await.unwrap();
    // A third request of Alice's waits for one of hers, and gets its place when it ends.
    let waiting = tokio::spawn({
        let u = u.clone();
        async move { u.begin(alice, Duration::from_secs(30)).await.is_ok() }
    });
    tokio::task::yield_now().await;
    drop(a1);
    assert!(waiting.await.unwrap());
}

#[tokio::test]
async fn the_rate_is_a_one_second_bucket() {
    let u = users(|c| c.user_requests_per_second = 3.0);
    let alice = who("alice");
    for _ in 0..3 {
        u.spend(alice).unwrap();
    }
    let Err(Limited::Rate(secs)) = u.spend(alice) else {
        panic!("the fourth request in a second passed");
    };
    assert_eq!(secs, 1);
    assert!(u.spend(who("bob")).is_ok());
    // Without a rate, nothing is kept for it.
    let u = users(|_| {});
    u.spend(alice).unwrap();
    assert_eq!(u.user_count(), 0);
}

#[test]
fn a_user_at_the_limit_loses_their_oldest_idle_session() {
    let u = users(|_| {});
    let (alice, bob) = (who("alice"), who("bob"));
    assert_eq!(open(&u, alice, "a1"), None);
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(open(&u, alice, "a2"), None);
    // a1 is used last, so a2 is now the oldest.
    drop(u.enter(alice, "a1").unwrap());
    assert_eq!(open(&u, alice, "a3").as_deref(), Some("a2"));
    assert_eq!(u.session_count(), 2);
    // A busy session is never closed; with all busy, the next one is refused.
    let _busy1 = u.enter(alice, "a1").unwrap().unwrap();
    let _busy3 = u.enter(alice, "a3").unwrap().unwrap();
    assert!(matches!(u.reserve(alice), Err(Limited::Sessions(2))));
    // None of this touched Bob.
    assert_eq!(open(&u, bob, "b1"), None);
}

#[test]
fn the_gateway_cap_still_holds_over_all_users() {
    let u = users(|_| {});
    for i in 0..5 {
        open(&u, who(&format!("u{i}")), &format!("s{i}"));
    }
    assert!(matches!(u.reserve(who("late")), Err(Limited::Full)));
    u.closed(&SessionId::from("s0"));
    assert!(u.reserve(who("late")).is_ok());
}

#[test]
fn sessions_answer_only_their_owner_and_refuse_duplicate_ids() {
    let u = users(|_| {});
    let (alice, bob) = (who("alice"), who("bob"));
    open(&u, alice, "a1");
    assert!(matches!(u.enter(bob, "a1"), Err(NotFound)));
    assert!(matches!(u.enter(UserKey::ANONYMOUS, "a1"), Err(NotFound)));
    assert!(matches!(u.enter(bob, "nope"), Ok(None)));
    let s = u.enter(alice, "a1").unwrap().unwrap();
    let one = s.claim(&RequestId::Number(1)).unwrap();
    assert!(s.claim(&RequestId::Number(1)).is_err());
    assert!(s.claim(&RequestId::String("1".into())).is_ok());
    drop(one);
    assert!(s.claim(&RequestId::Number(1)).is_ok());
    // A session opened with no reservation (not through the edge) belongs to nobody.
    u.created(&SessionId::from("stray"));
    assert!(
        matches!(u.enter(alice, "stray"), Err(NotFound)),
        "before it is initialized"
    );
    u.opened(&SessionId::from("stray"), None);
    assert!(matches!(u.enter(alice, "stray"), Err(NotFound)));
}

#[test]
fn a_reservation_not_used_gives_its_place_back() {
    let u = users(|_| {});
    let alice = who("alice");
    let (r1, _) = u.reserve(alice).unwrap();
    let (_r2, _) = u.reserve(alice).unwrap();
    assert!(matches!(u.reserve(alice), Err(Limited::Sessions(2))));
    drop(r1);
    assert!(u.reserve(alice).is_ok());
}

#[tokio::test]
async fn user_state_stays_bounded() {
    let u = users(|c| c.user_requests_per_second = 1.0);
    for i in 0..3 * SWEEP_AT {
        let _ = u.spend(who(&format!("user-{i}")));
    }
    assert!(u.user_count() <= 2 * SWEEP_AT, "{}", u.user_count());
    // Without a rate limit an idle user leaves nothing behind.
    let u = users(|_| {});
    for i in 0..100 {
        drop(u.begin(who(&format!("user-{i}")), NOW).await);
    }
    assert_eq!(u.user_count(), 0);
}
