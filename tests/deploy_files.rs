//! The deployment files agree with the gateway and with each other: `.env.example`,
//! `Dockerfile.mcp`, `supervisord.conf`, `fly.mcp.toml` and `.dockerignore`, read as files.
//! `tests/supervisord.rs` runs `supervisord.conf` itself under a real supervisord.

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
    KEYS.iter().any(|k| env_name(k) == name)
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

// ---- Dockerfile.mcp and supervisord.conf ------------------------------------------------

#[derive(Default)]
struct Dockerfile {
    /// `(--from stage or "", source, destination)` of every COPY.
    copies: Vec<(String, String, String)>,
    env: BTreeMap<String, String>,
    expose: BTreeSet<u16>,
    args: Vec<String>,
    user: String,
    cmd: Vec<String>,
}

fn dockerfile() -> Dockerfile {
    let text = read("Dockerfile.mcp");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => instructions.push(std::mem::take(&mut current) + line),
        }
    }
    let mut df = Dockerfile::default();
    for instruction in instructions {
        let (op, rest) = instruction.split_once(char::is_whitespace).unwrap();
        let words = rest.split_whitespace();
        match op {
            "COPY" => {
                let (flags, paths): (Vec<&str>, Vec<&str>) =
                    words.partition(|w| w.starts_with("--"));
                let from = flags
                    .iter()
                    .find_map(|f| f.strip_prefix("--from="))
                    .unwrap_or("");
                let (dest, sources) = paths.split_last().expect("COPY needs a destination");
                for src in sources {
                    df.copies.push((from.into(), (*src).into(), (*dest).into()));
                }
            }
            "ENV" => df.env.extend(words.map(|w| {
                let (k, v) = w.split_once('=').expect("ENV K=V");
                (k.to_owned(), v.to_owned())
            })),
            "EXPOSE" => df
                .expose
                .extend(words.map(|w| w.trim_end_matches("/tcp").parse::<u16>().unwrap())),
            "ARG" => df
                .args
                .extend(words.map(|w| w.split('=').next().unwrap().to_owned())),
            "USER" => df.user = rest.trim().into(),
            "CMD" => df.cmd = serde_json::from_str(rest).expect("CMD in exec (JSON) form"),
            _ => {}
        }
    }
    df
}

impl Dockerfile {
    /// The `(source, destination)` of the first COPY that `pick`s `(stage, source)`.
    fn copy(&self, what: &str, pick: impl Fn(&str, &str) -> bool) -> (&str, &str) {
        self.copies
            .iter()
            .find(|(from, src, _)| pick(from, src))
            .map(|(_, src, dest)| (src.as_str(), dest.as_str()))
            .unwrap_or_else(|| panic!("Dockerfile.mcp: no COPY of {what}"))
    }
}

type Ini = BTreeMap<String, BTreeMap<String, String>>;

/// supervisord.conf as sections of keys (`;` starts a comment at a line's start or after a space).
fn supervisord_conf() -> Ini {
    let mut ini = Ini::new();
    let mut section = String::new();
    for line in read("supervisord.conf").lines() {
        let line = line.split(" ;").next().unwrap().trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.into();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("supervisord.conf: {line}"));
        ini.entry(section.clone())
            .or_default()
            .insert(k.trim().into(), v.trim().into());
    }
    ini
}

fn num(ini: &Ini, section: &str, key: &str) -> f64 {
    ini[section][key]
        .parse()
        .unwrap_or_else(|_| panic!("[{section}] {key} is not a number"))
}

#[test]
fn dockerfile_supervisord_and_fly_agree() {
    let (df, ini, fly) = (dockerfile(), supervisord_conf(), fly());
    let config = fly_config(&fly);
    let argv = |program: &str| -> Vec<String> {
        ini[&format!("program:{program}")]["command"]
            .split_whitespace()
            .map(Into::into)
            .collect()
    };

    // The binaries supervisord runs are the ones the image holds.
    let (built, gateway) = df.copy("the gateway", |from, _| from == "build");
    assert_eq!(
        Path::new(built).file_name(),
        Path::new(BIN).file_name(),
        "the cargo binary"
    );
    assert_eq!(argv("mcp"), [gateway, "serve"]);
    assert_eq!(
        argv("api")[0],
        df.copy("the API", |from, _| from == "api").1
    );
    // supervisord reads the file the image puts it in.
    let conf_path = df
        .copy("supervisord.conf", |_, src| src == "supervisord.conf")
        .1;
    assert!(df.cmd[0].ends_with("/supervisord"), "CMD {:?}", df.cmd);
    let c = df
        .cmd
        .iter()
        .position(|a| a == "-c")
        .expect("CMD passes -c");
    assert_eq!(df.cmd[c + 1], conf_path);
    assert_ne!(
        df.user.split(':').next(),
        Some("0"),
        "the image runs as a non-root user"
    );
    assert!(!df.user.is_empty() && df.user != "root");

    // Ports: both services and the metrics port are exposed.
    let ports = [api_port(&config), config.port, config.metrics_port.unwrap()];
    for port in ports {
        assert!(df.expose.contains(&port), "EXPOSE lacks {port}");
    }
    // The image's defaults are real keys and agree with Fly's [env].
    let fly_env = BTreeMap::from_iter(fly_env(&fly));
    for (name, value) in &df.env {
        assert!(
            is_config_var(name),
            "Dockerfile.mcp ENV {name}: no such config key"
        );
        if let Some(fly_value) = fly_env.get(name) {
            assert_eq!(
                value, fly_value,
                "{name}: Dockerfile.mcp and fly.mcp.toml differ"
            );
        }
    }

    // Shutdown: supervisord stops mcp then api, one after the other, each within its
    // stopwaitsecs; the gateway needs its grace period; Fly waits for all of it.
    let sup = &ini["supervisord"];
    assert_eq!(sup["nodaemon"], "true");
    for key in ["pidfile", "childlogdir"] {
        assert!(
            sup[key].starts_with("/tmp"),
            "[supervisord] {key} must be writable by uid 1000"
        );
    }
    assert!(ini["unix_http_server"]["file"].starts_with("/tmp/"));
    assert!(num(&ini, "program:api", "priority") < num(&ini, "program:mcp", "priority"));
    assert!(num(&ini, "program:mcp", "stopwaitsecs") > config.shutdown_grace_seconds);
    let mut stop_total = 0.0;
    for program in ["api", "mcp"] {
        let section = &ini[&format!("program:{program}")];
        let expected = [
            ("autostart", "true"),
            ("autorestart", "true"),
            ("stopsignal", "TERM"),
            ("stdout_logfile", "/dev/stdout"),
            ("stdout_logfile_maxbytes", "0"),
            ("stderr_logfile", "/dev/stderr"),
            ("stderr_logfile_maxbytes", "0"),
        ];
        for (key, value) in expected {
            assert_eq!(
                section.get(key).map(String::as_str),
                Some(value),
                "[program:{program}] {key}"
            );
        }
        assert!(
            !section.contains_key("environment"),
            "[program:{program}]: env is passed through"
        );
        stop_total += num(&ini, &format!("program:{program}"), "stopwaitsecs");
    }
    assert!(
        secs(&fly["kill_timeout"]) > stop_total,
        "kill_timeout must cover {stop_total} s"
    );
}

// ---- .dockerignore ----------------------------------------------------------------------

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
