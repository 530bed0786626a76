//! The two documents made from the key table: `.env.example` and the configuration table
//! in `README.md`. `config::tests::docs` compares them with the files and shows a diff;
//! `UPDATE_CONFIG_DOCS=1 cargo test --lib config::tests::docs` writes them.

use std::fmt::Write as _;

use super::{KEYS, Key, OTHER_VARS};

/// The README lines between these markers are the configuration table.
pub(crate) const README_BEGIN: &str =
    "<!-- The table is made from the key table in src/config.rs: see its docs. -->";
/// The end of the configuration table in the README.
pub(crate) const README_END: &str = "<!-- End of the generated table. -->";

const ENV_HEAD: &str = "\
# Every environment variable toolbridge-mcp reads. Copy to .env (read from the working
# directory) or set them in the environment, which wins over .env.
#
# How to read this file:
#   - an uncommented line is required: replace the placeholder;
#   - a commented-out `# NAME=value` line shows the default, exactly; uncomment to change it;
#   - an empty default means unset.
# Lists are comma-separated. Durations are in seconds and may have decimals where noted.
# Made from the key table in src/config.rs (config::tests::docs checks it, and writes it
# with UPDATE_CONFIG_DOCS=1); tests/inproc/deploy_files.rs loads its defaults.
";

const ENV_TAIL: &str = "
# --- `toolbridge-mcp emulator` only -----------------------------------------------------
# The emulator reads the API's own names: TOOLBRIDGE_TENANT_ID, TENANT_HEADER_SECRET and
# JWT_HS256_SECRET above; with --generation current also DEFAULT_TENANT_ID, JWT_ISSUER,
# JWT_JWKS_URL, JWT_AUDIENCE and MCP_OAUTH_AUDIENCE (see the README's \"Other commands\").

# `dev` lets requests without a Bearer token name their user in X-Debug-Sub, like the API.
# ENV=
";

/// The sections of the key table, in order.
fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let listed = KEYS.iter().map(|k| k.section);
    for section in listed.chain(OTHER_VARS.iter().map(|o| o.section)) {
        if !out.contains(&section) {
            out.push(section);
        }
    }
    out
}

/// `.env.example`, whole.
pub(crate) fn env_example() -> String {
    let mut out = String::from(ENV_HEAD);
    for section in sections() {
        let title = format!("# --- {section} ");
        let _ = writeln!(out, "\n{title:-<90}\n");
        for key in KEYS.iter().filter(|k| k.section == section) {
            env_entry(&mut out, key);
        }
        for other in OTHER_VARS.iter().filter(|o| o.section == section) {
            for line in other.doc {
                let _ = writeln!(out, "# {}", line.trim());
            }
            let _ = writeln!(out, "# {}={}", other.name, other.default);
        }
    }
    out.push_str(ENV_TAIL);
    out
}

fn env_entry(out: &mut String, key: &Key) {
    for line in key.doc {
        let _ = writeln!(out, "# {}", line.trim());
    }
    let var = key.env();
    match key.example {
        Some(example) => {
            let _ = writeln!(out, "{var}={example}");
        }
        None => {
            let _ = writeln!(out, "# {var}={}", key.default);
        }
    }
    for alias in key.aliases {
        match alias.doc {
            Some(doc) => writeln!(out, "# {doc}"),
            None => writeln!(out, "# Alias of {var}; the prefixed one wins."),
        }
        .ok();
        let _ = writeln!(out, "# {}=", alias.name);
    }
}

/// The README's configuration table, markers excluded.
pub(crate) fn readme_table() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for key in KEYS {
        let mut names = format!("`{}`", key.env());
        for alias in key.aliases {
            let _ = write!(names, " (or `{}`)", alias.name);
        }
        let default = match (key.default, key.example) {
            ("", Some(_)) => "unset: set it".to_owned(),
            ("", None) => "unset".to_owned(),
            (d, _) => format!("`{d}`"),
        };
        let meaning = key.meaning().replace('|', "\\|");
        let _ = writeln!(out, "| {names} | {default} | {meaning} |");
    }
    for other in OTHER_VARS {
        let meaning = other
            .doc
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        let default = match other.default {
            "" => "unset".to_owned(),
            d => format!("`{d}`"),
        };
        let _ = writeln!(out, "| `{}` | {default} | {meaning} |", other.name);
    }
    out
}

/// `readme` with the text between the markers replaced by `table`; `None` without markers.
pub(crate) fn splice_readme(readme: &str, table: &str) -> Option<String> {
    let (before, rest) = readme.split_once(README_BEGIN)?;
    let (_, after) = rest.split_once(README_END)?;
    Some(format!(
        "{before}{README_BEGIN}\n{table}{README_END}{after}"
    ))
}
