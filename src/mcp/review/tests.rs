use proptest::prelude::*;

use super::*;

fn all(hunks: &[Hunk], choice: Choice) -> Vec<Decision> {
    hunks
        .iter()
        .map(|h| Decision {
            hunk: h.index,
            choice: choice.clone(),
        })
        .collect()
}

const BASE: &str = "# Groceries\neggs\nmilk\nbread\n\n# Chores\nlaundry\n";
const PROPOSED: &str = "# Groceries\neggs\noat milk\nbread\nbutter\n\n# Chores\nlaundry\ndishes\n";

#[test]
fn hunks_are_the_changed_runs_with_context() {
    let h = hunks(BASE, PROPOSED).unwrap();
    assert_eq!(h.len(), 3, "{h:#?}");
    assert_eq!(
        (h[0].removed.as_str(), h[0].added.as_str()),
        ("milk\n", "oat milk\n")
    );
    assert_eq!(h[0].base_line, 3);
    assert_eq!(h[0].before, "# Groceries\neggs\n");
    assert_eq!(
        (h[1].removed.as_str(), h[1].added.as_str()),
        ("", "butter\n")
    );
    assert_eq!(
        (h[2].removed.as_str(), h[2].added.as_str()),
        ("", "dishes\n")
    );
    assert_eq!(h[2].after, "");
}

#[test]
fn accept_one_reject_one_revise_one() {
    let h = hunks(BASE, PROPOSED).unwrap();
    let decisions = vec![
        Decision {
            hunk: 0,
            choice: Choice::Accept,
        },
        Decision {
            hunk: 1,
            choice: Choice::Reject,
        },
        Decision {
            hunk: 2,
            choice: Choice::Revise {
                text: "dishes, twice".into(),
            },
        },
    ];
    let (merged, tally) = merge(BASE, &h, &decisions).unwrap();
    assert_eq!(
        merged,
        "# Groceries\neggs\noat milk\nbread\n\n# Chores\nlaundry\ndishes, twice"
    );
    assert_eq!(
        tally,
        Tally {
            accepted: 1,
            rejected: 1,
            revised: 1
        }
    );
}

#[test]
fn a_revision_without_a_line_end_does_not_glue_to_the_next_line() {
    let h = hunks("a\nb\nc\n", "a\nB\nc\n").unwrap();
    let d = [Decision {
        hunk: 0,
        choice: Choice::Revise { text: "bee".into() },
    }];
    assert_eq!(merge("a\nb\nc\n", &h, &d).unwrap().0, "a\nbee\nc\n");
}

#[test]
fn every_hunk_needs_exactly_one_decision() {
    let h = hunks(BASE, PROPOSED).unwrap();
    let missing = merge(BASE, &h, &all(&h, Choice::Accept)[..2]).unwrap_err();
    assert!(missing.contains("hunk 2 has no decision"), "{missing}");
    let mut twice = all(&h, Choice::Accept);
    twice.push(Decision {
        hunk: 1,
        choice: Choice::Reject,
    });
    assert!(
        merge(BASE, &h, &twice)
            .unwrap_err()
            .contains("hunk 1 has two decisions")
    );
    let mut beyond = all(&h, Choice::Accept);
    beyond[0].hunk = 7;
    assert!(
        merge(BASE, &h, &beyond)
            .unwrap_err()
            .contains("the edit has 3 hunks")
    );
}

#[test]
fn decisions_read_as_the_view_sends_them() {
    let d: Vec<Decision> = serde_json::from_value(serde_json::json!([
        {"hunk": 0, "action": "accept"},
        {"hunk": 1, "action": "revise", "text": "x"}
    ]))
    .unwrap();
    assert_eq!(d[1].choice, Choice::Revise { text: "x".into() });
    for bad in [
        serde_json::json!([{"hunk": 0, "action": "maybe"}]),
        serde_json::json!([{"hunk": 0, "action": "revise"}]),
        serde_json::json!([{"hunk": -1, "action": "accept"}]),
        serde_json::json!([{"hunk": 0, "action": "accept", "extra": 1}]),
    ] {
        assert!(
            serde_json::from_value::<Vec<Decision>>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn too_long_a_text_is_refused_with_the_way_out() {
    let long = "x\n".repeat(MAX_LINES + 1);
    let err = hunks(&long, "x\n").unwrap_err();
    assert!(err.contains("patch_note"), "{err}");
    // A long note with a local edit is fine; rewriting a long one whole is not.
    let big: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    let local = big.replacen("line 5000\n", "line five thousand\n", 1);
    assert_eq!(hunks(&big, &local).unwrap().len(), 1);
    let rewritten: String = (0..10_000).map(|i| format!("other {i}\n")).collect();
    assert!(
        hunks(&big, &rewritten)
            .unwrap_err()
            .contains("smaller edits")
    );
}

fn text() -> impl Strategy<Value = String> {
    // Few distinct lines, so the two sides share some and differ in others; with and
    // without a final line end, with CRLF now and then.
    prop::collection::vec(
        prop::sample::select(vec!["a\n", "b\n", "c\n", "dd\n", "e\r\n", "f"]),
        0..24,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn accepting_all_gives_the_proposal_and_rejecting_all_the_base(base in text(), proposed in text()) {
        let h = hunks(&base, &proposed).unwrap();
        prop_assert_eq!(merge(&base, &h, &all(&h, Choice::Accept)).unwrap().0, proposed.clone());
        prop_assert_eq!(merge(&base, &h, &all(&h, Choice::Reject)).unwrap().0, base.clone());
        // The same texts give the same hunks: what lets any replica serve any step.
        prop_assert_eq!(hunks(&base, &proposed).unwrap(), h);
    }

    #[test]
    fn a_mixed_review_keeps_every_unchanged_line(base in text(), proposed in text(), picks in prop::collection::vec(any::<bool>(), 24)) {
        let h = hunks(&base, &proposed).unwrap();
        let d: Vec<Decision> = h.iter().map(|x| Decision {
            hunk: x.index,
            choice: if picks[x.index % picks.len()] { Choice::Accept } else { Choice::Reject },
        }).collect();
        let (merged, tally) = merge(&base, &h, &d).unwrap();
        prop_assert_eq!(tally.accepted + tally.rejected, h.len());
        // Reviewing the merge against the proposal again leaves exactly the rejected hunks.
        let again = hunks(&merged, &proposed).unwrap();
        prop_assert!(again.len() <= tally.rejected, "{} > {}", again.len(), tally.rejected);
    }
}
