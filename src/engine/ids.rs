//! Deterministic ids for findings and compact hashes for de-duplication.

use xxhash_rust::xxh3::{xxh3_64_with_seed, xxh3_128};

/// Separates the parts of an id's input so `("ab","c")` and `("a","bc")` differ.
const SEPARATOR: u8 = 0x1f;

/// A 32-hex-digit id derived from its parts only: the same input always gives the same id,
/// so reprocessing never creates a second copy of a finding.
pub fn finding_id(parts: &[&str]) -> String {
    let mut input = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for part in parts {
        input.extend_from_slice(part.as_bytes());
        input.push(SEPARATOR);
    }
    format!("{:032x}", xxh3_128(&input))
}

/// Namespaces for [`dedup_hash`], so a call id and an event id with the same text differ.
#[derive(Clone, Copy, Debug)]
pub enum DedupSpace {
    Call = 1,
    Event = 2,
}

/// A 64-bit hash of an input record's id, used to recognise repeats per lead.
pub fn dedup_hash(space: DedupSpace, id: &str) -> u64 {
    xxh3_64_with_seed(id.as_bytes(), space as u64)
}

/// Hash of a lead id for the lead table.
pub fn lead_hash(lead_id: &str) -> u64 {
    xxh3_64_with_seed(lead_id.as_bytes(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_separated() {
        let a = finding_id(&["daily", "default", "L1", "2026-03-03"]);
        assert_eq!(a, finding_id(&["daily", "default", "L1", "2026-03-03"]));
        assert_eq!(a.len(), 32);
        assert_ne!(finding_id(&["ab", "c"]), finding_id(&["a", "bc"]));
        assert_ne!(
            dedup_hash(DedupSpace::Call, "x"),
            dedup_hash(DedupSpace::Event, "x")
        );
    }
}
