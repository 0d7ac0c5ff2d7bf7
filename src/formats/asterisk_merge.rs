//! `CdrMerger`: collects CDR legs by `linkedid` and emits one merged call when it is complete.
//
// Completion, in event time (the merger's clock = the latest leg end pushed, or a watermark
// given to `flush_before`): Asterisk dispatches all CDRs of a Party A channel when that channel
// hangs up, and the root channel (`uniqueid == linkedid`, the call's oldest) is Party A of the
// call's main legs, so once a root leg has arrived the call is complete up to `settle` of
// delivery jitter: it is emitted when the clock reaches its last leg end + `settle`. A call
// whose root leg never comes (unanswered CDRs disabled, `NoCDR()`, a relay filter) is emitted at
// last leg end + `idle_timeout`. Both waits run from the clock at the last leg's arrival when
// that is later than its end: the CDRs of one hangup are written together, so a leg that ended
// long before (a trunk that failed first, a queue member who did not answer) arrives when
// other calls have moved the clock past its end, and its siblings follow right after it.
// Legs arriving after their call was emitted are counted as late
// and dropped; emitted calls are remembered for [`CLOSED_RETENTION`] (at least `idle_timeout`)
// of event time after their last leg, after which a stray leg would start a new call with the
// same call id (`linkedid`), which the engine ignores as a duplicate.

use std::collections::{BTreeMap, BTreeSet};

use super::asterisk::{AsteriskOptions, CdrRow};
use super::asterisk_legs::merge_legs;
use crate::model::{CallRecord, Timestamp};

/// How long (event time after its last leg ended) an emitted call's legs are remembered, so
/// that retries and stray legs are recognised instead of starting a second call.
pub const CLOSED_RETENTION: std::time::Duration = std::time::Duration::from_secs(3600);

/// Counters for metrics; nothing the merger drops goes uncounted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergerStats {
    /// Rows pushed.
    pub legs: u64,
    /// Merged calls emitted.
    pub calls: u64,
    /// Rows pushed twice (same uniqueid, sequence, start and Party B), ignored.
    pub duplicate_legs: u64,
    /// Rows of a call already emitted, dropped.
    pub late_legs: u64,
    /// Calls with no external number on any leg (extension to extension), not emitted.
    pub internal_calls: u64,
}

/// What identifies one CDR row (the spec: `uniqueid` + `linkedid` + `sequence`; times and
/// Party B stand in for `sequence` when a schema lacks it).
type LegKey = (String, Option<u64>, Timestamp, String);

fn key(row: &CdrRow) -> LegKey {
    (
        row.uniqueid.clone(),
        row.sequence,
        row.start,
        row.dstchannel.clone(),
    )
}

#[derive(Clone, Debug)]
struct OpenCall {
    legs: Vec<CdrRow>,
    has_root: bool,
    last_end: Timestamp,
    /// The clock when the latest leg arrived.
    arrived: Timestamp,
    due: Timestamp,
}

#[derive(Clone, Debug)]
struct ClosedCall {
    forget_at: Timestamp,
    legs: Vec<LegKey>,
}

/// Accumulates the legs of calls and yields merged [`CallRecord`]s (rule: [`merge_legs`]).
///
/// Pure and deterministic: the same rows and watermarks give the same calls in the same order
/// (by `started_at`, then call id). Its state is the pending rows ([`CdrMerger::pending_legs`]):
/// a service persists them with its offsets and pushes them again after a restart. Rows of one
/// call must reach the same merger, so the CDR topic must be keyed by `linkedid`.
#[derive(Clone, Debug)]
pub struct CdrMerger {
    options: AsteriskOptions,
    open: BTreeMap<String, OpenCall>,
    /// (due time, linkedid) of every open call, earliest first.
    schedule: BTreeSet<(Timestamp, String)>,
    closed: BTreeMap<String, ClosedCall>,
    clock: Timestamp,
    stats: MergerStats,
}

impl CdrMerger {
    pub fn new(options: AsteriskOptions) -> Self {
        CdrMerger {
            options,
            open: BTreeMap::new(),
            schedule: BTreeSet::new(),
            closed: BTreeMap::new(),
            clock: Timestamp::MIN,
            stats: MergerStats::default(),
        }
    }

