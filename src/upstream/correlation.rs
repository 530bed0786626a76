//! Correlation ids: one per tool call, sent to the API and named in error messages.

use std::{cell::Cell, sync::Arc};

/// A random UUID v4 for one call. `Uuid::new_v4` asks the OS for 16 random bytes on every
/// call (a `getrandom` syscall); a correlation id only has to be unique, so each thread
/// seeds a generator once from the OS and steps it: a Weyl sequence through a bijective
/// mixer, so a thread never repeats an id, and threads start at random points.
pub(crate) fn new_id() -> Arc<str> {
    thread_local! {
        static STATE: Cell<u128> = Cell::new(uuid::Uuid::new_v4().as_u128());
    }
    // splitmix64's increment and finalizer, applied to each half.
    const GAMMA: u128 = 0x9e37_79b9_7f4a_7c15_9e37_79b9_7f4a_7c15;
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let x = STATE.with(|s| {
        let x = s.get().wrapping_add(GAMMA);
        s.set(x);
        x
    });
    let bits = (u128::from(mix((x >> 64) as u64)) << 64) | u128::from(mix(x as u64));
    let id = uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid();
    let mut buf = uuid::Uuid::encode_buffer();
    Arc::from(&*id.hyphenated().encode_lower(&mut buf))
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
