//! Correlation ids: one per tool call, sent to the API and named in error messages.

use std::sync::Arc;

/// A random UUID v4 for one call. (A per-thread generator instead of the OS's randomness
/// was tried; the benchmark could not tell the difference, so the plain way stays.)
pub(crate) fn new_id() -> Arc<str> {
    let mut buf = uuid::Uuid::encode_buffer();
    Arc::from(&*uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_distinct_v4_uuids() {
        let ids: std::collections::HashSet<Arc<str>> = (0..10_000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let u = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(u.get_version_num(), 4, "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
    }
}
