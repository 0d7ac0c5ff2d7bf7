//! A chunked slab of values found by their string key: stable `u32` slots, a hash index that stores only the slot, the key kept once inside the value.
//
// Used for the engine's leads (`engine::table`) and the contact directory's entries
// (`contacts::table`). The slab grows a chunk at a time, so at most one chunk is unused and
// nothing is copied as it grows (a doubling `Vec` would leave up to half its capacity unused);
// freed slots are reused.

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Slots per slab chunk.
const CHUNK: usize = 1024;

/// A value that carries its own key (its bytes: compared without a UTF-8 check).
pub trait Keyed {
    fn key(&self) -> &[u8];
}

/// Values by slot, found by key.
#[derive(Debug)]
pub struct KeyedSlab<T> {
    index: HashTable<u32>,
    chunks: Vec<Vec<Option<T>>>,
    free: Vec<u32>,
}

impl<T> Default for KeyedSlab<T> {
    fn default() -> Self {
        KeyedSlab {
            index: HashTable::new(),
            chunks: Vec::new(),
            free: Vec::new(),
        }
    }
}

fn key_hash(key: &[u8]) -> u64 {
    xxh3_64_with_seed(key, 0)
}

fn slot_ref<T>(chunks: &[Vec<Option<T>>], slot: u32) -> Option<&T> {
    let slot = slot as usize;
    chunks.get(slot / CHUNK)?.get(slot % CHUNK)?.as_ref()
}

impl<T: Keyed> KeyedSlab<T> {
    /// The slot of `key`.
    pub fn find(&self, key: &str) -> Option<u32> {
        let chunks = &self.chunks;
        let key = key.as_bytes();
        self.index
            .find(key_hash(key), |&slot| {
                slot_ref(chunks, slot).is_some_and(|value| value.key() == key)
            })
            .copied()
    }

    pub fn get(&self, slot: u32) -> Option<&T> {
        slot_ref(&self.chunks, slot)
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        let slot = slot as usize;
        self.chunks
            .get_mut(slot / CHUNK)?
            .get_mut(slot % CHUNK)?
            .as_mut()
    }

    /// Stores a value whose key is not in the slab yet; returns its slot.
    pub fn insert(&mut self, value: T) -> u32 {
        let hash = key_hash(value.key());
        let slot = match self.free.pop() {
            Some(slot) => {
                let s = slot as usize;
                self.chunks[s / CHUNK][s % CHUNK] = Some(value);
                slot
            }
            None => {
                if self.chunks.last().is_none_or(|chunk| chunk.len() == CHUNK) {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let last = self.chunks.len() - 1;
                let chunk = &mut self.chunks[last];
                chunk.push(Some(value));
                u32::try_from(last * CHUNK + chunk.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let chunks = &self.chunks;
        self.index.insert_unique(hash, slot, |&s| {
            slot_ref(chunks, s).map_or(0, |value| key_hash(value.key()))
        });
        slot
    }

    /// The slot and value of `key`, stored first as `make()` (whose key must be `key`) when
    /// the slab has none.
    pub fn upsert(&mut self, key: &str, make: impl FnOnce() -> T) -> (u32, &mut T) {
        let slot = match self.find(key) {
            Some(slot) => slot,
            None => self.insert(make()),
        };
        let s = slot as usize;
        match self.chunks[s / CHUNK][s % CHUNK].as_mut() {
            Some(value) => (slot, value),
            // `find` or `insert` has just given this slot: it is filled.
            None => unreachable!("slot {slot} was just filled"),
        }
    }

    /// Takes a value out; its slot may be reused.
    pub fn remove(&mut self, slot: u32) -> Option<T> {
        let s = slot as usize;
        let taken = self.chunks.get_mut(s / CHUNK)?.get_mut(s % CHUNK)?.take()?;
        if let Ok(found) = self
            .index
            .find_entry(key_hash(taken.key()), |&other| other == slot)
        {
            found.remove();
        }
        self.free.push(slot);
        Some(taken)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The occupied slots, in slot order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            chunk
                .iter()
                .enumerate()
                .filter(|(_, value)| value.is_some())
                .map(move |(i, _)| (c * CHUNK + i) as u32)
        })
    }

    /// Every value, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten().filter_map(Option::as_ref)
    }

    /// Bytes of the index, the slots (used or not) and the free list, not what the values own.
    pub fn own_heap_bytes(&self) -> usize {
        self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.chunks.len() * CHUNK * std::mem::size_of::<Option<T>>()
            + self.free.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Named(String, u32);

    impl Keyed for Named {
        fn key(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }

    #[test]
    fn values_are_found_removed_and_slots_reused_across_chunks() {
        let mut slab = KeyedSlab::default();
        let ids: Vec<String> = (0..CHUNK * 2 + 7).map(|i| format!("L-{i}")).collect();
        let slots: Vec<u32> = ids
            .iter()
            .map(|id| slab.insert(Named(id.clone(), 0)))
            .collect();
        assert_eq!(slab.len(), ids.len());
        assert_eq!(slab.chunks.len(), 3);
        for (id, &slot) in ids.iter().zip(&slots) {
            assert_eq!(slab.find(id), Some(slot));
            assert_eq!(slab.get(slot).map(|n| n.key()), Some(id.as_bytes()));
        }
        let gone = slots[1234];
        assert_eq!(slab.remove(gone).map(|n| n.0), Some("L-1234".to_owned()));
        assert_eq!(slab.find("L-1234"), None);
        assert_eq!(slab.remove(gone), None);
        assert_eq!(slab.insert(Named("new".into(), 7)), gone, "slot reused");
        if let Some(value) = slab.get_mut(gone) {
            value.1 += 1;
        }
        assert_eq!(slab.get(gone), Some(&Named("new".into(), 8)));
        assert_eq!(slab.iter().count(), ids.len());
        assert_eq!(slab.slots().count(), ids.len());
        assert!(slab.slots().all(|slot| slab.get(slot).is_some()));
    }
}
