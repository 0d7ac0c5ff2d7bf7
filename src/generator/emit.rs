//! Emitting records from the simulation: calls with their dispositions and talk times, lead events.

use crate::model::{Direction, Disposition};

use super::knobs as k;
use super::lead::{Call, Reach, Sim};
use super::record::{Body, Compact, Contact, Reason, Staff, Stage};

impl Sim<'_> {
    /// An outbound call to the client, answered per the lead's reachability.
    pub(super) fn outbound(&mut self, t: i64, staff: Staff) -> Call {
        let answer = match self.reach {
            Reach::Easy => k::REACH_EASY.1,
            Reach::Hard => k::REACH_HARD.1,
            Reach::Wrong => 0.0,
        };
        let (disposition, talk) = if self.rng.chance(answer) {
            let u = self.rng.unit();
            let talk = if u < k::ANSWER_SHORT_SHARE {
                self.rng.range(3, 30) as u32
            } else if u < k::ANSWER_SHORT_SHARE + k::ANSWER_EXACT_30_SHARE {
                30
            } else {
                let v = self.rng.unit();
                60 + (v * v * 840.0) as u32
            };
            (Disposition::Answered, talk)
        } else {
            let [no_answer, busy, failed] = match self.reach {
                Reach::Wrong => k::WRONG_DISPOSITIONS,
                _ => k::MISSED_DISPOSITIONS,
            };
            let disposition = self.rng.weighted(&[
                (Disposition::NoAnswer, no_answer),
                (Disposition::Busy, busy),
                (Disposition::Failed, failed),
            ]);
            (disposition, 0)
        };
        let bound = !self.rng.chance(k::OUTBOUND_UNBOUND_SHARE);
        self.call(t, staff, Direction::Outbound, disposition, talk, bound)
    }

    pub(super) fn call(
        &mut self,
        t: i64,
        staff: Staff,
        direction: Direction,
        disposition: Disposition,
        talk: u32,
        bound: bool,
    ) -> Call {
        // PBX and CRM clocks have whole seconds.
        let t = (t - t.rem_euclid(1000)).max(self.created - k::MAX_CALL_SKEW_MS);
        let ring_seconds = match disposition {
            Disposition::Answered => self.rng.range(5, 20),
            Disposition::NoAnswer => self.rng.range(20, 46),
            Disposition::Busy => self.rng.range(2, 7),
            Disposition::Failed => self.rng.range(0, 3),
        };
        self.ids.calls += 1;
        let eight = self.rng.chance(0.6);
        let body = Body::Call {
            number: self.ids.calls,
            staff,
            direction,
            disposition,
            talk,
            bound,
            eight,
        };
        self.push(t, body);
        let answered = disposition == Disposition::Answered;
        Call {
            end: t + (ring_seconds + i64::from(talk)) * 1000,
            touch: answered && talk > k::TOUCH_SECONDS,
            answered,
        }
    }

    pub(super) fn lead_event(
        &mut self,
        t: i64,
        stage: Stage,
        manager: u32,
        reason: Option<Reason>,
        contact: Option<Contact>,
    ) -> i64 {
        self.ids.events += 1;
        let number = self.ids.events;
        let body = Body::Lead {
            number,
            stage,
            manager,
            reason,
            contact,
        };
        // CRM changes of one lead are sequential: each one at least a second after the last.
        let t = (t - t.rem_euclid(1000)).max(self.last_change + 1000);
        self.push(t, body);
        self.stage = stage;
        self.last_change = t;
        t
    }

    pub(super) fn push(&mut self, time: i64, body: Body) {
        self.out.push(Compact {
            time,
            lead: self.lead,
            created: self.created,
            body,
        });
    }
}
