//! Asterisk calls in the service: CDR legs merged per calls partition, every merged call routed to its lead's partition.

use std::time::Instant;

use super::{Input, Processor, wall_now};
use crate::engine::Secs;
use crate::formats::{AsteriskOptions, CdrRow, InputDecoder};
use crate::metrics::RecordResult;
use crate::model::DEFAULT_TENANT;
use crate::service::legs::{Dropped, Legs, Merged};

impl Processor {
    /// The Asterisk options of the calls topic, when it carries CDR rows.
    pub(super) fn asterisk(&self) -> Option<&AsteriskOptions> {
        match &self.decoders[Input::Calls.index()] {
            InputDecoder::Asterisk(options) => Some(options),
            _ => None,
        }
    }

    /// A new task's leg merger, when the calls topic carries CDR rows.
    pub(super) fn new_legs(&self) -> Option<Legs> {
        self.asterisk().map(|options| Legs::new(options.clone()))
    }

    /// A CDR row of task `partition`'s calls partition read at `offset`: into the merger; the
    /// calls it completes are held for routing.
    pub(super) fn take_leg(&mut self, partition: i32, offset: i64, row: CdrRow) {
        let Some(task) = self.tasks.get_mut(&partition) else {
            return;
        };
        task.observe(Input::Calls, offset, row.ended_at(), Instant::now());
        let Some(legs) = task.legs.as_mut() else {
            return;
        };
        let (merged, dropped) = legs.push(offset, row);
        self.count_dropped(dropped);
        self.hold_merged(partition, merged, false);
    }

    /// A CDR row read again after a restore (see `reread_call`): into the merger; of the calls
    /// it completes, only those still held at the commit are held again.
    pub(super) fn retake_leg(&mut self, partition: i32, offset: i64, row: CdrRow) {
        let Some(legs) = self.tasks.get_mut(&partition).and_then(|t| t.legs.as_mut()) else {
            return;
        };
        let (merged, _) = legs.push(offset, row);
        self.hold_merged(partition, merged, true);
    }

    /// Moves every merger to its calls partition's clock (the wall clock when idle): calls
    /// complete by then are held for routing.
    pub(super) fn flush_legs(&mut self) {
        if self.asterisk().is_none() {
            return;
        }
        let (now, wall) = (Instant::now(), wall_now());
        let partitions: Vec<i32> = self.tasks.keys().copied().collect();
        for partition in partitions {
            let Some(task) = self.tasks.get_mut(&partition) else {
                continue;
            };
            // A restored partition's clock is where it was read up to before the restore:
            // flushed there, the merger would emit the calls it is reading again before their
            // other legs are back.
            if task.routing.read_at_least().is_some() {
                continue;
            }
            let Some(clock) = task.input_reached(Input::Calls, now, wall) else {
                continue;
            };
            let Some(legs) = task.legs.as_mut() else {
                continue;
            };
            let (merged, dropped) = legs.flush_before(clock);
            self.count_dropped(dropped);
            self.hold_merged(partition, merged, false);
        }
    }

    /// The earliest release a router with open calls in its merger may claim: their earliest
    /// start plus the allowed lateness (a call merged later is held from its start).
    pub(super) fn legs_floor(&self, partition: i32) -> Option<Secs> {
        let options = self.asterisk()?;
        let start = self
            .tasks
            .get(&partition)?
            .legs
            .as_ref()?
            .earliest_start()?;
        let tenant = options.tenant.as_deref().unwrap_or(DEFAULT_TENANT);
        Some(self.release_due(tenant, start))
    }

    /// Holds merged calls (every one: its lead, named or found by phone, may be anywhere) until
    /// the global clock passes them; `again`: only those still held at the last commit.
    fn hold_merged(&mut self, partition: i32, merged: Vec<Merged>, again: bool) {
        for Merged { offset, call } in merged {
            let due = self.release_due(call.tenant(), call.started_at);
            if let Some(task) = self.tasks.get_mut(&partition)
                && (!again || task.routing.was_held(due))
            {
                task.routing.hold(due, offset, call);
            }
        }
    }

    fn count_dropped(&mut self, dropped: Dropped) {
        let calls = Input::Calls.index();
        for (count, result) in [
            (dropped.duplicate_legs, RecordResult::Duplicate),
            (dropped.late_legs, RecordResult::Late),
            (dropped.internal_calls, RecordResult::Skipped),
        ] {
            for _ in 0..count {
                self.batch.tally.record(calls, result);
            }
        }
    }
}
