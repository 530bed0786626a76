//! Successful results, shaped for a model's context window. Every byte of a result lands in
//! the model's context, so by default (`TOOLBRIDGE_RESULT_SHAPE=compact`):
//!
//! - an item keeps `uid`, `version`, `updatedAt` (`deletedAt` when deleted) and its payload
//!   without the keys the API keeps for its sync clients ([`RESERVED_KEYS`]: `sync`,
//!   `updatedTs`, `isDirty`, ...);
//! - on a `list_*` page, a text field longer than [`PREVIEW_CHARS`] is a preview ending in
//!   `…`, and the item's `cut` names it with its full length (lists are for finding, `get_*`
//!   for reading: it is never shortened);
//! - `fields` (list, get) keeps only the payload keys asked for, whole.
//!
//! `full` passes the API's items on untouched. In both shapes a `list_*` result stays under
//! `TOOLBRIDGE_MAX_RESULT_BYTES` ([`Bound`]): the handler asks the API again for fewer items
//! when a page would be larger, and a single item that alone is too large has its long
//! strings shortened, with a note. The text block is always the compact JSON of
//! `structuredContent`.

use std::io;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use super::catalog::{Entity, Verb};
use super::fields::RESERVED_KEYS;
use crate::config::ResultShape;

/// Longest text a `list_*` page shows of a field, in characters.
pub(crate) const PREVIEW_CHARS: usize = 200;

/// How results are shaped, from the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shaping {
    /// Compact or full items.
    pub(crate) shape: ResultShape,
    /// Largest `list_*` result in bytes; 0: unbounded.
    pub(crate) max_bytes: usize,
}

impl Shaping {
    /// From `TOOLBRIDGE_RESULT_SHAPE` and `TOOLBRIDGE_MAX_RESULT_BYTES`.
    pub(crate) fn new(config: &crate::config::Config) -> Self {
        Self {
            shape: config.result_shape,
            max_bytes: config.max_result_bytes,
        }
    }

    fn compact(&self) -> bool {
        self.shape == ResultShape::Compact
    }
}

/// Bytes of `v` as compact JSON, without building the string.
pub(crate) fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing a Value to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// The first `max` characters of `s`, cut at a word boundary when one is near the end,
/// marked with `…`; `None` when `s` is not longer than `max`.
pub(crate) fn preview(s: &str, max: usize) -> Option<String> {
    let end = s.char_indices().nth(max).map(|(i, _)| i)?;
    let head = &s[..end];
    // Back to the last whitespace, unless that would lose more than a quarter.
    let floor = head.char_indices().nth(max * 3 / 4).map_or(0, |(i, _)| i);
    let cut = match head.rfind(char::is_whitespace) {
        Some(i) if i >= floor => head[..i].trim_end(),
        _ => head,
    };
    Some(format!("{cut}…"))
}

/// Keeps only the payload keys in `fields` (when given), and in the compact shape drops the
/// sync bookkeeping.
fn trim_payload(item: &mut Value, compact: bool, fields: Option<&[String]>) {
    let Some(Value::Object(payload)) = item.get_mut("payload") else {
        return;
    };
    if compact {
        for key in RESERVED_KEYS {
            payload.remove(*key);
        }
    }
    if let Some(keep) = fields {
        payload.retain(|k, _| keep.iter().any(|f| f == k));
    }
}

/// Replaces every top-level payload string longer than `max` characters by its preview and
/// records its full length in the item's `cut`. True when one was cut.
fn preview_strings(item: &mut Value, max: usize) -> bool {
    let mut cut = Map::new();
    if let Some(Value::Object(payload)) = item.get_mut("payload") {
        for (key, value) in payload.iter_mut() {
            if let Value::String(s) = value
                && let Some(p) = preview(s, max)
            {
                cut.insert(key.clone(), Value::from(s.chars().count()));
                *value = Value::String(p);
            }
        }
    }
    if cut.is_empty() {
        return false;
    }
    if let Value::Object(map) = item {
        match map.get_mut("cut") {
            Some(Value::Object(old)) => old.extend(cut),
            _ => {
                map.insert("cut".into(), Value::Object(cut));
            }
        }
    }
    true
}

/// A single item's result (get, create, update, patch, delete, archive, process).
pub(crate) fn item(shaping: &Shaping, mut body: Value, fields: Option<&[String]>) -> Value {
    if shaping.compact() || fields.is_some() {
        trim_payload(&mut body, shaping.compact(), fields);
    }
    body
}

/// A `list_*` page as the model gets it.
pub(crate) struct Page {
    /// The shaped result.
    pub(crate) body: Value,
    /// How many items it holds.
    pub(crate) count: usize,
}

/// Shapes an API list answer for `limit` items asked: items shaped (previews in the compact
/// shape, unless `fields` chose whole keys), `hasMore`, and `nextCursor` only when there
/// may be more.
pub(crate) fn page(
    shaping: &Shaping,
    e: &Entity,
    mut body: Value,
    limit: i64,
    fields: Option<&[String]>,
) -> Page {
    if let Value::Object(map) = &mut body {
        map.entry("items").or_insert_with(|| json!([]));
    }
    let mut any_cut = false;
    let mut count = 0;
    if let Some(Value::Array(items)) = body.get_mut("items") {
        count = items.len();
        if shaping.compact() || fields.is_some() {
            for it in items.iter_mut() {
                trim_payload(it, shaping.compact(), fields);
                if shaping.compact() && fields.is_none() {
                    any_cut |= preview_strings(it, PREVIEW_CHARS);
                }
            }
        }
    }
    let has_more = count as i64 >= limit && body.get("nextCursor").is_some_and(Value::is_string);
    if let Value::Object(map) = &mut body {
        if !has_more {
            // The API hands out a cursor after every non-empty page; after a short page
            // there is nothing more, and a cursor would only invite an empty round trip.
            map.remove("nextCursor");
        }
        map.insert("hasMore".into(), Value::Bool(has_more));
        if any_cut {
            map.insert("note".into(), Value::from(preview_note(e)));
        }
    }
    Page { body, count }
}

