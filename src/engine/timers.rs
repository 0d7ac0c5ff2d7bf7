//! Event-time timer queue with lazy re-scheduling: at most a few heap entries per lead.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::lead::{LeadState, Secs, TimerKind};

/// A queued deadline of one lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerEntry {
    pub at: Secs,
    pub kind: TimerKind,
    pub slot: u32,
    pub generation: u32,
}

/// Min-heap of deadlines. A lead's authoritative deadlines live in `LeadState::deadlines`;
/// the heap holds at least one entry at or before each of them. Moving a deadline later costs
/// nothing until the old entry pops, when it is re-queued at the new time.
#[derive(Debug, Default)]
pub struct TimerQueue {
    heap: BinaryHeap<Reverse<TimerEntry>>,
}

const KINDS: [TimerKind; TimerKind::COUNT] = [
    TimerKind::DayClose,
    TimerKind::FirstCallSla,
    TimerKind::Stale,
    TimerKind::Evict,
];

impl TimerQueue {
    /// Queues entries for any deadline of `lead` that no queued entry covers yet.
    pub fn sync(&mut self, slot: u32, lead: &mut LeadState) {
        for kind in KINDS {
            let k = kind as usize;
            let deadline = lead.deadlines[k];
            if deadline != 0 && (lead.queued[k] == 0 || deadline < lead.queued[k]) {
                lead.queued[k] = deadline;
                self.heap.push(Reverse(TimerEntry {
                    at: deadline,
                    kind,
                    slot,
                    generation: lead.generation,
                }));
            }
        }
    }

    /// Earliest queued time, if any.
    pub fn peek_time(&self) -> Option<Secs> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    pub fn pop(&mut self) -> Option<TimerEntry> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Resolves a popped entry against its lead: `true` when the deadline is due now and the
    /// caller must fire it; otherwise the entry was stale and is dropped or re-queued.
    pub fn is_due(&mut self, entry: &TimerEntry, lead: &mut LeadState) -> bool {
        if lead.generation != entry.generation {
            return false;
        }
        let k = entry.kind as usize;
        if lead.queued[k] == entry.at {
            lead.queued[k] = 0;
        }
        let deadline = lead.deadlines[k];
        if deadline == entry.at {
            lead.deadlines[k] = 0;
            return true;
        }
        if deadline > entry.at {
            self.sync(entry.slot, lead);
        }
        false
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<TimerEntry>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_deadline_is_requeued_not_fired_early() {
        let mut queue = TimerQueue::default();
        let mut lead = LeadState::new("L", 0);
        lead.deadlines[TimerKind::Stale as usize] = 100;
        queue.sync(0, &mut lead);
        lead.deadlines[TimerKind::Stale as usize] = 200; // activity moved the deadline
        queue.sync(0, &mut lead);
        assert_eq!(queue.len(), 1, "a later deadline needs no new entry");
        let first = queue.pop().unwrap();
        assert_eq!(first.at, 100);
        assert!(!queue.is_due(&first, &mut lead));
        assert_eq!(queue.peek_time(), Some(200));
        let second = queue.pop().unwrap();
        assert!(queue.is_due(&second, &mut lead));
        assert_eq!(lead.deadlines[TimerKind::Stale as usize], 0);
    }

    #[test]
    fn earlier_deadline_gets_its_own_entry_and_generation_guards_reuse() {
        let mut queue = TimerQueue::default();
        let mut lead = LeadState::new("L", 3);
        lead.deadlines[TimerKind::Evict as usize] = 500;
        queue.sync(7, &mut lead);
        lead.deadlines[TimerKind::Evict as usize] = 300;
        queue.sync(7, &mut lead);
        assert_eq!(queue.len(), 2);
        let mut reused = LeadState::new("other", 4);
        reused.deadlines[TimerKind::Evict as usize] = 300;
        let entry = queue.pop().unwrap();
        assert!(!queue.is_due(&entry, &mut reused), "other generation");
        assert!(queue.is_due(&entry, &mut lead));
    }
}
