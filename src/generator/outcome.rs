//! What happens after a conversation or a dialing period: stage changes, rejections, QC review.

use crate::model::{Direction, Disposition};

use super::clock::{HOUR_MS, MINUTE_MS, WORKDAY_MS};
use super::knobs as k;
use super::lead::{End, Episode, Sim};
use super::people::ManagerProfile;
use super::record::{Reason, Staff, Stage};

impl Sim<'_> {
    /// A conversation ended at `end`: returns how the episode ends, or `None` to keep dialing.
    pub(super) fn touch(&mut self, end: i64, mgr: u32) -> Option<End> {
        let clock = self.world.clock;
        let [convert, qualify, not_interested, later] = k::TOUCH_OUTCOMES;
        let outcome =
            self.rng
                .weighted(&[(0, convert), (1, qualify), (2, not_interested), (3, later)]);
        if outcome == 2 {
            let at = clock.add_working(end, self.rng.range(2 * MINUTE_MS, 30 * MINUTE_MS));
            return Some(self.reject(at, Reason::NotInterested, mgr));
        }
        let mut t = end;
        if self.stage == Stage::New {
            t = clock.add_working(end, self.rng.range(MINUTE_MS, 20 * MINUTE_MS));
            t = self.lead_event(t, Stage::InProcess, mgr, None, None);
        }
        match outcome {
            0 => {
                let at = clock.add_working(t, self.rng.range(30 * MINUTE_MS, 2 * WORKDAY_MS));
                self.lead_event(at, Stage::Converted, mgr, None, None);
                Some(End::Done)
            }
            1 => {
                let at = clock.add_working(t, self.rng.range(5 * MINUTE_MS, 4 * HOUR_MS));
                let at = self.lead_event(at, Stage::Processed, mgr, None, None);
                Some(self.after_processed(at, mgr))
            }
            _ => None,
        }
    }

    /// A qualified lead goes quiet (stale), or a follow-up call days later converts or rejects it.
    pub(super) fn after_processed(&mut self, t: i64, mgr: u32) -> End {
        let clock = self.world.clock;
        let [quiet, convert, reject] = k::PROCESSED_FOLLOW_UPS;
        let follow_up = self.rng.weighted(&[(0, quiet), (1, convert), (2, reject)]);
        if follow_up == 0 {
            return End::Done;
        }
        let call_at = clock.add_working(t, self.rng.range(WORKDAY_MS, 5 * WORKDAY_MS));
        let talk = self.rng.range(60, 900) as u32;
        let (staff, answered) = (Staff::Manager(mgr), Disposition::Answered);
        let call = self.call(call_at, staff, Direction::Outbound, answered, talk, true);
        let at = clock.add_working(call.end, self.rng.range(5 * MINUTE_MS, HOUR_MS));
        if follow_up == 1 {
            self.lead_event(at, Stage::Converted, mgr, None, None);
            End::Done
        } else {
            self.reject(at, Reason::NotInterested, mgr)
        }
    }

    /// The period is over without a decision: qualify a touched lead, or reject / abandon it.
    pub(super) fn period_over(&mut self, last: i64, st: &Episode, profile: &ManagerProfile) -> End {
        let clock = self.world.clock;
        let day = clock.day(clock.next_business(last));
        let at = self.rng.range(day.open, day.close);
        if st.touched {
            if self.rng.chance(k::TOUCHED_PERIOD_END_PROCESSED) {
                self.lead_event(at, Stage::Processed, st.mgr, None, None);
            }
            return End::Done;
        }
        if self.rng.chance(profile.closes_after_period()) {
            return self.reject(at, Reason::NoAnswer, st.mgr);
        }
        End::Done
    }

    /// QC on the next business day: maybe a re-call, then a return to `IN_PROCESS` with another
    /// manager (once per lead), a move to the cold base, or nothing (the junk stands).
    pub(super) fn qc_review(
        &mut self,
        rejected_at: i64,
        by: u32,
        returned: bool,
    ) -> Option<(i64, u32)> {
        let clock = self.world.clock;
        let day = clock.day(clock.next_business(clock.day_index(rejected_at)));
        let mut t = day.open + self.rng.range(30 * MINUTE_MS, 6 * HOUR_MS);
        if self.rng.chance(k::QC_RECALL_SHARE) {
            let qc = self.rng.below(u64::from(self.world.qc_count)) as u32;
            t = self.outbound(t, Staff::Qc(qc)).end;
        }
        t += self.rng.range(20 * MINUTE_MS, 2 * HOUR_MS);
        let roll = self.rng.unit();
        if roll < k::QC_RETURN_SHARE {
            if returned {
                return None;
            }
            let other = self.other_manager(by);
            let t = self.lead_event(t, Stage::InProcess, other, None, None);
            return Some((t, other));
        }
        if roll < k::QC_RETURN_SHARE + k::QC_COLD_BASE_SHARE {
            self.lead_event(t, Stage::ColdBase, by, None, None);
        }
        None
    }

    pub(super) fn other_manager(&mut self, by: u32) -> u32 {
        let n = self.world.managers.len() as u64;
        if n <= 1 {
            return by;
        }
        let pick = self.rng.below(n - 1) as u32;
        if pick >= by { pick + 1 } else { pick }
    }

    pub(super) fn reject(&mut self, at: i64, reason: Reason, mgr: u32) -> End {
        let at = self.lead_event(at, Stage::Junk, mgr, Some(reason), None);
        End::Rejected { at, by: mgr }
    }
}
