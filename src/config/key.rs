//! [`Key`]: what the key table says about one configuration key, and the `config_keys!`
//! macro that turns the table in `config.rs` into the [`Config`](super::Config) struct and
//! the [`KEYS`](super::KEYS) list, so that both (and the `Default`, the README table and
//! `.env.example`, which are made from the list) come from one entry per key.

use std::{net::IpAddr, time::Duration};

use super::{ApiGeneration, BackendAuth, Issuer, LogFormat, ResultShape, SessionMode};
use crate::secret::Secret;

/// One configuration key: `TOOLBRIDGE_<NAME>` in the environment, `<name>` in a TOML file.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key as written in a TOML file (lower case); the variable is `TOOLBRIDGE_` + upper case.
    pub name: &'static str,
    /// The heading it is listed under in `.env.example`.
    pub section: &'static str,
    /// The default, written as it would be in `.env` (`""`: unset). `Config::default()` is
    /// made by reading these through the same deserializers as any other value.
    pub default: &'static str,
    /// For a key every deployment must set: the placeholder `.env.example` sets it to
    /// (uncommented). `None`: the key is optional and `.env.example` shows its default.
    pub example: Option<&'static str>,
    /// Other names read for the same key (the key's own name wins when both are set).
    pub aliases: &'static [Alias],
    /// Its value is a secret: never shown in an error message (the type is [`Secret`]).
    pub secret: bool,
    /// What it means, one line per line of `.env.example`; the README joins the lines.
    pub doc: &'static [&'static str],
}

/// Another name read for a key.
#[derive(Debug, Clone, Copy)]
pub struct Alias {
    /// The variable.
    pub name: &'static str,
    /// Its `.env.example` line, when more than "Alias of ..." needs saying (whose name it
    /// is, how its value becomes the key's: `config::aliased_value`).
    pub doc: Option<&'static str>,
}

impl Key {
    /// The environment variable that sets it.
    pub fn env(&self) -> String {
        super::env_name(self.name)
    }

    /// Its meaning as one line of prose.
    pub fn meaning(&self) -> String {
        self.doc
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What the key table needs to know of a field's type: whether it holds a secret. Every
/// type a key may have implements it (a new enum for a new key needs one line here).
pub(crate) trait KeyType {
    /// Values of this type are never shown in an error message.
    const SECRET: bool = false;
}

impl KeyType for Secret {
    const SECRET: bool = true;
}
impl KeyType for String {}
impl KeyType for bool {}
impl KeyType for u16 {}
impl KeyType for u64 {}
impl KeyType for usize {}
impl KeyType for f64 {}
impl KeyType for IpAddr {}
impl KeyType for Duration {}
impl KeyType for reqwest::Url {}
impl KeyType for Issuer {}
impl KeyType for ApiGeneration {}
impl KeyType for BackendAuth {}
impl KeyType for SessionMode {}
impl KeyType for LogFormat {}
impl KeyType for ResultShape {}
impl<T> KeyType for Option<T> {}
impl<T> KeyType for Vec<T> {}

/// The key name: the field's own, or the one given with `as "..."`.
macro_rules! key_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $key:literal) => {
        $key
    };
}
pub(crate) use key_name;

/// `Some(placeholder)` when the entry gives one.
macro_rules! placeholder {
    () => {
        None
    };
    ($example:literal) => {
        Some($example)
    };
}
pub(crate) use placeholder;

/// Generates `Config` (one field per entry, with its doc, its key name and its
/// deserializer) and `KEYS` (one [`Key`] per entry) from the table in `config.rs`.
///
/// An entry: doc lines, then `field [as "key_name"]: Type = "default"`, then optionally
/// `, example "placeholder"`, any number of `, alias "NAME" ["its .env.example line"]`,
/// `, de "deserializer fn"` (read only) and `, with "module"` (read and written: a module
/// with `deserialize` and `serialize`), ending with `;`.
macro_rules! config_keys {
    ($(
        section $section:literal {
            $(
                $(#[doc = $doc:literal])+
                $field:ident $(as $key:literal)? : $ty:ty = $default:literal
                    $(, example $example:literal)?
                    $(, alias $alias:literal $($alias_doc:literal)?)*
                    $(, de $de:literal)?
                    $(, with $with:literal)?
                ;
            )+
        }
    )+) => {
        /// The whole configuration of the gateway, validated. Every field is a key of
        /// [`KEYS`] (`TOOLBRIDGE_<KEY>` in the environment); durations are
        /// [`Duration`](std::time::Duration)s and URLs parsed [`Url`](reqwest::Url)s.
        // Serialize: `check` prints the effective configuration from it (secrets as
        // set/unset).
        #[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
        pub struct Config {
            $($(
                $(#[doc = $doc])+
                $(#[serde(rename = $key)])?
                $(#[serde(deserialize_with = $de)])?
                $(#[serde(with = $with)])?
                pub $field: $ty,
            )+)+
        }

        /// Every configuration key, in the order `.env.example` and the README list them.
        pub const KEYS: &[Key] = &[
            $($(
                Key {
                    name: $crate::config::key::key_name!($field $($key)?),
                    section: $section,
                    default: $default,
                    example: $crate::config::key::placeholder!($($example)?),
                    aliases: &[$($crate::config::key::Alias {
                        name: $alias,
                        doc: $crate::config::key::placeholder!($($alias_doc)?),
                    }),*],
                    secret: <$ty as $crate::config::key::KeyType>::SECRET,
                    doc: &[$($doc),+],
                },
            )+)+
        ];
    };
}
pub(crate) use config_keys;
