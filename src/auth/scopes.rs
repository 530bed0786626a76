//! Scopes: which scope a tool needs (the read scope for a tool the catalog marks read-only,
//! the write scope for the others), and what a client should be told to ask for. Which
//! scopes a token carries is the caller's ([`Scopes`], in `call/caller.rs`).
//!
//! Pure logic: the HTTP side (`http::scope_check`) reads the request and answers 403; the
//! `tools/list` hook asks the [`ToolFilter`] made by [`ScopePolicy::tool_filter`].

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use crate::{
    call::{Caller, Scopes, ToolFilter},
    config::{Config, Generation},
    mcp::tools::{Choice, tools},
};

pub(crate) use crate::config::is_scope_token;

/// Whether the catalog's tool `name` is read-only (`annotations.read_only_hint`), in
/// either API generation's tool set (a name means the same tool in both); `None` for a
/// name neither has (rmcp answers those; no scope is involved).
fn read_only(name: &str) -> Option<bool> {
    static READ_ONLY: OnceLock<HashMap<String, bool>> = OnceLock::new();
    READ_ONLY
        .get_or_init(|| {
            [Generation::Seed, Generation::Current]
                .into_iter()
                .flat_map(|g| &tools(g).tools)
                .map(|t| {
                    let ro = t.annotations.as_ref().and_then(|a| a.read_only_hint);
                    (t.name.to_string(), ro == Some(true))
                })
                .collect()
        })
        .get(name)
        .copied()
}

/// Which scope each tool needs, and whether that is enforced. Built once from the config.
#[derive(Debug)]
pub(crate) struct ScopePolicy {
    read: String,
    write: String,
    enforce: bool,
    filter: bool,
    advertised: Vec<String>,
    /// The tools the operator offers: any other is unknown, and needs no scope.
    offered: Choice,
}

impl ScopePolicy {
    /// From `TOOLBRIDGE_READ_SCOPE`, `TOOLBRIDGE_WRITE_SCOPE`, `TOOLBRIDGE_ENFORCE_SCOPES`,
    /// `TOOLBRIDGE_FILTER_TOOLS_BY_SCOPE` and `TOOLBRIDGE_SCOPES_SUPPORTED`.
    pub(crate) fn new(cfg: &Config, offered: Choice) -> Self {
        let mut advertised: Vec<String> = Vec::new();
        let enforced = [&cfg.read_scope, &cfg.write_scope];
        let wanted = enforced
            .into_iter()
            .filter(|_| cfg.enforce_scopes)
            .chain(&cfg.scopes_supported);
        for s in wanted {
            if is_scope_token(s) && !advertised.contains(s) {
                advertised.push(s.clone());
            }
        }
        Self {
            read: cfg.read_scope.clone(),
            write: cfg.write_scope.clone(),
            enforce: cfg.enforce_scopes,
            filter: cfg.enforce_scopes && cfg.filter_tools_by_scope,
            advertised,
            offered,
        }
    }

    /// Whether a tool call is refused when its token lacks the tool's scope.
    pub(crate) fn enforced(&self) -> bool {
        self.enforce
    }

    /// Whether `tools/list` shows only the tools the token may call.
    pub(crate) fn filters(&self) -> bool {
        self.filter
    }

    /// The scopes published in `scopes_supported` and named in the 401 challenge: what a
    /// client should ask the authorization server for. Empty when nothing is configured.
    pub(crate) fn advertised(&self) -> &[String] {
        &self.advertised
    }

    /// The scope tool `name` needs (enforced or not); `None` for an unknown tool, or one
    /// the operator does not offer (refused as unknown, like any other).
    pub(crate) fn required(&self, name: &str) -> Option<&str> {
        if !self.offered.offers(name) {
            return None;
        }
        read_only(name).map(|ro| if ro { &self.read } else { &self.write }.as_str())
    }

