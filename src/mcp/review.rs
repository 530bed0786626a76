//! The note edit review as pure functions: a base text and a proposed text give a list of
//! [`Hunk`]s; a decision per hunk gives the merged text. Both are recomputed from the same
//! two texts at every step (`edit_note_ui` shows the hunks, `apply_note_edit` merges them),
//! which is what lets the review keep no state between calls: the diff is deterministic
//! (a longest common subsequence of lines, ties broken the same way every time, by the
//! `similar` crate), so a hunk's index means the same change on any replica.
//!
//! Why `similar`'s plain LCS and not its default (Myers with heuristics, linear in memory):
//! the review needs more than a short edit script. Once some hunks are accepted and others
//! rejected, reviewing the merge against the proposal again must show only the rejected
//! ones (`a_mixed_review_keeps_every_unchanged_line`), and that holds for this LCS with its
//! removals-first tie-break, but not for similar's Myers, raw Myers, Patience, Hunt or
//! Histogram, nor for its LCS entry point with the shared preflight (which turns a nearly
//! disjoint region into one replacement): each broke it within 3,000 random cases. So the
//! table stays, and with it the bound on its size.

use serde::{Deserialize, Serialize};

/// Longest text (in lines, either side) the review reads at all.
pub(crate) const MAX_LINES: usize = 50_000;

/// Largest changed region the review diffs, as (its base lines) × (its proposed lines):
/// the diff is an LCS table over the region between the common head and tail, 4 bytes a
/// cell (similar's), so this bounds one call at 8 MB and a few milliseconds. A long note
/// with a local edit has a small region; rewriting a 1,400-line note whole is about the
/// limit.
pub(crate) const MAX_REGION: usize = 2_000_000;

/// Lines of unchanged text shown around a hunk.
const CONTEXT: usize = 2;

/// One contiguous change: lines of the base replaced by lines of the proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Hunk {
    /// Its position in the list, which is how a decision names it.
    pub index: usize,
    /// First base line it replaces (1-based; for a pure insertion, the line it goes before).
    pub base_line: usize,
    /// The base text it removes (whole lines, with their line ends).
    pub removed: String,
    /// The proposed text it puts there.
    pub added: String,
    /// Up to two unchanged lines before it, for the reader.
    pub before: String,
    /// Up to two unchanged lines after it.
    pub after: String,
    /// Its bytes of the base text.
    #[serde(skip)]
    base: std::ops::Range<usize>,
}

/// What the user decided for one hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub(crate) enum Choice {
    /// Take the proposed text.
    Accept,
    /// Keep the base text.
    Reject,
    /// Put this text there instead.
    Revise {
        /// The replacement, as the user wrote it.
        text: String,
    },
}

/// A decision: which hunk, and what to do with it. On the wire
/// `{"hunk": 0, "action": "accept" | "reject" | "revise", "text": "..." (with revise)}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "WireDecision")]
pub(crate) struct Decision {
    /// The hunk's `index`.
    pub hunk: usize,
    /// What to do with it.
    #[serde(flatten)]
    pub choice: Choice,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDecision {
    hunk: usize,
    action: Action,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Accept,
    Reject,
    Revise,
}

impl TryFrom<WireDecision> for Decision {
    type Error = String;

