//! [`Config::load_from`]: the layers in rising precedence, and errors that name the key and
//! the position of a bad value without ever echoing the value of a secret.
//!
//! The TOML and `.env` parsers quote the offending line in their messages, and figment
//! quotes a value of the wrong type; an unterminated `tenant_header_secret = "...` line
//! used to be printed to stderr whole. Here the TOML text is checked first with the `toml`
//! crate (whose errors carry a span and a message apart from the snippet), a `.env` line
//! that does not parse is named by its variable only, and a type error on a secret key
//! says what was expected and nothing of what was found.

use std::path::Path;

use figment::{
    Figment, Metadata, Profile, Provider,
    error::Kind,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};

use super::{ALIASES, Config, ConfigError, ENV_PREFIX, KEYS, SECRET_KEYS, aliased_value, env_name};

/// Key-value pairs (the process environment or a `.env` file) as a figment provider.
struct Pairs {
    name: &'static str,
    dict: Dict,
}

impl Pairs {
    /// Keeps `TOOLBRIDGE_*` variables and the known aliases; the prefixed form wins.
    fn new(name: &'static str, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut prefixed = Dict::new();
        let mut aliased = Dict::new();
        for (k, v) in vars {
            // An empty variable means "not set": `FOO=` in a .env file should not blank a default.
            if v.is_empty() {
                continue;
            }
            // Aliases first: some of them carry the prefix too.
            if let Some((alias, key)) = ALIASES.iter().find(|(alias, _)| *alias == k) {
                let value: Value = aliased_value(alias, &v).parse().expect("infallible");
                aliased.insert((*key).to_string(), value);
            } else if let Some(key) = k.strip_prefix(ENV_PREFIX) {
                let value: Value = v.parse().expect("infallible");
                prefixed.insert(key.to_ascii_lowercase(), value);
            }
        }
        aliased.extend(prefixed);
        Self {
            name,
            dict: aliased,
        }
    }
}

impl Provider for Pairs {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }
    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

impl Config {
    /// Loads from an optional TOML file, an optional `.env` file and the given environment,
    /// in rising precedence, then validates.
    pub fn load_from(
        toml: Option<&Path>,
        dotenv: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut fig = Figment::new();
        if let Some(path) = toml {
            if !path.exists() {
                return Err(ConfigError::Parse(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::Parse(format!(
                    "config file {} cannot be read: {e}",
                    path.display()
                ))
            })?;
            check_toml(path, &text)?;
            fig = fig.merge(Toml::string(&text));
        }
        if let Some(path) = dotenv.filter(|p| p.exists()) {
            let vars = dotenvy::from_path_iter(path)
                .map_err(|e| dotenv_error(path, e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| dotenv_error(path, e))?;
            fig = fig.merge(Pairs::new(".env", vars));
        }
        fig = fig.merge(Pairs::new("environment", env));
        let config: Config = fig.extract().map_err(|e| extract_error(&e))?;
        config.validate()?;
        Ok(config)
    }

    /// Loads from `--config`, `./.env` and the process environment.
    pub fn load(toml: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(toml, Some(Path::new(".env")), std::env::vars())
    }
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
        || ALIASES
            .iter()
            .any(|(alias, k)| alias.eq_ignore_ascii_case(key) && SECRET_KEYS.contains(k))
        || key
            .strip_prefix(ENV_PREFIX)
            .is_some_and(|k| SECRET_KEYS.contains(&k.to_ascii_lowercase().as_str()))
}

/// A TOML syntax error as `line L, column C (in the value of VAR): what is wrong`.
fn check_toml(path: &Path, text: &str) -> Result<(), ConfigError> {
    let Err(e) = toml::from_str::<toml::Table>(text) else {
        return Ok(());
    };
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let key = text
        .lines()
        .nth(line - 1)
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches(['"', '\'']))
        .filter(|k| KEYS.contains(k));
    let mut why = e
        .message()
        .lines()
        .next()
        .unwrap_or("invalid TOML")
        .to_owned();
    if key.is_some_and(is_secret) {
        // toml's own messages describe the problem, not the text; still, a secret's line
        // gets only what cannot hold any of it.
        let value = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(_, v)| v);
        if value.is_some_and(|v| v.trim().len() >= 3 && why.contains(v.trim().trim_matches('"'))) {
            why = "malformed value (not shown: it is a secret)".into();
        }
    }
    let key = key
        .map(|k| format!(" (in {})", env_name(k)))
        .unwrap_or_default();
    Err(ConfigError::Parse(format!(
        "config file {}: TOML syntax error at line {line}, column {column}{key}: {why}",
        path.display()
    )))
}

/// A `.env` error naming the variable of the bad line, never its value.
fn dotenv_error(path: &Path, e: dotenvy::Error) -> ConfigError {
    let why = match e {
        dotenvy::Error::LineParse(line, at) => {
            let name = line
                .split_once('=')
                .map(|(k, _)| k.trim().trim_start_matches("export ").trim())
                .filter(|k| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            match name {
                Some(name) => format!(
                    "the line of {name} cannot be parsed (at character {at}; the value is not shown)"
                ),
                None => format!("a line cannot be parsed (at character {at}; it is not shown)"),
            }
        }
        other => other.to_string(),
    };
    ConfigError::Parse(format!("{}: {why}", path.display()))
}

/// figment's error for one key, without the value when the key is a secret.
fn extract_error(e: &figment::Error) -> ConfigError {
    let key = e.path.first().map(String::as_str).unwrap_or_default();
    let var = env_name(key);
    if !is_secret(key) {
        return ConfigError::Parse(format!("{var}: {}", e.kind));
    }
    let why = match &e.kind {
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
            format!("invalid value, expected {expected} (the value is not shown)")
        }
        _ => "invalid value (not shown: it is a secret)".to_owned(),
    };
    ConfigError::Parse(format!("{var}: {why}"))
}
