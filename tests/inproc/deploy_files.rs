//! The deployment files agree with the gateway and with each other: `.env.example`,
//! `Dockerfile.mcp`, `supervisord.conf`, `fly.mcp.toml` and `.dockerignore`, read as files.
//! `tests/procs/supervisord.rs` runs `supervisord.conf` itself under a real supervisord.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Format, Toml},
};
use serde_json::Value;
use toolbridge_mcp::config::{ALIASES, Config, KEYS, env_name};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_toolbridge-mcp");
/// The values `.env.example` requires (uncommented); everything else keeps its default.
const REQUIRED: &[&str] = &["TOOLBRIDGE_TENANT_ID", "TOOLBRIDGE_TENANT_HEADER_SECRET"];

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---- .env.example -----------------------------------------------------------------------

/// One `NAME=value` line of `.env.example`, commented out (`# NAME=value`) or not.
struct EnvLine {
    name: String,
    value: String,
    commented: bool,
    /// The line before it is a prose comment (the variable's explanation).
    explained: bool,
}

fn env_example() -> Vec<EnvLine> {
    let text = read(".env.example");
    let mut out = Vec::new();
    let mut prev_prose = false;
    for line in text.lines() {
        let (body, commented) = match line.strip_prefix('#') {
            Some(rest) => (rest.trim_start(), true),
            None => (line.trim(), false),
        };
        let assignment = body.split_once('=').filter(|(name, _)| {
            name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        });
        if let Some((name, value)) = assignment {
            out.push(EnvLine {
                name: name.into(),
                value: value.into(),
                commented,
                explained: prev_prose,
            });
        }
        prev_prose = assignment.is_none() && commented && !body.is_empty();
    }
    out
}

/// Every `TOOLBRIDGE_X` written anywhere in `text`, prose included.
fn prefixed_names(text: &str) -> BTreeSet<String> {
    text.match_indices("TOOLBRIDGE_")
        .map(|(i, p)| {
            let rest = &text[i + p.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            format!("{p}{}", &rest[..end])
        })
        .collect()
}

fn is_config_var(name: &str) -> bool {
    KEYS.iter().any(|k| env_name(k) == name) || ALIASES.iter().any(|(alias, _)| *alias == name)
}

fn required_pairs() -> Vec<(String, String)> {
    env_example()
        .into_iter()
        .filter(|l| !l.commented)
        .map(|l| (l.name, l.value))
        .collect()
}

#[test]
fn env_example_documents_every_variable_once_and_nothing_stale() {
    let lines = env_example();
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    let expected = KEYS
        .iter()
        .map(|k| env_name(k))
        .chain(ALIASES.iter().map(|(alias, _)| (*alias).to_owned()))
        .chain(["RUST_LOG".to_owned()]);
    for var in expected {
        let count = names.iter().filter(|n| **n == var).count();
        assert_eq!(count, 1, "{var} must appear exactly once in .env.example");
    }
    for name in prefixed_names(&read(".env.example")) {
        assert!(
            is_config_var(&name),
            ".env.example names {name}: no such config key"
        );
    }
    for line in &lines {
        assert!(
            line.explained,
            "{}: needs a one-line explanation above it",
            line.name
        );
        let required = REQUIRED.contains(&line.name.as_str());
        assert_eq!(
            !line.commented, required,
            "{}: only {REQUIRED:?} are uncommented",
            line.name
        );
    }
}

#[test]
fn env_example_defaults_are_the_real_defaults() {
    let required = required_pairs();
    let path = Path::new(ROOT).join(".env.example");
    let as_dotenv = Config::load_from(None, Some(&path), Vec::new())
        .expect("the .env.example placeholders make a valid config");
    let base = format!("{as_dotenv:?}");
    for line in env_example().into_iter().filter(|l| l.commented) {
        let mut env = required.clone();
        env.push((line.name.clone(), line.value.clone()));
        let config = Config::load_from(None, None, env)
            .unwrap_or_else(|e| panic!("{}={}: {e}", line.name, line.value));
        assert_eq!(
            format!("{config:?}"),
            base,
            "# {}={} is documented as the default but is not",
            line.name,
            line.value
        );
    }
}

// ---- fly.mcp.toml -----------------------------------------------------------------------

fn fly() -> Value {
    Figment::from(Toml::string(&read("fly.mcp.toml")))
        .extract()
        .expect("fly.mcp.toml parses")
}

fn fly_env(fly: &Value) -> Vec<(String, String)> {
    let env = fly["env"].as_object().expect("fly.mcp.toml has [env]");
    env.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().expect("[env] values are strings").into(),
            )
        })
        .collect()
}

