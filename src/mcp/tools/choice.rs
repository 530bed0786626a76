//! [`Choice`]: the tools the operator offers (`TOOLBRIDGE_TOOLS`), as allow and deny patterns
//! over entities, verbs and tool names. The patterns are matched once, at start, against
//! every tool of both API generations: a pattern that matches none of them is a mistake
//! (a typo would otherwise silently offer everything or nothing), so it stops the start.
//!
//! Patterns, comma-separated:
//! - `*`: every tool; `health_check`, `get_note`, `edit_note_ui`: one tool by name;
//! - `notes` (or `note`): every tool of an entity (a note's review tools included);
//! - `entity:verb` with `*` for either side: `*:list`, `tasks:*`, `notes:get`;
//! - a leading `-` denies: `-*:delete`.
//!
//! Without an allow pattern every tool is allowed; denials then take tools away, so the
//! order of the patterns does not matter.

use std::{collections::BTreeSet, sync::Arc};

use crate::config::{ConfigError, Generation, env_name};
use crate::mcp::catalog::{ENTITIES, Entity, HEALTH_CHECK, REVIEW_TOOLS, Verb, tool_names};

/// The tools offered; cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Choice {
    /// `None`: every tool.
    offered: Option<Arc<BTreeSet<String>>>,
}

/// One tool of the catalog, as the patterns see it.
struct Known {
    name: String,
    /// The entity it belongs to (the review tools belong to notes).
    entity: Option<&'static Entity>,
    /// Its verb (`None` for `health_check` and the review tools).
    verb: Option<Verb>,
}

/// Every tool of either generation, once.
fn known() -> Vec<Known> {
    let mut all: Vec<Known> = Vec::new();
    let mut seen = BTreeSet::new();
    for generation in [Generation::Seed, Generation::Current] {
        for name in tool_names(generation) {
            if !seen.insert(name.clone()) {
                continue;
            }
            let entity_verb = ENTITIES.iter().find_map(|e| {
                Verb::ALL
                    .iter()
                    .find(|v| e.tool_name(**v) == name)
                    .map(|v| (e, *v))
            });
            let (entity, verb) = match entity_verb {
                Some((e, v)) => (Some(e), Some(v)),
                None if REVIEW_TOOLS.contains(&name.as_str()) => {
                    (ENTITIES.iter().find(|e| e.singular == "note"), None)
                }
                None => (None, None),
            };
            all.push(Known { name, entity, verb });
        }
    }
    all
}

/// Whether one pattern (without its `-`) selects tool `t`; `None` when the pattern names
/// an entity or verb the catalog does not have.
fn selects(pattern: &str, t: &Known) -> Option<bool> {
    let entity_is = |word: &str| -> Option<bool> {
        if word == "*" {
            return Some(true);
        }
        let e = ENTITIES
            .iter()
            .find(|e| e.plural == word || e.singular == word)?;
        Some(t.entity.is_some_and(|te| std::ptr::eq(te, e)))
    };
    if pattern == "*" {
        return Some(true);
    }
    if let Some((entity, verb)) = pattern.split_once(':') {
        let entity_ok = entity_is(entity)?;
        let verb_ok = match verb {
            "*" => t.entity.is_some(),
            v => {
                let verb = Verb::ALL.iter().find(|x| x.prefix() == v)?;
                t.verb == Some(*verb)
            }
        };
        return Some(entity_ok && verb_ok && t.entity.is_some());
    }
    if t.name == pattern {
        return Some(true);
    }
    // An entity name; or a tool name of the other generation, which selects nothing here.
    entity_is(pattern).or(Some(false))
}

fn invalid(why: String) -> ConfigError {
    ConfigError::Invalid {
        var: env_name("tools"),
        why,
    }
}

impl Choice {
    /// Every tool.
    pub(crate) fn all() -> Self {
        Self::default()
    }