    fn try_from(w: WireDecision) -> Result<Self, String> {
        let choice = match (w.action, w.text) {
            (Action::Accept, _) => Choice::Accept,
            (Action::Reject, _) => Choice::Reject,
            (Action::Revise, Some(text)) => Choice::Revise { text },
            (Action::Revise, None) => {
                return Err(format!(
                    "hunk {}: revise needs the text to put there",
                    w.hunk
                ));
            }
        };
        Ok(Decision {
            hunk: w.hunk,
            choice,
        })
    }
}

/// The hunks that turn `base` into `proposed`, in order. `Err` says why the texts are too
/// large to review, and what to do instead.
pub(crate) fn hunks(base: &str, proposed: &str) -> Result<Vec<Hunk>, String> {
    let old: Vec<&str> = base.split_inclusive('\n').collect();
    let new: Vec<&str> = proposed.split_inclusive('\n').collect();
    for (side, lines) in [
        ("the note's content", old.len()),
        ("proposed_content", new.len()),
    ] {
        if lines > MAX_LINES {
            return Err(format!(
                "{side} has {lines} lines; the review reads at most {MAX_LINES}: edit a note \
                 this long with patch_note instead"
            ));
        }
    }
    let ops = edit_script(&old, &new)?;
    // Byte offset of each base line (and of the end), so a hunk carries its byte range of
    // the base and the merge never splits the text again.
    let mut offset = Vec::with_capacity(old.len() + 1);
    offset.push(0);
    for line in &old {
        offset.push(offset.last().copied().unwrap_or(0) + line.len());
    }
    let mut out: Vec<Hunk> = Vec::new();
    let mut ops = ops.iter().map(similar::DiffOp::as_tag_tuple).peekable();
    while let Some((tag, old_range, new_range)) = ops.next() {
        if tag == similar::DiffTag::Equal {
            continue;
        }
        // A hunk is a run of changes between two unchanged stretches.
        let (i0, j0) = (old_range.start, new_range.start);
        let (mut i, mut j) = (old_range.end, new_range.end);
        while let Some((_, o, n)) = ops.next_if(|(tag, ..)| *tag != similar::DiffTag::Equal) {
            (i, j) = (o.end, n.end);
        }
        out.push(Hunk {
            index: out.len(),
            base_line: i0 + 1,
            removed: old[i0..i].concat(),
            added: new[j0..j].concat(),
            before: old[i0.saturating_sub(CONTEXT)..i0].concat(),
            after: old[i..(i + CONTEXT).min(old.len())].concat(),
            base: offset[i0]..offset[i],
        });
    }
    Ok(out)
}

/// The operations from `old` to `new`: the common head and tail kept, the region between
/// them by a longest common subsequence, removals before additions where both are
/// possible (similar's LCS without its shared preflight heuristics, see the module docs).
fn edit_script(old: &[&str], new: &[&str]) -> Result<Vec<similar::DiffOp>, String> {
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (n, m) = (old.len() - head - tail, new.len() - head - tail);
    if n.saturating_mul(m) > MAX_REGION {
        return Err(format!(
            "the edit rewrites too much of the note at once to review ({n} lines replaced by \
             {m}): propose it in smaller edits, or write it with patch_note"
        ));
    }
    let mut ops = similar::algorithms::Capture::new();
    // No deadline: a clock would make the hunks depend on the machine's load.
    similar::algorithms::lcs::diff_deadline_raw(
        &mut ops,
        old,
        0..old.len(),
        new,
        0..new.len(),
        None,
    )
    .unwrap_or_else(|never| match never {});
    Ok(ops.into_ops())
}

/// How many hunks each way the merge went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Tally {
    /// Hunks taken as proposed.
    pub accepted: usize,
    /// Hunks left as they were.
    pub rejected: usize,
    /// Hunks replaced by the user's own text.
    pub revised: usize,
}

/// `base` with every hunk decided. Every hunk needs exactly one decision, so a review
/// that missed one (or names a hunk that does not exist, because the texts are not the
/// ones reviewed) is refused instead of guessed at.
pub(crate) fn merge(
    base: &str,
    hunks: &[Hunk],
    decisions: &[Decision],
) -> Result<(String, Tally), String> {
    let mut choice: Vec<Option<&Choice>> = vec![None; hunks.len()];
    for d in decisions {
        match choice.get_mut(d.hunk) {
            None => {
                return Err(format!(
                    "decision for hunk {} but the edit has {} hunks (0 to {}): the proposal or \
                     the note is not the one reviewed; call edit_note_ui again",
                    d.hunk,
                    hunks.len(),
                    hunks.len().saturating_sub(1)
                ));
            }
            Some(Some(_)) => return Err(format!("hunk {} has two decisions", d.hunk)),
            Some(slot) => *slot = Some(&d.choice),
        }
    }
    if let Some(missing) = choice.iter().position(Option::is_none) {
        return Err(format!(
            "hunk {missing} has no decision: send one per hunk (accept, reject or revise)"
        ));
    }
    let mut out = String::with_capacity(base.len());
    let mut tally = Tally::default();
    let mut at = 0;
    for (h, c) in hunks.iter().zip(choice) {
        out.push_str(&base[at..h.base.start]);
        match c.expect("checked above") {
            Choice::Accept => {
                tally.accepted += 1;
                out.push_str(&h.added);
            }
            Choice::Reject => {
                tally.rejected += 1;
                out.push_str(&h.removed);
            }
            Choice::Revise { text } => {
                tally.revised += 1;
                out.push_str(text);
                // The hunk's lines ended with a line break; a revision typed without one
                // must not glue itself to the next line.
                let ended = h.added.ends_with('\n') || h.removed.ends_with('\n');
                if ended && !text.is_empty() && !text.ends_with('\n') && h.base.end < base.len() {
                    out.push('\n');
                }
            }
        }
        at = h.base.end;
    }
    out.push_str(&base[at..]);
    Ok((out, tally))
}

/// The hunks as a unified-style diff, for hosts that show only text.
pub(crate) fn unified(hunks: &[Hunk]) -> String {
    let mut out = String::new();
    for h in hunks {
        out.push_str(&format!(
            "@@ change {} at line {} @@\n",
            h.index, h.base_line
        ));
        for (mark, text) in [
            (' ', &h.before),
            ('-', &h.removed),
            ('+', &h.added),
            (' ', &h.after),
        ] {
            for line in text.lines() {
                out.push(mark);
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
