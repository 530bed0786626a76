//! The build script: lays the binary's code out so that what start-up, an idle process
//! and tool calls run sits together at its front (`src/text-order.ld`, a linker script
//! written by `benches/text_order.py`). The kernel maps code in page-cache folios of up to
//! 256 KiB, so scattered start-up code made most of the 10 MB of code resident: an idle
//! `serve` held 13.6 MiB, most of it code it ran once or never (BENCHMARKS.md, "Fifth
//! pass").
//!
//! Release builds on Linux only: GNU ld and lld both read a script that INSERTs a section
//! into their own layout. `TOOLBRIDGE_TEXT_ORDER=off` leaves it out, for a linker that
//! cannot (mold). Every build checks the script's form, so a broken one fails here, with
//! its line, rather than in a release link.

use std::{path::Path, process::Command};

const SCRIPT: &str = "src/text-order.ld";
/// The script's line that says which build its exact names were read from.
const MADE_FOR: &str = "/* made for: ";

fn main() {
    println!("cargo::rerun-if-changed={SCRIPT}");
    println!("cargo::rerun-if-changed=Cargo.lock");
    println!("cargo::rerun-if-env-changed=TOOLBRIDGE_TEXT_ORDER");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&dir);
    let path = dir.join(SCRIPT);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{SCRIPT}: {e} (benches/text_order.py writes it)"));
    if let Err((line, why)) = check(&text) {
        panic!("{SCRIPT}:{line}: {why} (benches/text_order.py writes this file)");
    }
    // The exact names' hashes come from the crates' metadata: another toolchain, a bumped
    // dependency, another feature or profile setting, and they match nothing. The layout
    // test fails on this (`TEXT_ORDER_STALE`), and a release build says so.
    let now = made_for(dir);
    let then = text
        .lines()
        .find_map(|l| l.strip_prefix(MADE_FOR)?.strip_suffix(" */"))
        .unwrap_or("(no `made for` line)");
    let stale = if then == now {
        String::new()
    } else {
        format!(
            "{SCRIPT} was made for {then}; this build is {now}: rerun `python3 \
             benches/text_order.py` (it needs valgrind), or an idle serve maps most of its code"
        )
    };
    println!("cargo::rustc-env=TEXT_ORDER_STALE={stale}");
    // What benches/text_order.py writes into the script's `made for` line (it reads this
    // from cargo's build messages, so the fingerprint has this one home).
    println!("cargo::rustc-env=TEXT_ORDER_BUILD={now}");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let off = std::env::var("TOOLBRIDGE_TEXT_ORDER").is_ok_and(|v| v == "off");
    // Its exact names come from a release build and match only one, and matching its
    // thousands of patterns against a debug build's sections adds seconds to every link.
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if linux && release && !off {
        println!("cargo::rustc-link-arg-bins=-Wl,-T,{}", path.display());
        if !stale.is_empty() {
            println!("cargo::warning={stale}");
        }
    }
}

/// What the symbol hashes depend on: the compiler's version, and FNV-1a (64 bits) over
/// Cargo.toml then Cargo.lock (dependencies, their features, the profiles).
fn made_for(dir: &Path) -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in ["Cargo.toml", "Cargo.lock"] {
        for byte in std::fs::read(dir.join(file)).unwrap_or_default() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{version}; Cargo.toml and Cargo.lock {hash:016x}")
}

/// The script's form: one output section of input-section patterns, inserted before
/// `.text`. Patterns use only the characters both linkers read in a section name.
fn check(text: &str) -> Result<(), (usize, String)> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let mut in_comment = false;
    let mut expect = ["SECTIONS {", ".text.first : {"].into_iter();
    let mut patterns = 0;
    for (n, line) in lines.by_ref() {
        if in_comment || line.starts_with("/*") {
            in_comment = !line.ends_with("*/");
            continue;
        }
        if let Some(want) = expect.next() {
            if line != want {
                return Err((n, format!("expected `{want}`, found `{line}`")));
            }
            continue;
        }
        if line == "}" {
            break;
        }
        let Some(inner) = line.strip_prefix("*(").and_then(|l| l.strip_suffix(')')) else {
            return Err((n, format!("expected `*(.text.<name> …)`, found `{line}`")));
        };
        for section in inner.split(' ') {
            let name = section
                .strip_prefix(".text.")
                .ok_or((n, format!("`{section}` is not a .text section")))?;
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_$.*".contains(&b))
            {
                return Err((n, format!("`{section}`: a character a linker may not read")));
            }
        }
        patterns += 1;
    }
    match lines.find(|(_, l)| !l.is_empty()) {
        Some((_, "} INSERT BEFORE .text;")) if patterns > 0 => Ok(()),
        Some((n, l)) => Err((
            n,
            format!("expected `}} INSERT BEFORE .text;`, found `{l}`"),
        )),
        None => Err((text.lines().count(), "the script ends early".into())),
    }
}
