//! The shape of the house, checked: no import circles between files, and no lower layer
//! importing a higher one. There is no line cap: a cap decided where code went (files split
//! and helpers moved only to stay under it), which hurt reading more than a long, coherent
//! //! file does; files are kept small where that helps, by judgement. A file's imports are every
//! `crate::…` and `super::…` path in its code, resolved to the file that defines the module;
//! a circle is reported with its path.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            // The binary and the build script are crates of their own; test-only files may
            // reach anywhere.
            && path != Path::new(SRC).join("main.rs")
            && path != Path::new(SRC).join("build.rs")
            && !path.file_stem().is_some_and(|s| s == "tests" || s.to_string_lossy().ends_with("_tests"))
        {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `["a", "b"]`; `src/lib.rs` → `[]`.
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(SRC).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Splits a file's code into its re-exports (`pub use …;`, a facade, not a dependency)
/// and the rest.
fn split_reexports(code: &str) -> (String, String) {
    let (mut reexports, mut rest) = (String::new(), String::new());
    let mut in_reexport = false;
    for line in code.lines() {
        let t = line.trim_start();
        if t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            in_reexport = true;
        }
        if in_reexport {
            reexports.push_str(
                t.trim_start_matches("pub(crate) ")
                    .trim_start_matches("pub "),
            );
            reexports.push('\n');
            in_reexport = !line.contains(';');
        } else {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    (reexports, rest)
}

/// The code of a file without comments and string literals (roughly: enough for paths).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut in_test = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            in_test = true;
        }
        if in_test || t.starts_with("//") {
            continue;
        }
        let mut quoted = false;
        for c in line.split("//").next().unwrap_or("").chars() {
            if c == '"' {
                quoted = !quoted;
            } else if !quoted {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// The module paths a file's code names, as absolute paths from the crate root: every
/// `crate::…`, `super::…` and `self::…` path, and `child::…` for the file's own child modules.
fn imports(module: &[String], children: &[String], code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
    let mut roots: Vec<(String, Vec<String>)> = vec![
        ("crate".into(), Vec::new()),
        ("super".into(), parent),
        ("self".into(), module.to_vec()),
    ];
    for c in children {
        let mut m = module.to_vec();
        m.push(c.clone());
        roots.push((c.clone(), m));
    }
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0
            || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
        if !boundary {
            i += 1;
            continue;
        }
        // The path's segments: `a::b::c` (stopping at anything else).
        let mut segs = Vec::new();
        let mut seg = String::new();
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_alphanumeric() || c == '_' {
                seg.push(c);
            } else if c == ':' && chars.get(j + 1) == Some(&':') && !seg.is_empty() {
                segs.push(std::mem::take(&mut seg));
                j += 1;
            } else {
                break;
            }
            j += 1;
        }
        if !seg.is_empty() {
            segs.push(seg);
        }
        let grouped = chars.get(j) == Some(&'{');
        let root = roots
            .iter()
            .find(|(r, _)| (segs.len() > 1 || grouped) && segs.first() == Some(r));
        if let Some((_, base)) = root {
            let mut path = base.clone();
            let mut rest = segs[1..].iter().peekable();
            // `super::super::x`
            while rest.peek().is_some_and(|s| *s == "super") {
                path.pop();
                rest.next();
            }
            path.extend(rest.cloned());
            // `use crate::a::{b, c::{d, e}}`: each name in the braces may be a module too.
            if chars.get(j) == Some(&'{') {
                j = group(&chars, j, &path, &mut found);
            } else {
                found.push(path);
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// Reads the `{...}` group at `open` (nested groups included) below `prefix`; returns the
/// position after its `}`.
fn group(chars: &[char], open: usize, prefix: &[String], found: &mut Vec<Vec<String>>) -> usize {
    let mut j = open + 1;
    let mut path = prefix.to_vec();
    let mut seg = String::new();
    while j < chars.len() {
        let c = chars[j];
        if c.is_alphanumeric() || c == '_' {
            seg.push(c);
        } else if c == ':' && chars.get(j + 1) == Some(&':') {
            path.push(std::mem::take(&mut seg));
            j += 1;
        } else if c == '{' {
            j = group(chars, j, &path, found);
            continue;
        } else if c == ',' || c == '}' {
            if !seg.is_empty() {
                path.push(std::mem::take(&mut seg));
            }
            if path.len() > prefix.len() {
                found.push(std::mem::replace(&mut path, prefix.to_vec()));
            } else {
                path = prefix.to_vec();
            }
            if c == '}' {
                return j + 1;
            }
        } else if !c.is_whitespace() {
            // `self`, `as x`, `*`: nothing more to learn from this item.
            seg.clear();
        }
        j += 1;
    }
    j
}

#[test]
fn no_files_import_each_other_in_a_circle_or_up_the_layers() {
    let mut all = Vec::new();
    files(Path::new(SRC), &mut all);
    let modules: BTreeMap<Vec<String>, PathBuf> =
        all.iter().map(|p| (module_of(p), p.clone())).collect();
    let name = |m: &Vec<String>| modules[m].strip_prefix(SRC).unwrap().display().to_string();
    let children = |module: &Vec<String>| -> Vec<String> {
        modules
            .keys()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
            .map(|m| m.last().unwrap().clone())
            .collect()
    };
    // Names re-exported by a facade (`pub use x::Y` in a/mod.rs: a::Y is x::Y).
    let mut texts = BTreeMap::new();
    let mut reexported: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for path in &all {
        let module = module_of(path);
        let (reexports, rest) = split_reexports(&code(&std::fs::read_to_string(path).unwrap()));
        for line in reexports.lines() {
            let mut inner = line.to_owned();
            inner.insert(0, ' ');
            for target in imports(&module, &children(&module), &inner) {
                if let Some(last) = target.last() {
                    let mut alias = module.clone();
                    alias.push(last.clone());
                    if alias != target {
                        reexported.insert(alias, target);
                    }
                }
            }
        }
        texts.insert(module, rest);
    }
    let resolve = |mut target: Vec<String>| -> Vec<String> {
        for _ in 0..16 {
            if modules.contains_key(&target) {
                return target;
            }
            match reexported.get(&target) {
                Some(t) => target = t.clone(),
                None => {
                    // The longest prefix that is a file, or a facade's name in it.
                    let mut t = target.clone();
                    while !t.is_empty() && !modules.contains_key(&t) && !reexported.contains_key(&t)
                    {
                        t.pop();
                    }
                    if t == target || t.is_empty() {
                        return t;
                    }
                    target = t;
                }
            }
        }
        target
    };
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for path in &all {
        let module = module_of(path);
        for target in imports(&module, &children(&module), &texts[&module]) {
            let target = resolve(target);
            if target != module && !target.is_empty() {
                graph.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    if std::env::var_os("LAYOUT_DEBUG").is_some() {
        for (k, v) in &graph {
            eprintln!(
                "{} -> {:?}",
                name(k),
                v.iter().map(&name).collect::<Vec<_>>()
            );
        }
    }
    // Layers, lowest first: a file may import its own top module and those below it.
    const LAYERS: &[&str] = &[
        "secret",
        "config",
        "telemetry",
        "call",
        "upstream",
        "mcp",
        "auth",
        // The emulator shares the gateway's pure parsers (signing, JWKS), nothing else.
        "emulator",
        "http",
        "run",
    ];
    let rank = |m: &Vec<String>| {
        m.first()
            .and_then(|top| LAYERS.iter().position(|l| l == top))
    };
    let mut upward = BTreeSet::new();
    for (from, targets) in &graph {
        for to in targets {
            if let (Some(a), Some(b)) = (rank(from), rank(to))
                && b > a
            {
                upward.insert(format!("{} -> {}", name(from), name(to)));
            }
        }
    }
    let mut circles = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut c: Vec<String> = path.iter().map(&name).collect();
                    let min = c
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, n)| (*n).clone())
                        .unwrap()
                        .0;
                    c.rotate_left(min);
                    circles.insert(c.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    assert!(
        circles.is_empty() && upward.is_empty(),
        "import circles:\n{}\nlower layers importing higher ones:\n{}",
        circles.into_iter().collect::<Vec<_>>().join("\n"),
        upward.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The code order's exact names were read from a build of this toolchain, Cargo.toml and
/// Cargo.lock (src/build.rs compares); after a bump they match nothing until
/// benches/text_order.py runs again, and idle RSS goes back up by about 6 MiB.
#[test]
fn code_order_matches_this_build() {
    let stale = env!("TEXT_ORDER_STALE");
    assert!(stale.is_empty(), "{stale}");
}
