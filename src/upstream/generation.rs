//! Which API generation is upstream: fixed by configuration, or (`auto`) decided from
//! `GET /v1/sync/info`, which lists the entities the API has (contract §5: the current
//! generation adds `task_lists`). Detected at start and again at every readiness check.

use std::sync::atomic::{AtomicU8, Ordering};

use serde::Deserialize;

use crate::config::{ApiGeneration, Generation};

const UNKNOWN: u8 = 0;
const SEED: u8 = 1;
const CURRENT: u8 = 2;

/// The generation in use, shared by the layers that depend on it.
#[derive(Debug)]
pub(crate) struct GenerationCell {
    fixed: Option<Generation>,
    detected: AtomicU8,
}

impl GenerationCell {
    pub(crate) fn new(setting: ApiGeneration) -> Self {
        Self {
            fixed: setting.fixed(),
            detected: AtomicU8::new(UNKNOWN),
        }
    }

    /// Whether detection is needed at all.
    pub(crate) fn is_auto(&self) -> bool {
        self.fixed.is_none()
    }

    /// The generation, when configured or detected.
    pub(crate) fn known(&self) -> Option<Generation> {
        self.fixed.or(match self.detected.load(Ordering::Relaxed) {
            SEED => Some(Generation::Seed),
            CURRENT => Some(Generation::Current),
            _ => None,
        })
    }

    /// Records what the API answered; logs when it changes.
    pub(crate) fn record(&self, g: Generation) {
        let code = match g {
            Generation::Seed => SEED,
            Generation::Current => CURRENT,
        };
        let before = self.detected.swap(code, Ordering::Relaxed);
        if before != code {
            tracing::info!(generation = g.as_str(), "API generation detected");
        }
    }
}

/// The part of `/v1/sync/info` that tells the generations apart.
#[derive(Deserialize)]
pub(crate) struct Info {
    #[serde(default)]
    entities: serde_json::Map<String, serde_json::Value>,
}

impl Info {
    pub(crate) fn generation(&self) -> Generation {
        if self.entities.contains_key("task_lists") {
            Generation::Current
        } else {
            Generation::Seed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_tell_the_generations_apart_and_fixed_wins() {
        let info: Info = serde_json::from_str(
            r#"{"apiVersion":"1.1","entities":{"notes":{},"task_lists":{},"task_list_categories":{}}}"#,
        )
        .unwrap();
        assert_eq!(info.generation(), Generation::Current);
        let info: Info = serde_json::from_str(r#"{"entities":{"notes":{},"tasks":{}}}"#).unwrap();
        assert_eq!(info.generation(), Generation::Seed);
        let cell = GenerationCell::new(ApiGeneration::Auto);
        assert_eq!(cell.known(), None);
        cell.record(Generation::Current);
        assert_eq!(cell.known(), Some(Generation::Current));
        let fixed = GenerationCell::new(ApiGeneration::Seed);
        fixed.record(Generation::Current);
        assert_eq!(fixed.known(), Some(Generation::Seed));
    }
}