    /// Reads the patterns; an error names the first one that selects no tool.
    pub(crate) fn new(patterns: &[String]) -> Result<Self, ConfigError> {
        let patterns: Vec<&str> = patterns
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect();
        if patterns.is_empty() {
            return Ok(Self::all());
        }
        let known = known();
        let mut allowed: Option<BTreeSet<&str>> = None;
        let mut denied = BTreeSet::new();
        for raw in &patterns {
            let (deny, pattern) = match raw.strip_prefix('-') {
                Some(rest) => (true, rest.trim()),
                None => (false, *raw),
            };
            let hits: Vec<&str> = known
                .iter()
                .filter(|t| selects(pattern, t) == Some(true))
                .map(|t| t.name.as_str())
                .collect();
            if hits.is_empty() {
                let entities: Vec<&str> = ENTITIES.iter().map(|e| e.plural).collect();
                let verbs: Vec<&str> = Verb::ALL.iter().map(|v| v.prefix()).collect();
                return Err(invalid(format!(
                    "`{raw}` matches no tool. Patterns are `*`, an entity ({}), \
                     `entity:verb` with `*` for either (verbs: {}), or a tool name such as \
                     {HEALTH_CHECK}, each optionally after `-` to deny it",
                    entities.join(", "),
                    verbs.join(", ")
                )));
            }
            if deny {
                denied.extend(hits);
            } else {
                allowed.get_or_insert_with(BTreeSet::new).extend(hits);
            }
        }
        let offered: BTreeSet<String> = known
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| allowed.as_ref().is_none_or(|a| a.contains(n)) && !denied.contains(n))
            .map(str::to_owned)
            .collect();
        if offered.is_empty() {
            return Err(invalid(format!(
                "`{}` leaves no tool to offer",
                patterns.join(",")
            )));
        }
        Ok(Self {
            offered: Some(Arc::new(offered)),
        })
    }

    /// Whether tool `name` is offered.
    pub(crate) fn offers(&self, name: &str) -> bool {
        self.offered.as_ref().is_none_or(|o| o.contains(name))
    }

    /// The offered tools of a generation, in listing order (for `check` and the start-up
    /// log).
    pub(crate) fn names(&self, generation: Generation) -> Vec<String> {
        tool_names(generation)
            .into_iter()
            .filter(|n| self.offers(n))
            .collect()
    }

    /// Whether every tool is offered.
    pub(crate) fn is_all(&self) -> bool {
        self.offered.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(spec: &str) -> Result<Choice, String> {
        let patterns: Vec<String> = spec.split(',').map(str::to_owned).collect();
        Choice::new(&patterns).map_err(|e| e.to_string())
    }

    fn offered(spec: &str, generation: Generation) -> Vec<String> {
        choose(spec).unwrap().names(generation)
    }

    #[test]
    fn entities_verbs_names_and_denials() {
        let c = Generation::Current;
        assert_eq!(offered("", c), tool_names(c));
        let notes = offered("notes", c);
        assert!(notes.contains(&"list_notes".into()) && notes.contains(&"edit_note_ui".into()));
        assert_eq!(notes.len(), 10, "{notes:?}");
        assert_eq!(offered("note", c), notes);
        let reads = offered("*:list,*:get", c);
        assert_eq!(reads.len(), 14, "{reads:?}");
        assert!(
            reads
                .iter()
                .all(|n| n.starts_with("list_") || n.starts_with("get_"))
        );
        let no_deletes = offered("-*:delete", c);
        assert_eq!(no_deletes.len(), tool_names(c).len() - 7);
        assert!(no_deletes.contains(&"health_check".into()));
        assert!(!no_deletes.iter().any(|n| n.starts_with("delete_")));
        assert_eq!(offered("health_check", c), vec!["health_check".to_owned()]);
        let mixed = offered("notes, tasks:get, -notes:delete, health_check", c);
        assert!(mixed.contains(&"get_task".into()) && !mixed.contains(&"list_tasks".into()));
        assert!(!mixed.contains(&"delete_note".into()) && mixed.contains(&"health_check".into()));
        // A pattern of the current generation selects nothing on seed, without error.
        assert!(offered("task_lists,notes:get", Generation::Seed) == vec!["get_note"]);
    }

    #[test]
    fn a_pattern_that_matches_nothing_is_named() {
        for bad in ["nots", "*:remove", "notes:lst", "get_nothing", "-"] {
            let err = choose(&format!("notes,{bad}")).unwrap_err();
            assert!(err.contains("TOOLBRIDGE_TOOLS"), "{err}");
            assert!(err.contains(&format!("`{bad}` matches no tool")), "{err}");
        }
        let err = choose("-*").unwrap_err();
        assert!(err.contains("leaves no tool"), "{err}");
    }
}
