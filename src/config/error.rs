//! [`ConfigError`]: what is wrong with the configuration, naming the variable to fix.

/// A configuration problem, naming the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read or has the wrong type.
    #[error("configuration: {0}")]
    Parse(String),
    /// A required value is missing.
    #[error("configuration: {var} is required: {why}")]
    Missing {
        /// The environment variable to set.
        var: String,
        /// What it is for.
        why: &'static str,
    },
    /// A value is present but unusable.
    #[error("configuration: {var} is invalid: {why}")]
    Invalid {
        /// The environment variable to fix.
        var: String,
        /// What is wrong with it.
        why: String,
    },
}
