//! The storage of one tenant's contact entries: a chunked slab found by lead id, and the indexes
//! from a phone's or e-mail's hash to the slots of the leads listing it.
//!
//! Every instance keeps a replica of every partition's entries, so their layout is what the
//! service's memory per lead mostly is (BENCHMARKS.md, "Memory per lead"). A hash map of
//! `Arc<str>` to entries left a third of its ~230-byte buckets empty on average; a value index
//! of `Box<str>` to `Vec<Arc<str>>` cost about 150 bytes per listed phone. Here a lead costs its
//! slot plus about 8 bytes of index, and a listed value about 20.

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::entry::StoredEntry;
use crate::engine::Secs;
use crate::slab::{Keyed, KeyedSlab};

impl Keyed for StoredEntry {
    fn key(&self) -> &[u8] {
        self.lead_id_bytes()
    }
}

fn hash(text: &str) -> u64 {
    xxh3_64_with_seed(text.as_bytes(), 0)
}

/// The entries of one tenant, by lead id.
#[derive(Debug, Default)]
pub struct Slots {
    slab: KeyedSlab<StoredEntry>,
    /// One past the highest slot used, and where the folding sweep goes on (`fold_some`).
    high: u32,
    sweep: u32,
}

impl Slots {
    /// The slot of `lead_id`.
    pub fn find(&self, lead_id: &str) -> Option<u32> {
        self.slab.find(lead_id)
    }

    pub fn get(&self, slot: u32) -> Option<&StoredEntry> {
        self.slab.get(slot)
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut StoredEntry> {
        self.slab.get_mut(slot)
    }

    /// The entry of `lead_id`.
    pub fn entry(&self, lead_id: &str) -> Option<&StoredEntry> {
        self.find(lead_id).and_then(|slot| self.get(slot))
    }

    /// Stores an entry whose lead has none; returns its slot.
    pub fn insert(&mut self, entry: StoredEntry) -> u32 {
        let slot = self.slab.insert(entry);
        self.high = self.high.max(slot.saturating_add(1));
        slot
    }

    /// The slot of `lead_id`, created with an empty entry when new, now owned by `owner`.
    pub fn upsert(&mut self, lead_id: &str, owner: i32) -> (u32, &mut StoredEntry) {
        let (slot, found) = self
            .slab
            .upsert(lead_id, || StoredEntry::new(lead_id, owner));
        found.owner = owner;
        self.high = self.high.max(slot.saturating_add(1));
        (slot, found)
    }

    /// Folds the history before `watermark` of the next `count` slots, round the slab: a lead
    /// that is not updated again still gets its history folded. Folding changes no answer
    /// (`entry.rs`), and an entry folds alike in any number of steps, so the entries published
    /// on a lead's next update are the same with or without the sweep. A few slots per update
    /// cost a comparison each when there is nothing to fold.
    pub fn fold_some(&mut self, watermark: Secs, count: u32) {
        for _ in 0..count.min(self.high) {
            if self.sweep >= self.high {
                self.sweep = 0;
            }
            if let Some(entry) = self.slab.get_mut(self.sweep) {
                entry.prune(watermark);
            }
            self.sweep += 1;
        }
    }

    /// Takes a lead's entry out; its slot may be reused.
    pub fn remove(&mut self, slot: u32) -> Option<StoredEntry> {
        self.slab.remove(slot)
    }

    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Every entry, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &StoredEntry> {
        self.slab.iter()
    }
}

/// A listed value: its full hash (to rehash and to skip other values' slots) and a lead's slot.
#[derive(Clone, Copy, Debug)]
struct Listed {
    hash: [u32; 2],
    slot: u32,
}

impl Listed {
    fn new(hash: u64, slot: u32) -> Self {
        Listed {
            hash: [hash as u32, (hash >> 32) as u32],
            slot,
        }
    }

    fn hash(&self) -> u64 {
        u64::from(self.hash[0]) | (u64::from(self.hash[1]) << 32)
    }
}

/// Leads by phone (or by e-mail): the slots of every lead listing a value, found by the value's
/// hash. A hash says "maybe": callers check the value on the entry, as they check its time.
#[derive(Debug, Default)]
pub struct ValueIndex {
    table: HashTable<Listed>,
}

impl ValueIndex {
    /// Lists `slot` under `value`.
    pub fn add(&mut self, value: &str, slot: u32) {
        self.table
            .insert_unique(hash(value), Listed::new(hash(value), slot), Listed::hash);
    }

    /// Unlists `slot` from `value` (every listing of it).
    pub fn remove(&mut self, value: &str, slot: u32) {
        let key = hash(value);
        while let Ok(found) = self
            .table
            .find_entry(key, |l| l.slot == slot && l.hash() == key)
        {
            found.remove();
        }
    }

    /// The slots listed under `value` (and, rarely, under another value of the same hash).
    pub fn slots(&self, value: &str) -> impl Iterator<Item = u32> + '_ {
        let key = hash(value);
        self.table
            .iter_hash(key)
            .filter(move |l| l.hash() == key)
            .map(|l| l.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_found_removed_and_reused() {
        let mut slots = Slots::default();
        let ids: Vec<String> = (0..2500).map(|i| format!("L-{i}")).collect();
        for id in &ids {
            slots.insert(StoredEntry::new(id, 3));
        }
        assert_eq!(slots.len(), 2500);
        let slot = slots.find("L-1234").expect("listed");
        assert_eq!(slots.get(slot).map(|s| s.owner()), Some(3));
        assert_eq!(
            slots.remove(slot).map(|s| s.lead_id().to_owned()),
            Some("L-1234".to_owned())
        );
        assert_eq!(slots.find("L-1234"), None);
        assert_eq!(slots.insert(StoredEntry::new("new", 1)), slot);
        assert_eq!(slots.entry("new").map(StoredEntry::lead_id), Some("new"));
        assert_eq!(slots.len(), 2500);
        assert_eq!(slots.iter().count(), 2500);
        assert!(
            ids.iter()
                .filter(|id| *id != "L-1234")
                .all(|id| slots.find(id).is_some())
        );
    }

    #[test]
    fn values_list_their_slots_until_unlisted() {
        let mut index = ValueIndex::default();
        for slot in 0..2000 {
            index.add(&format!("7900{slot}"), slot);
        }
        index.add("79001", 77);
        let mut listed: Vec<u32> = index.slots("79001").collect();
        listed.sort_unstable();
        assert_eq!(listed, vec![1, 77]);
        index.remove("79001", 1);
        assert_eq!(index.slots("79001").collect::<Vec<_>>(), vec![77]);
        assert_eq!(index.slots("79005").collect::<Vec<_>>(), vec![5]);
        assert_eq!(index.slots("none").count(), 0);
    }
}
