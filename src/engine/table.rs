//! The lead table of one tenant: a slab of lead states indexed by a hash table of lead ids.

use hashbrown::HashTable;

use super::ids::lead_hash;
use super::lead::LeadState;

/// Leads live in a slab (stable `u32` slots for timers); the index stores only the slot, the
/// lead id is kept once, inside the state.
#[derive(Debug, Default)]
pub struct LeadTable {
    index: HashTable<u32>,
    slots: Vec<Option<LeadState>>,
    free: Vec<u32>,
    generations: u32,
}

impl LeadTable {
    pub fn get_slot(&self, lead_id: &str) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(lead_hash(lead_id), |&slot| {
                slots[slot as usize]
                    .as_ref()
                    .is_some_and(|lead| &*lead.lead_id == lead_id)
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
                self.slots[slot as usize] = Some(lead);
                slot
            }
            None => {
                self.slots.push(Some(lead));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(lead_hash(lead_id), slot, |&s| {
            slots[s as usize]
                .as_ref()
                .map_or(0, |lead| lead_hash(&lead.lead_id))
        });
        (slot, true)
    }

    #[cfg(test)]
    pub fn get(&self, slot: u32) -> Option<&LeadState> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut LeadState> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// Forgets a lead; its slot may be reused with a new generation.
    pub fn remove(&mut self, slot: u32) -> Option<LeadState> {
        let lead = self.slots.get_mut(slot as usize)?.take()?;
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

    pub fn iter(&self) -> impl Iterator<Item = &LeadState> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// Bytes held by the table and its leads (for the memory figures of the bench).
    pub fn heap_bytes(&self) -> usize {
        let index = self.index.capacity() * (std::mem::size_of::<u32>() + 1);
        let slots = self.slots.capacity() * std::mem::size_of::<Option<LeadState>>();
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
}
