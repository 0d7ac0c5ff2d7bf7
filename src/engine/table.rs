//! The lead table of one tenant: a slab of lead states indexed by a hash table of lead ids.

use hashbrown::HashTable;

use super::ids::lead_hash;
use super::lead::LeadState;

/// Slots per slab chunk: the slab grows a chunk at a time, so at most one chunk is unused
/// (a doubling `Vec` would leave up to half of its capacity unused).
const CHUNK: usize = 1024;

/// Leads live in a chunked slab (stable `u32` slots for timers); the index stores only the
/// slot, the lead id is kept once, inside the state.
#[derive(Debug, Default)]
pub struct LeadTable {
    index: HashTable<u32>,
    chunks: Vec<Vec<Option<LeadState>>>,
    free: Vec<u32>,
    generations: u32,
}

fn slot_ref(chunks: &[Vec<Option<LeadState>>], slot: u32) -> Option<&LeadState> {
    let slot = slot as usize;
    chunks.get(slot / CHUNK)?.get(slot % CHUNK)?.as_ref()
}

impl LeadTable {
    pub fn get_slot(&self, lead_id: &str) -> Option<u32> {
        let chunks = &self.chunks;
        self.index
            .find(lead_hash(lead_id), |&slot| {
                slot_ref(chunks, slot).is_some_and(|lead| &*lead.lead_id == lead_id)
            })
            .copied()
    }

    /// The slot of `lead_id`, creating an empty lead when it is new; `true` when created.
    pub fn get_or_insert(&mut self, lead_id: &str) -> (u32, bool) {
        if let Some(slot) = self.get_slot(lead_id) {
            return (slot, false);
        }
        self.generations = self.generations.wrapping_add(1);
        let lead = LeadState::new(lead_id, self.generations);
        let slot = match self.free.pop() {
            Some(slot) => {
                let s = slot as usize;
                self.chunks[s / CHUNK][s % CHUNK] = Some(lead);
                slot
            }
            None => {
                if self.chunks.last().is_none_or(|chunk| chunk.len() == CHUNK) {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let chunk_index = self.chunks.len() - 1;
                let chunk = &mut self.chunks[chunk_index];
                chunk.push(Some(lead));
                (chunk_index * CHUNK + chunk.len() - 1) as u32
            }
        };
        let chunks = &self.chunks;
        self.index.insert_unique(lead_hash(lead_id), slot, |&s| {
            slot_ref(chunks, s).map_or(0, |lead| lead_hash(&lead.lead_id))
        });
        (slot, true)
    }

    pub fn get(&self, slot: u32) -> Option<&LeadState> {
        slot_ref(&self.chunks, slot)
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut LeadState> {
        let slot = slot as usize;
        self.chunks
            .get_mut(slot / CHUNK)?
            .get_mut(slot % CHUNK)?
            .as_mut()
    }

    /// Forgets a lead; its slot may be reused with a new generation.
    pub fn remove(&mut self, slot: u32) -> Option<LeadState> {
        let s = slot as usize;
        let lead = self.chunks.get_mut(s / CHUNK)?.get_mut(s % CHUNK)?.take()?;
        if let Ok(entry) = self
            .index
            .find_entry(lead_hash(&lead.lead_id), |&s| s == slot)
        {
            entry.remove();
        }
        self.free.push(slot);
        Some(lead)
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
                .filter(|(_, lead)| lead.is_some())
                .map(move |(i, _)| (c * CHUNK + i) as u32)
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &LeadState> {
        self.chunks.iter().flatten().filter_map(Option::as_ref)
    }

    /// Bytes held by the table and its leads (for the memory figures of the bench).
    pub fn heap_bytes(&self) -> usize {
        let index = self.index.capacity() * (std::mem::size_of::<u32>() + 1);
        let slots = self.chunks.len() * CHUNK * std::mem::size_of::<Option<LeadState>>();
        let free = self.free.capacity() * std::mem::size_of::<u32>();
        let leads: usize = self.iter().map(LeadState::heap_bytes).sum();
        index + slots + free + leads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove_reuse() {
        let mut table = LeadTable::default();
        let (a, created) = table.get_or_insert("A");
        assert!(created);
        assert_eq!(table.get_or_insert("A"), (a, false));
        let (b, _) = table.get_or_insert("B");
        assert_ne!(a, b);
        let gen_a = table.get(a).unwrap().generation;
        assert_eq!(table.remove(a).unwrap().lead_id.as_ref(), "A");
        assert_eq!(table.get_slot("A"), None);
        let (c, created) = table.get_or_insert("C");
        assert!(created);
        assert_eq!(c, a, "slot reused");
        assert_ne!(table.get(c).unwrap().generation, gen_a);
        assert_eq!(table.len(), 2);
        assert_eq!(table.get_slot("B"), Some(b));
    }

    #[test]
    fn slab_spans_chunks() {
        let mut table = LeadTable::default();
        let ids: Vec<String> = (0..CHUNK * 2 + 7).map(|i| format!("L{i}")).collect();
        let slots: Vec<u32> = ids.iter().map(|id| table.get_or_insert(id).0).collect();
        assert_eq!(table.len(), ids.len());
        for (id, slot) in ids.iter().zip(&slots) {
            assert_eq!(table.get_slot(id), Some(*slot));
            assert_eq!(table.get(*slot).map(|l| &*l.lead_id), Some(id.as_str()));
        }
        assert_eq!(table.chunks.len(), 3);
        assert_eq!(table.iter().count(), ids.len());
    }
}