    pub fn options(&self) -> &AsteriskOptions {
        &self.options
    }

    /// The event time the merger has reached.
    pub fn clock(&self) -> Timestamp {
        self.clock
    }

    pub fn stats(&self) -> MergerStats {
        self.stats
    }

    /// Calls waiting for more legs or for their due time.
    pub fn open_calls(&self) -> usize {
        self.open.len()
    }

    /// Every row not yet emitted, by linkedid.
    pub fn pending_legs(&self) -> impl Iterator<Item = &CdrRow> {
        self.open.values().flat_map(|call| call.legs.iter())
    }

    /// Adds one leg; returns the calls that became complete (this leg's end advances the clock).
    pub fn push(&mut self, row: CdrRow) -> Vec<CallRecord<'static>> {
        self.stats.legs += 1;
        let ended = row.ended_at();
        self.admit(row);
        self.advance(ended)
    }

    /// Moves the clock to `watermark` (e.g. the partition's watermark on an idle tick) and
    /// returns the calls due at or before it.
    pub fn flush_before(&mut self, watermark: Timestamp) -> Vec<CallRecord<'static>> {
        self.advance(watermark)
    }

    /// Emits every open call now, complete or not (end of a replay, shutdown without a snapshot).
    pub fn flush_all(&mut self) -> Vec<CallRecord<'static>> {
        let ids: Vec<String> = self.open.keys().cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            self.close(&id, &mut out);
        }
        sort(&mut out);
        out
    }

    fn admit(&mut self, row: CdrRow) {
        if let Some(closed) = self.closed.get(&row.linkedid) {
            if closed.legs.contains(&key(&row)) {
                self.stats.duplicate_legs += 1;
            } else {
                self.stats.late_legs += 1;
            }
            return;
        }
        let (settle, idle) = (
            millis(self.options.settle),
            millis(self.options.idle_timeout),
        );
        let linkedid = row.linkedid.clone();
        let call = self
            .open
            .entry(linkedid.clone())
            .or_insert_with(|| OpenCall {
                legs: Vec::new(),
                has_root: false,
                last_end: Timestamp::MIN,
                arrived: Timestamp::MIN,
                due: Timestamp::MIN,
            });
        if call.legs.iter().any(|leg| key(leg) == key(&row)) {
            self.stats.duplicate_legs += 1;
            return;
        }
        self.schedule.remove(&(call.due, linkedid.clone()));
        call.has_root |= row.is_root();
        call.last_end = call.last_end.max(row.ended_at());
        call.arrived = call.arrived.max(self.clock);
        call.due = call
            .last_end
            .max(call.arrived)
            .plus_millis(if call.has_root { settle } else { idle });
        call.legs.push(row);
        self.schedule.insert((call.due, linkedid));
    }

    fn advance(&mut self, to: Timestamp) -> Vec<CallRecord<'static>> {
        self.clock = self.clock.max(to);
        let mut out = Vec::new();
        while let Some((due, id)) = self.schedule.first().cloned() {
            if due > self.clock {
                break;
            }
            self.close(&id, &mut out);
        }
        let clock = self.clock;
        self.closed.retain(|_, closed| closed.forget_at >= clock);
        sort(&mut out);
        out
    }

    fn close(&mut self, id: &str, out: &mut Vec<CallRecord<'static>>) {
        let Some(call) = self.open.remove(id) else {
            return;
        };
        self.schedule.remove(&(call.due, id.to_owned()));
        match merge_legs(&call.legs, &self.options) {
            Ok(record) => {
                self.stats.calls += 1;
                out.push(record);
            }
            Err(_) => self.stats.internal_calls += 1,
        }
        let retention = CLOSED_RETENTION.max(self.options.idle_timeout);
        let forget_at = call.last_end.plus_millis(millis(retention));
        let legs = call.legs.iter().map(key).collect();
        self.closed
            .insert(id.to_owned(), ClosedCall { forget_at, legs });
    }
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn sort(calls: &mut [CallRecord<'static>]) {
    calls.sort_by(|a, b| (a.started_at, &a.call_id).cmp(&(b.started_at, &b.call_id)));
}