    /// The scope `scopes` lack to call `name`, when enforced; `None` when the call may go on.
    pub(crate) fn missing<'a>(&'a self, scopes: &Scopes, name: &str) -> Option<&'a str> {
        if !self.enforce {
            return None;
        }
        self.required(name).filter(|need| !scopes.has(need))
    }

    /// Whether `scopes` may call tool `name`.
    pub(crate) fn permits(&self, scopes: &Scopes, name: &str) -> bool {
        self.missing(scopes, name).is_none()
    }

    /// The same question about a caller, in the form the MCP side reads (it knows nothing
    /// of scopes). Made once; each request filtered gets a clone of the `Arc`.
    pub(crate) fn tool_filter(self: &Arc<Self>) -> ToolFilter {
        let policy = self.clone();
        ToolFilter(Arc::new(move |caller: &Caller, name: &str| {
            policy.permits(caller.scopes(), name)
        }))
    }

    /// The `scope` of a 403 step-up challenge: the advertised scopes the token already has,
    /// plus the one it lacks. The previous grant is repeated because clients (the
    /// TypeScript SDK among them) request exactly the challenge's scopes: naming only the
    /// missing one would trade the read scope for the write scope and back on every call.
    pub(crate) fn step_up(&self, scopes: &Scopes, needed: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .advertised
            .iter()
            .filter(|s| scopes.has(s) || s.as_str() == needed)
            .cloned()
            .collect();
        if !out.iter().any(|s| s == needed) {
            out.push(needed.to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn scopes(scope: Value, scp: Value) -> Scopes {
        Scopes::from_claims(Some(&scope), Some(&scp))
    }

    #[test]
    fn reads_scope_and_scp_in_every_shape() {
        let s = scopes(json!("a  b"), json!(["c", "d e", 5]));
        for want in ["a", "b", "c", "d", "e"] {
            assert!(s.has(want), "{want}");
        }
        assert!(scopes(json!("x"), json!("y z")).has("z"));
        // Wrong types give nothing, never an error and never a right.
        assert!(scopes(json!(7), json!({"a": true})).is_empty());
        assert!(Scopes::from_claims(None, None).is_empty());
        assert!(!scopes(json!("toolbridge:readx"), json!(null)).has("toolbridge:read"));
    }

    fn policy(tweak: impl FnOnce(&mut Config)) -> ScopePolicy {
        let mut cfg = Config {
            enforce_scopes: true,
            ..Config::default()
        };
        tweak(&mut cfg);
        ScopePolicy::new(&cfg, Choice::all())
    }

    #[test]
    fn tools_need_the_scope_their_annotation_says() {
        let p = policy(|_| {});
        assert_eq!(p.required("list_notes"), Some("toolbridge:read"));
        assert_eq!(p.required("get_task"), Some("toolbridge:read"));
        assert_eq!(p.required("health_check"), Some("toolbridge:read"));
        for write in [
            "create_note",
            "delete_task",
            "process_chat",
            "patch_comment",
        ] {
            assert_eq!(p.required(write), Some("toolbridge:write"), "{write}");
        }
        assert_eq!(p.required("no_such_tool"), None);
        // Every tool of either generation needs one of the two.
        for g in [Generation::Seed, Generation::Current] {
            for t in &tools(g).tools {
                assert!(p.required(&t.name).is_some(), "{}", t.name);
            }
        }
        assert_eq!(p.required("list_task_lists"), Some("toolbridge:read"));
        assert_eq!(p.required("archive_task_list"), Some("toolbridge:write"));
    }

    #[test]
    fn missing_scopes_only_when_enforced() {
        let read = scopes(json!("toolbridge:read"), json!(null));
        let p = policy(|_| {});
        assert_eq!(p.missing(&read, "list_notes"), None);
        assert_eq!(p.missing(&read, "create_note"), Some("toolbridge:write"));
        assert_eq!(
            p.missing(&Scopes::default(), "get_note"),
            Some("toolbridge:read")
        );
        let off = policy(|c| c.enforce_scopes = false);
        assert_eq!(off.missing(&Scopes::default(), "delete_note"), None);
        assert!(off.advertised().is_empty());
        assert!(!off.filters());
        assert!(p.permits(&read, "list_notes") && !p.permits(&read, "delete_note"));
    }

    #[test]
    fn configured_names_and_advertised_order() {
        let p = policy(|c| {
            c.read_scope = "notes.read".into();
            c.write_scope = "notes.write".into();
            c.scopes_supported = vec!["openid".into(), "notes.read".into(), "bad scope".into()];
        });
        assert_eq!(p.advertised(), ["notes.read", "notes.write", "openid"]);
        assert_eq!(p.required("create_task"), Some("notes.write"));
        let granted = scopes(json!("openid notes.read other"), json!(null));
        assert_eq!(
            p.step_up(&granted, "notes.write"),
            ["notes.read", "notes.write", "openid"]
        );
        assert_eq!(p.step_up(&Scopes::default(), "notes.read"), ["notes.read"]);
    }

    #[test]
    fn scope_tokens() {
        assert!(is_scope_token("toolbridge:read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é"] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }
}
