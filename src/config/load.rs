//! Reading the layers: defaults < TOML file < `.env` < environment, into [`Config`].

use std::path::Path;

use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};

use super::{ALIASES, Config, ConfigError, ENV_PREFIX, env_name};

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
            let value: Value = v.parse().expect("infallible");
            if let Some(key) = k.strip_prefix(ENV_PREFIX) {
                prefixed.insert(key.to_ascii_lowercase(), value);
            } else if let Some((_, key)) = ALIASES.iter().find(|(alias, _)| *alias == k) {
                aliased.insert((*key).to_string(), value);
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
            fig = fig.merge(Toml::file(path));
        }
        if let Some(path) = dotenv.filter(|p| p.exists()) {
            let vars = dotenvy::from_path_iter(path)
                .map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?;
            fig = fig.merge(Pairs::new(".env", vars));
        }
        fig = fig.merge(Pairs::new("environment", env));
        let config: Config = fig.extract().map_err(|e| {
            let var = e.path.first().map(|k| env_name(k)).unwrap_or_default();
            ConfigError::Parse(format!("{var}: {}", e.kind))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Loads from `--config`, `./.env` and the process environment.
    pub fn load(toml: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(toml, Some(Path::new(".env")), std::env::vars())
    }
}
