//! A task's Asterisk CDR legs: the merger of its calls partition and the offsets of the legs it holds.
//
// The merger's state is not in the changelog: the committed offset of the calls partition is
// held back to the earliest leg of a call not yet emitted (like a call held for phone
// resolution), so a restore reads those legs again (docs/formats.md, "Asterisk in the
// service").

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::formats::{AsteriskOptions, CdrMerger, CdrRow, MergerStats};
use crate::model::{CallRecord, Timestamp};

/// A merged call and the offset of its earliest leg.
#[derive(Debug)]
pub struct Merged {
    pub offset: i64,
    pub call: CallRecord<'static>,
}

/// What the merger dropped in one step (counted as input records: repeated and late legs as
/// `duplicate` and `late`, internal calls as `skipped`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    pub duplicate_legs: u64,
    pub late_legs: u64,
    pub internal_calls: u64,
}

/// The CDR legs of one calls partition.
#[derive(Debug)]
pub struct Legs {
    merger: CdrMerger,
    /// Per open call (`linkedid`): its legs' offsets and earliest start.
    open: HashMap<String, OpenLegs>,
    /// Offsets of every open call's legs (a multiset: offset → legs read there).
    offsets: BTreeMap<i64, usize>,
}

#[derive(Debug)]
struct OpenLegs {
    offsets: Vec<i64>,
    start: Timestamp,
}

impl Legs {
    pub fn new(options: AsteriskOptions) -> Self {
        Legs {
            merger: CdrMerger::new(options),
            open: HashMap::new(),
            offsets: BTreeMap::new(),
        }
    }

    /// Adds the leg read at `offset`; returns the calls that became complete, and what the
    /// merger dropped meanwhile (repeated and late legs, internal calls).
    pub fn push(&mut self, offset: i64, row: CdrRow) -> (Vec<Merged>, Dropped) {
        let before = self.merger.stats();
        let open = self.open.entry(row.linkedid.clone()).or_insert(OpenLegs {
            offsets: Vec::new(),
            start: row.start,
        });
        open.offsets.push(offset);
        open.start = open.start.min(row.start);
        *self.offsets.entry(offset).or_default() += 1;
        let calls = self.merger.push(row);
        self.settle(before, calls)
    }

    /// Moves the merger's clock to `clock` (the partition's clock on a tick): calls due by then
    /// come out.
    pub fn flush_before(&mut self, clock: Timestamp) -> (Vec<Merged>, Dropped) {
        let before = self.merger.stats();
        let calls = self.merger.flush_before(clock);
        self.settle(before, calls)
    }

    /// The offset of the earliest leg of a call not emitted yet.
    pub fn earliest_offset(&self) -> Option<i64> {
        self.offsets.keys().next().copied()
    }

    /// The earliest start among calls not emitted yet: a router may not claim to have
    /// released calls from there on.
    pub fn earliest_start(&self) -> Option<Timestamp> {
        self.open.values().map(|open| open.start).min()
    }

    /// Forgets the legs of calls the merger no longer holds (emitted, dropped as internal, or
    /// not admitted: a repeated or late leg), and pairs each emitted call with its offset.
    fn settle(
        &mut self,
        before: MergerStats,
        calls: Vec<CallRecord<'static>>,
    ) -> (Vec<Merged>, Dropped) {
        let mut merged = Vec::with_capacity(calls.len());
        for call in calls {
            let offset = self.forget(&call.call_id).unwrap_or(i64::MAX);
            merged.push(Merged { offset, call });
        }
        let open_now = self.merger.open_calls();
        if open_now < self.open.len() {
            let still: HashSet<&str> = self
                .merger
                .pending_legs()
                .map(|leg| leg.linkedid.as_str())
                .collect();
            let gone: Vec<String> = self
                .open
                .keys()
                .filter(|id| !still.contains(id.as_str()))
                .cloned()
                .collect();
            for id in gone {
                self.forget(&id);
            }
        }
        let after = self.merger.stats();
        let dropped = Dropped {
            duplicate_legs: after.duplicate_legs - before.duplicate_legs,
            late_legs: after.late_legs - before.late_legs,
            internal_calls: after.internal_calls - before.internal_calls,
        };
        (merged, dropped)
    }

    /// Forgets call `id`'s legs; returns its earliest offset.
    fn forget(&mut self, id: &str) -> Option<i64> {
        let open = self.open.remove(id)?;
        for offset in &open.offsets {
            if let Some(count) = self.offsets.get_mut(offset) {
                *count -= 1;
                if *count == 0 {
                    self.offsets.remove(offset);
                }
            }
        }
        open.offsets.into_iter().min()
    }
}
