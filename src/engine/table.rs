//! The lead table of one tenant: a slab of lead states indexed by a hash table of lead ids.

use super::lead::LeadState;
use crate::slab::{Keyed, KeyedSlab};

impl Keyed for LeadState {
    fn key(&self) -> &[u8] {
        self.lead_id.as_bytes()
    }
}

/// Leads in a [`KeyedSlab`] (stable `u32` slots for timers; the lead id kept once, inside the
/// state), each created with a new generation so that timers of a forgotten lead are ignored.
#[derive(Debug, Default)]
pub struct LeadTable {
    slab: KeyedSlab<LeadState>,
    generations: u32,
}

impl LeadTable {
    pub fn get_slot(&self, lead_id: &str) -> Option<u32> {
        self.slab.find(lead_id)
    }

    /// The slot of `lead_id`, creating an empty lead when it is new; `true` when created.
    pub fn get_or_insert(&mut self, lead_id: &str) -> (u32, bool) {
        if let Some(slot) = self.slab.find(lead_id) {
            return (slot, false);
        }
        self.generations = self.generations.wrapping_add(1);
        let slot = self.slab.insert(LeadState::new(lead_id, self.generations));
        (slot, true)
    }

    pub fn get(&self, slot: u32) -> Option<&LeadState> {
        self.slab.get(slot)
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut LeadState> {
        self.slab.get_mut(slot)
    }

    /// Forgets a lead; its slot may be reused with a new generation.
    pub fn remove(&mut self, slot: u32) -> Option<LeadState> {
        self.slab.remove(slot)
    }

    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// The occupied slots, in slot order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.slab.slots()
    }

    pub fn iter(&self) -> impl Iterator<Item = &LeadState> {
        self.slab.iter()
    }

    /// Bytes held by the table and its leads (for the memory figures of the bench).
    pub fn heap_bytes(&self) -> usize {
        self.slab.own_heap_bytes() + self.iter().map(LeadState::heap_bytes).sum::<usize>()
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
        assert_eq!(table.remove(a).unwrap().lead_id.as_str(), "A");
        assert_eq!(table.get_slot("A"), None);
        let (c, created) = table.get_or_insert("C");
        assert!(created);
        assert_eq!(c, a, "slot reused");
        assert_ne!(table.get(c).unwrap().generation, gen_a);
        assert_eq!(table.len(), 2);
        assert_eq!(table.get_slot("B"), Some(b));
    }
}
