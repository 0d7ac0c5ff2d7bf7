//! Event-time timer queue with lazy re-scheduling: at most a few entries per lead, bucketed by time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::lead::{LeadState, Secs, TimerKind};

/// A queued deadline of one lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerEntry {
    pub at: Secs,
    pub kind: TimerKind,
    pub slot: u32,
    pub generation: u32,
}

/// A bucket spans `1 << BUCKET_SHIFT` seconds.
const BUCKET_SHIFT: u32 = 12;

/// Emptied bucket vectors up to this capacity are kept for new buckets, at most `SPARE` of them.
const SPARE_CAPACITY: usize = 1024;
const SPARE: usize = 8;

/// Deadlines in time order, as a min-heap of `TimerEntry` would give them (by time, kind, slot,
/// generation). A lead's authoritative deadlines live in `LeadState::deadlines`; the queue
/// holds at least one entry at or before each of them. Moving a deadline later costs nothing
/// until the old entry pops, when it is re-queued at the new time.
///
/// Many deadlines fall on a few instants (every lead's day close) or close together, so
/// entries are appended, unsorted, to a bucket of their time span; a bucket is sorted when it
/// becomes the earliest. Entries queued later into that bucket's span (or before it) wait in a
/// small heap beside it. A bucket becomes current only when its first entry pops, so that heap
/// holds at most one bucket's span of entries queued after the watermark passed its start.
#[derive(Debug, Default)]
pub struct TimerQueue {
    /// Buckets after the current one, by `at >> BUCKET_SHIFT`; unsorted.
    later: BTreeMap<Secs, Bucket>,
    /// The current bucket's remaining entries, sorted latest first.
    current: Vec<TimerEntry>,
    /// The current bucket's key: entries at or before its span go to `late`.
    current_bucket: Option<Secs>,
    late: BinaryHeap<Reverse<TimerEntry>>,
    spare: Vec<Vec<TimerEntry>>,
    len: usize,
}

/// The entries of a later bucket, unsorted, and their earliest time.
#[derive(Debug)]
struct Bucket {
    first: Secs,
    entries: Vec<TimerEntry>,
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
                self.push(TimerEntry {
                    at: deadline,
                    kind,
                    slot,
                    generation: lead.generation,
                });
            }
        }
    }

    fn push(&mut self, entry: TimerEntry) {
        let bucket = entry.at >> BUCKET_SHIFT;
        if self.current_bucket.is_some_and(|current| bucket <= current) {
            self.late.push(Reverse(entry));
        } else {
            let spare = &mut self.spare;
            let later = self.later.entry(bucket).or_insert_with(|| Bucket {
                first: entry.at,
                entries: spare.pop().unwrap_or_default(),
            });
            later.first = later.first.min(entry.at);
            later.entries.push(entry);
        }
        self.len += 1;
    }

    /// Makes the earliest bucket current when the current one is drained.
    fn fill(&mut self) {
        if !self.current.is_empty() || !self.late.is_empty() {
            return;
        }
        if let Some((bucket, Bucket { mut entries, .. })) = self.later.pop_first() {
            entries.sort_unstable_by(|a, b| b.cmp(a));
            let drained = std::mem::replace(&mut self.current, entries);
            if drained.capacity() <= SPARE_CAPACITY && self.spare.len() < SPARE {
                self.spare.push(drained);
            }
            self.current_bucket = Some(bucket);
        }
    }

    /// The earliest entry of the current bucket and the late heap, if any.
    fn first_current(&self) -> Option<TimerEntry> {
        match (self.current.last(), self.late.peek()) {
            (Some(&sorted), Some(&Reverse(late))) => Some(sorted.min(late)),
            (sorted, late) => sorted.copied().or(late.map(|&Reverse(e)| e)),
        }
    }

    /// Earliest queued time, if any.
    pub fn peek_time(&self) -> Option<Secs> {
        match self.first_current() {
            Some(entry) => Some(entry.at),
            None => self.later.first_key_value().map(|(_, later)| later.first),
        }
    }

    pub fn pop(&mut self) -> Option<TimerEntry> {
        self.fill();
        let first = self.first_current()?;
        if self.current.last() == Some(&first) {
            self.current.pop();
        } else {
            self.late.pop();
        }
        self.len -= 1;
        Some(first)
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
        self.len
    }

    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<TimerEntry>();
        let buckets: usize = (self.later.values().map(|later| &later.entries))
            .chain(&self.spare)
            .map(Vec::capacity)
            .sum();
        // A B-tree node holds up to 11 keys and values (about 32 bytes each with the node's
        // overhead; counted per bucket).
        (buckets + self.current.capacity() + self.late.capacity()) * entry
            + (self.later.len() + self.spare.len()) * 32
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

    #[test]
    fn pops_in_the_order_of_a_min_heap_with_pushes_between_pops() {
        let mut queue = TimerQueue::default();
        let mut heap = BinaryHeap::new();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut now: Secs = 1_000;
        for round in 0..2_000 {
            for _ in 0..next() % 8 {
                let r = next();
                // Mostly ahead of `now`, some at or before it (late arrivals), many at shared
                // instants (day closes).
                let at = match r % 4 {
                    0 => 86_400 * (1 + (r >> 8) as Secs % 3),
                    1 => now.saturating_sub((r >> 8) as Secs % 100),
                    _ => now + (r >> 8) as Secs % 5_000,
                };
                let entry = TimerEntry {
                    at,
                    kind: KINDS[(r >> 40) as usize % TimerKind::COUNT],
                    slot: (r >> 44) as u32 % 50,
                    generation: (r >> 50) as u32 % 3,
                };
                queue.push(entry);
                heap.push(Reverse(entry));
            }
            for _ in 0..next() % (if round % 100 == 0 { 200 } else { 6 }) {
                assert_eq!(queue.peek_time(), heap.peek().map(|Reverse(e)| e.at));
                let popped = queue.pop();
                assert_eq!(popped, heap.pop().map(|Reverse(e)| e));
                if let Some(entry) = popped {
                    now = now.max(entry.at);
                }
                assert_eq!(queue.len(), heap.len());
            }
        }
        while let Some(Reverse(entry)) = heap.pop() {
            assert_eq!(queue.pop(), Some(entry));
        }
        assert_eq!((queue.pop(), queue.len()), (None, 0));
    }
}
