//! `.dockerignore`: the build context keeps the build inputs and nothing private.

use super::*;

/// `*` and `?` within one path segment, `**` across segments (`.dockerignore` globs).
fn glob(pattern: &str, s: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("**") {
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        return (0..=s.len())
            .filter(|&i| i == 0 || s[..i].ends_with('/'))
            .any(|i| glob(rest, &s[i..]));
    }
    match (pattern.chars().next(), s.chars().next()) {
        (None, None) => true,
        (Some('*'), _) => {
            glob(&pattern[1..], s)
                || s.chars()
                    .next()
                    .is_some_and(|c| c != '/' && glob(pattern, &s[c.len_utf8()..]))
        }
        (Some(p), Some(c)) if p == c || (p == '?' && c != '/') => {
            glob(&pattern[p.len_utf8()..], &s[c.len_utf8()..])
        }
        _ => false,
    }
}

/// Whether the build context keeps `path`: the last matching line wins, and a line that
/// matches a parent directory matches everything inside it.
fn in_context(rules: &str, path: &str) -> bool {
    let mut keep = true;
    for rule in rules
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (negated, pattern) = match rule.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, rule),
        };
        let pattern = pattern.trim_matches('/');
        let mut prefixes = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain([path]);
        if prefixes.any(|prefix| glob(pattern, prefix)) {
            keep = negated;
        }
    }
    keep
}

/// Files the crate embeds with `include_str!`/`include_bytes!`, relative to the root.
fn embedded_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            embedded_files(&path, out);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for macro_call in ["include_str!(\"", "include_bytes!(\""] {
            for (i, _) in text.match_indices(macro_call) {
                let rel = text[i + macro_call.len()..].split('"').next().unwrap();
                let mut full = PathBuf::from(path.parent().unwrap());
                for part in Path::new(rel).components() {
                    match part {
                        std::path::Component::ParentDir => _ = full.pop(),
                        other => full.push(other),
                    }
                }
                out.push(
                    full.strip_prefix(ROOT)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
}

#[test]
fn dockerignore_keeps_the_build_inputs_and_nothing_private() {
    let rules = read(".dockerignore");
    let mut needed: Vec<String> = dockerfile()
        .copies
        .into_iter()
        .filter(|(from, ..)| from.is_empty())
        .map(|(_, src, _)| {
            src.trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned()
        })
        .collect();
    needed.extend(["src/main.rs", "src/lib.rs"].map(String::from));
    embedded_files(&Path::new(ROOT).join("src"), &mut needed);
    for path in needed {
        assert!(
            in_context(&rules, &path),
            ".dockerignore drops {path}, which the build needs"
        );
    }
    for path in [
        ".env",
        "target/release/toolbridge-mcp",
        ".git/config",
        ".venv/bin/python",
    ] {
        assert!(
            !in_context(&rules, path),
            ".dockerignore lets {path} into the build context"
        );
    }
}
