//! The hasher of maps keyed by our own identifiers (lead ids, phones, e-mails, changelog keys): one xxh3 pass over a key.
//!
//! Like the engine's lead table (`engine::ids::lead_hash`), unseeded: keys come from the
//! company's own CRM and PBX, and std's SipHash made the directory's lookups a tenth of replay.

use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Hashes the bytes `str`'s `Hash` writes (the text, then a `0xff` terminator).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// hashbrown's map (for `entry_ref`: no key allocation on lookups) with [`KeyHasher`].
pub type Map<K, V> = hashbrown::HashMap<K, V, BuildHasherDefault<KeyHasher>>;
/// A set with [`KeyHasher`].
pub type Set<K> = hashbrown::HashSet<K, BuildHasherDefault<KeyHasher>>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn different_keys_hash_apart_and_equal_keys_alike() {
        let build = BuildHasherDefault::<KeyHasher>::default();
        let hash = |key: &str| build.hash_one(key);
        assert_eq!(hash("L-1"), hash("L-1"));
        assert_ne!(hash("L-1"), hash("L-2"));
        assert_ne!(hash(""), hash("\u{ff}"));
        assert_ne!(build.hash_one(("ab", "c")), build.hash_one(("a", "bc")));
    }
}
