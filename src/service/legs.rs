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
    /// Every open call's start (a multiset), for [`Legs::earliest_start`] on each poll.
    starts: BTreeMap<Timestamp, usize>,
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
            starts: BTreeMap::new(),
        }
    }

    /// Adds the leg read at `offset`; returns the calls that became complete, and what the
    /// merger dropped meanwhile (repeated and late legs, internal calls).
    pub fn push(&mut self, offset: i64, row: CdrRow) -> (Vec<Merged>, Dropped) {
        let before = self.merger.stats();
        match self.open.get_mut(&row.linkedid) {
            Some(open) => {
                open.offsets.push(offset);
                if row.start < open.start {
                    remove_one(&mut self.starts, open.start);
                    open.start = row.start;
                    *self.starts.entry(row.start).or_default() += 1;
                }
            }
            None => {
                let open = OpenLegs {
                    offsets: vec![offset],
                    start: row.start,
                };
                *self.starts.entry(row.start).or_default() += 1;
                self.open.insert(row.linkedid.clone(), open);
            }
        }
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
        self.starts.keys().next().copied()
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
        remove_one(&mut self.starts, open.start);
        for &offset in &open.offsets {
            remove_one(&mut self.offsets, offset);
        }
        open.offsets.into_iter().min()
    }
}

/// Takes one `key` out of a multiset.
fn remove_one<K: Ord>(multiset: &mut BTreeMap<K, usize>, key: K) {
    if let Some(count) = multiset.get_mut(&key) {
        *count -= 1;
        if *count == 0 {
            multiset.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::asterisk::decode_cdr;

    /// A one-leg answered outbound call `id` from local `start` to `end` (Moscow, the default
    /// PBX zone), for lead L-`id`.
    fn call(id: &str, start: &str, end: &str) -> CdrRow {
        let row = serde_json::json!({
            "calldate": start, "answer": start, "end": end, "src": "101",
            "dst": "89161234567", "channel": "PJSIP/101-00000001", "lastapp": "Dial",
            "duration": "60", "billsec": "50", "disposition": "ANSWERED",
            "uniqueid": id, "linkedid": id, "userfield": format!("lead:L-{id}"),
        });
        decode_cdr(row.to_string().as_bytes(), &AsteriskOptions::default()).expect("a CDR row")
    }

    fn utc(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("time")
    }

    #[test]
    fn open_calls_hold_the_earliest_offset_and_start_until_they_are_emitted() {
        let mut legs = Legs::new(AsteriskOptions::default());
        let (out, _) = legs.push(7, call("b", "2024-03-04 10:10:00", "2024-03-04 10:11:00"));
        assert!(out.is_empty(), "b is due at 10:11:30");
        let (out, _) = legs.push(9, call("a", "2024-03-04 10:00:00", "2024-03-04 10:11:20"));
        assert!(
            out.is_empty(),
            "the clock is 10:11:20, a is due at 10:11:50"
        );
        assert_eq!(legs.earliest_offset(), Some(7));
        assert_eq!(legs.earliest_start(), Some(utc("2024-03-04T07:00:00Z")));
        // The next leg moves the merger's clock to 10:11:40: b comes out, a stays.
        let (out, _) = legs.push(12, call("c", "2024-03-04 10:11:00", "2024-03-04 10:11:40"));
        let emitted: Vec<(i64, &str)> = out.iter().map(|m| (m.offset, &*m.call.call_id)).collect();
        assert_eq!(emitted, vec![(7, "b")]);
        assert_eq!(legs.earliest_offset(), Some(9));
        assert_eq!(legs.earliest_start(), Some(utc("2024-03-04T07:00:00Z")));
        let (out, _) = legs.flush_before(utc("2024-03-04T08:00:00Z"));
        assert_eq!(out.len(), 2, "a and c");
        assert_eq!(
            (legs.earliest_offset(), legs.earliest_start()),
            (None, None)
        );
    }
}
