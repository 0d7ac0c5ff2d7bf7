//! Deterministic ids for findings and compact hashes for de-duplication.

use chrono::NaiveDate;
use xxhash_rust::xxh3::{xxh3_64_with_seed, xxh3_128};

use crate::ascii;

/// Separates the parts of an id's input so `("ab","c")` and `("a","bc")` differ.
const SEPARATOR: u8 = 0x1f;

/// One part of a finding id's input; numbers and dates hash as their decimal / ISO text.
#[derive(Clone, Copy, Debug)]
pub enum IdPart<'a> {
    Text(&'a str),
    Secs(u32),
    Date(NaiveDate),
}

/// A 32-hex-digit id derived from its parts only: the same input always gives the same id,
/// so reprocessing never creates a second copy of a finding.
pub fn finding_id(parts: &[&str]) -> String {
    let mut input = IdInput::default();
    for part in parts {
        input.push(part.as_bytes());
    }
    input.finish()
}

/// [`finding_id`] of parts some of which are numbers or dates (`Secs(5)` hashes as `"5"`,
/// `Date` as `YYYY-MM-DD`), without formatting them into temporary strings.
pub fn finding_id_of(parts: &[IdPart<'_>]) -> String {
    let mut input = IdInput::default();
    for part in parts {
        match *part {
            IdPart::Text(text) => input.push(text.as_bytes()),
            IdPart::Secs(secs) => input.push(ascii::decimal(secs, &mut [0; 10])),
            IdPart::Date(date) => match ascii::iso_date(date) {
                Some(text) => input.push(&text),
                None => input.push(date.to_string().as_bytes()),
            },
        }
    }
    input.finish()
}

/// Id of the `duplicate_lead` QC review of `lead_id` (one per lead: whichever earlier lead it
/// is found to duplicate, reprocessing gives the same id).
pub fn duplicate_lead_review_id(tenant: &str, lead_id: &str) -> String {
    finding_id(&["duplicate", tenant, lead_id])
}

/// The id's hash input, on the stack unless it is unusually long.
struct IdInput {
    stack: [u8; 192],
    len: usize,
    heap: Vec<u8>,
}

impl Default for IdInput {
    fn default() -> Self {
        IdInput {
            stack: [0; 192],
            len: 0,
            heap: Vec::new(),
        }
    }
}

impl IdInput {
    /// Appends a part and its separator.
    fn push(&mut self, part: &[u8]) {
        let end = self.len + part.len() + 1;
        if self.heap.is_empty() && end <= self.stack.len() {
            self.stack[self.len..end - 1].copy_from_slice(part);
            self.stack[end - 1] = SEPARATOR;
            self.len = end;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.stack[..self.len]);
            }
            self.heap.extend_from_slice(part);
            self.heap.push(SEPARATOR);
        }
    }

    fn finish(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let input = if self.heap.is_empty() {
            &self.stack[..self.len]
        } else {
            &self.heap[..]
        };
        let hash = xxh3_128(input);
        let mut hex = [0u8; 32];
        for (digit, shift) in hex.iter_mut().zip((0..32).rev()) {
            *digit = HEX[((hash >> (shift * 4)) & 0xf) as usize];
        }
        // Hex digits only: always valid UTF-8, so the fallback is never taken.
        std::str::from_utf8(&hex).unwrap_or_default().to_owned()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_parts_hash_as_their_text() {
        for (secs, date) in [
            (0, (1970, 1, 1)),
            (4_291_747_199, (2105, 12, 31)),
            (9, (-5, 3, 4)),
        ] {
            let date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
            assert_eq!(
                finding_id_of(&[
                    IdPart::Text("daily"),
                    IdPart::Secs(secs),
                    IdPart::Date(date)
                ]),
                finding_id(&["daily", &secs.to_string(), &date.to_string()])
            );
        }
    }

    #[test]
    fn ids_are_stable_and_separated() {
        let a = finding_id(&["daily", "default", "L1", "2026-03-03"]);
        assert_eq!(a, finding_id(&["daily", "default", "L1", "2026-03-03"]));
        assert_eq!(a.len(), 32);
        assert_ne!(finding_id(&["ab", "c"]), finding_id(&["a", "bc"]));
        assert_eq!(
            a,
            format!(
                "{:032x}",
                xxh3_128(b"daily\x1fdefault\x1fL1\x1f2026-03-03\x1f")
            )
        );
        let long = "x".repeat(300);
        assert_eq!(
            finding_id(&["stale", &long, "7"]),
            format!(
                "{:032x}",
                xxh3_128(format!("stale\x1f{long}\x1f7\x1f").as_bytes())
            )
        );
        assert_ne!(
            dedup_hash(DedupSpace::Call, "x"),
            dedup_hash(DedupSpace::Event, "x")
        );
    }
}