/// The gateway's configuration in the Fly machine: `[env]` plus the required secrets.
fn fly_config(fly: &Value) -> Config {
    let env = required_pairs().into_iter().chain(fly_env(fly));
    Config::load_from(None, None, env).expect("fly.mcp.toml's [env] is a valid config")
}

fn service(fly: &Value, internal_port: u16) -> &Value {
    fly["services"]
        .as_array()
        .expect("[[services]]")
        .iter()
        .find(|s| s["internal_port"] == internal_port)
        .unwrap_or_else(|| panic!("no [[services]] with internal_port = {internal_port}"))
}

fn api_port(config: &Config) -> u16 {
    let url = reqwest::Url::parse(config.api_base()).unwrap();
    url.port_or_known_default().unwrap()
}

fn secs(v: &Value) -> f64 {
    v.as_f64().expect("a number of seconds")
}

#[test]
fn fly_toml_matches_the_gateway() {
    let fly = fly();
    for (name, _) in fly_env(&fly)
        .iter()
        .filter(|(n, _)| n.starts_with("TOOLBRIDGE_"))
    {
        assert!(
            is_config_var(name),
            "fly.mcp.toml [env] sets {name}: no such config key"
        );
    }
    let config = fly_config(&fly);
    assert_eq!(config.port, Config::default().port);
    assert_eq!(config.api_base(), "http://127.0.0.1:8080");
    assert_eq!(
        fly["kill_signal"], "SIGTERM",
        "the gateway drains on SIGTERM; Fly's default is SIGINT"
    );
    assert!(secs(&fly["kill_timeout"]) > config.shutdown_grace_seconds);
    assert_eq!(fly["build"]["dockerfile"], "Dockerfile.mcp");
    assert_eq!(
        fly["metrics"]["port"],
        config.metrics_port.expect("TOOLBRIDGE_METRICS_PORT set")
    );
    assert_eq!(fly["metrics"]["path"], "/metrics");

    // (internal port, the path Fly checks): the API's liveness, the gateway's readiness.
    for (port, check) in [(api_port(&config), "/healthz"), (config.port, "/readyz")] {
        let s = service(&fly, port);
        assert!(
            !s["ports"].as_array().unwrap().is_empty(),
            "{port}: no public port"
        );
        let c = &s["concurrency"];
        assert_eq!(c["type"], "requests", "{port}");
        let limit = |key: &str| {
            c[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{port}: no {key}"))
        };
        assert!(
            limit("soft_limit") < limit("hard_limit"),
            "{port}: soft < hard limit"
        );
        let checks = s["http_checks"]
            .as_array()
            .expect("[[services.http_checks]]");
        assert_eq!(checks.len(), 1, "{port}");
        assert_eq!(checks[0]["path"], check, "{port}");
        for key in ["interval", "timeout", "grace_period"] {
            assert!(
                checks[0][key].is_string(),
                "{port}: http check without {key}"
            );
        }
    }

    let args = BTreeSet::from_iter(dockerfile().args);
    for name in fly["build"]["args"]
        .as_object()
        .into_iter()
        .flat_map(|a| a.keys())
    {
        assert!(
            args.contains(name),
            "[build.args] {name} is no ARG in Dockerfile.mcp"
        );
    }
}

#[path = "deploy_files/docker.rs"]
mod docker;
use docker::dockerfile;
#[path = "deploy_files/dockerignore.rs"]
mod dockerignore;