fn preview_note(e: &Entity) -> String {
    format!(
        "Text over {PREVIEW_CHARS} characters is a preview ending in …; cut gives full lengths. \
         {} returns a {} whole.",
        e.tool_name(Verb::Get),
        e.label
    )
}

fn bounded_note(max: usize) -> String {
    format!(
        "Bounded: fewer items than asked, to stay within {max} bytes; nextCursor continues \
         after the last one."
    )
}

/// A shaped page measured against the bound.
pub(crate) enum Fit {
    /// It fits: the page's compact JSON, the result's text block (measured as it will be
    /// sent, and made once).
    Fits(String),
    /// It does not: how many items to ask the API for instead, fewer than it holds (0 when
    /// even the first is too large alone).
    Fewer(usize),
}

/// The tool result of a page that fits: `structuredContent` and its compact JSON, `text`,
/// as the text block (what rmcp's `CallToolResult::structured` would make, once more).
pub(crate) fn fitted_result(page: Page, text: String) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(page.body);
    result
}

/// Measures a shaped page against the bound (`asked`: the items the model asked for); a
/// page that fits is marked as bounded when it holds fewer than asked and there is more.
pub(crate) fn fit(shaping: &Shaping, page: &mut Page, asked: i64) -> Fit {
    let bounded = (page.count as i64) < asked && page.body["hasMore"] == json!(true);
    let max = shaping.max_bytes;
    if bounded && let Value::Object(map) = &mut page.body {
        map.insert("bounded".into(), Value::Bool(true));
        let note = match map.get("note").and_then(Value::as_str) {
            Some(n) => format!("{n} {}", bounded_note(max)),
            None => bounded_note(max),
        };
        map.insert("note".into(), Value::from(note));
    }
    let text = page.body.to_string();
    if max == 0 || text.len() <= max {
        return Fit::Fits(text);
    }
    // The largest prefix that fits, counted against the page as it will be once bounded
    // (its note, flag and a cursor of some length).
    let items = page.body["items"].as_array().cloned().unwrap_or_default();
    let mut skeleton = page.body.clone();
    skeleton["items"] = json!([]);
    skeleton["hasMore"] = json!(true);
    skeleton["bounded"] = json!(true);
    let cursor_len = page.body["nextCursor"].as_str().map_or(0, str::len);
    skeleton["nextCursor"] = Value::from("c".repeat(cursor_len.max(100) + 32));
    let note = skeleton["note"].as_str().unwrap_or_default().to_owned();
    if !note.contains("Bounded:") {
        skeleton["note"] = Value::from(format!("{note} {}", bounded_note(max)));
    }
    let mut used = json_len(&skeleton);
    let mut k = 0;
    for it in &items {
        used += json_len(it) + usize::from(k > 0);
        if used > max {
            break;
        }
        k += 1;
    }
    Fit::Fewer(k.min(page.count.saturating_sub(1)))
}

/// A page of one item that alone exceeds the bound: its long strings shortened (the
/// longest kept that fits), or as a last resort its largest payload keys left out, with
/// a note naming them. `get_*` returns it whole.
pub(crate) fn alone(shaping: &Shaping, e: &Entity, mut page: Page) -> Value {
    let max = shaping.max_bytes;
    let Some(original) = page.body["items"].get(0).cloned() else {
        return page.body;
    };
    page.body["bounded"] = json!(true);
    page.body["note"] = Value::from(format!(
        "This {} is larger than one result may be ({max} bytes): the fields in cut are \
         shortened and any in omitted left out. {} returns it whole.",
        e.label,
        e.tool_name(Verb::Get)
    ));
    let fits = |item: &Value| {
        let mut b = page.body.clone();
        b["items"] = json!([item]);
        json_len(&b) <= max
    };
    let shortened = |n: usize| {
        let mut it = original.clone();
        preview_strings(&mut it, n);
        it
    };
    let longest = original["payload"].as_object().map_or(0, |p| {
        p.values()
            .filter_map(Value::as_str)
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    });
    // The most characters per string that fits: a binary search.
    let (mut lo, mut hi) = (0usize, longest);
    let mut best = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let candidate = shortened(mid);
        if fits(&candidate) {
            best = Some(candidate);
            lo = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    let item = best.unwrap_or_else(|| {
        // Strings are not the bulk: leave out the largest payload values too.
        let mut it = shortened(0);
        let mut omitted = Vec::new();
        while !fits(&it) {
            let Some(Value::Object(p)) = it.get_mut("payload") else {
                break;
            };
            let Some(key) = p
                .iter()
                .max_by_key(|(_, v)| json_len(v))
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            p.remove(&key);
            omitted.push(Value::from(key));
            it["omitted"] = Value::Array(omitted.clone());
        }
        it
    });
    page.body["items"] = json!([item]);
    page.body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_cut_at_a_word_and_say_so() {
        assert_eq!(preview("short", 200), None);
        let text = "word ".repeat(100);
        let p = preview(&text, 200).unwrap();
        assert!(p.ends_with("word…"), "{p}");
        assert!(p.chars().count() <= 201);
        // No space near the end: a hard cut at a character boundary.
        let p = preview(&"é".repeat(300), 200).unwrap();
        assert_eq!(p.chars().count(), 201);
    }
}
