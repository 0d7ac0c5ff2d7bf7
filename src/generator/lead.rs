//! One lead's life: creation, dialing episodes, touches and their outcomes, rejections, QC review.

use crate::model::{Direction, Disposition};

use super::clock::{Clock, Day, HOUR_MS, MINUTE_MS};
use super::knobs as k;
use super::people::ManagerProfile;
use super::record::{Compact, Contact, EMAIL_NAME_COUNT, Reason, Staff, Stage};
use super::rng::Rng;

/// What every lead of a run shares.
pub(crate) struct World<'a> {
    pub clock: &'a Clock,
    pub managers: &'a [ManagerProfile],
    pub qc_count: u32,
}

/// Counters behind call and event ids (`{prefix}C{n}`, `{prefix}E{n}`), in generation order.
#[derive(Default)]
pub(crate) struct Ids {
    pub calls: u64,
    pub events: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    Easy,
    Hard,
    Wrong,
}

pub(super) enum End {
    /// Nothing more happens to the lead (converted, qualified, or left alone).
    Done,
    Rejected {
        at: i64,
        by: u32,
    },
}

/// Running state of one dialing episode.
pub(super) struct Episode {
    pub(super) mgr: u32,
    pub(super) attempts: u32,
    pub(super) threshold: u32,
    pub(super) touched: bool,
    pub(super) busy_until: i64,
}

/// What a placed call came to.
pub(super) struct Call {
    pub(super) end: i64,
    pub(super) touch: bool,
    pub(super) answered: bool,
}

pub(super) struct Sim<'a> {
    pub(super) world: &'a World<'a>,
    pub(super) ids: &'a mut Ids,
    pub(super) out: &'a mut Vec<Compact>,
    pub(super) rng: Rng,
    pub(super) lead: u64,
    pub(super) created: i64,
    pub(super) phone_channel: bool,
    pub(super) reach: Reach,
    pub(super) duplicate: bool,
    pub(super) stage: Stage,
    /// Time of the latest lead event so far.
    pub(super) last_change: i64,
}

/// Appends every record of lead number `lead`, created at `created`, to `out` (in no particular order).
pub(crate) fn simulate(
    world: &World<'_>,
    ids: &mut Ids,
    out: &mut Vec<Compact>,
    lead: u64,
    created: i64,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let channels: [(u8, f64); 4] = std::array::from_fn(|i| (i as u8, k::CHANNELS[i].1));
    let channel = rng.weighted(&channels);
    let email = if rng.chance(k::CHANNELS[usize::from(channel)].2) {
        let name = rng.below(EMAIL_NAME_COUNT) as u8;
        Some((name, rng.below(k::EMAIL_DOMAINS.len() as u64) as u8))
    } else {
        None
    };
    let manager = rng.below(world.managers.len() as u64) as u32;
    let reach = rng.weighted(&[
        (Reach::Easy, k::REACH_EASY.0),
        (Reach::Hard, k::REACH_HARD.0),
        (Reach::Wrong, k::REACH_WRONG_SHARE),
    ]);
    let duplicate = rng.chance(k::DUPLICATE_LEAD_SHARE);
    let mut sim = Sim {
        world,
        ids,
        out,
        rng,
        lead,
        created,
        phone_channel: k::CHANNELS[usize::from(channel)].0 == "phone",
        reach,
        duplicate,
        stage: Stage::New,
        last_change: created - 1000,
    };
    let contact = Contact { channel, email };
    sim.lead_event(created, Stage::New, manager, None, Some(contact));
    sim.run(manager);
}

impl Sim<'_> {
    fn run(&mut self, manager: u32) {
        let (mut start, mut mgr, mut first) = (self.created, manager, true);
        loop {
            let End::Rejected { at, by } = self.episode(start, mgr, first) else {
                return;
            };
            match self.qc_review(at, by, !first) {
                Some((returned_at, new_manager)) => {
                    (start, mgr, first) = (returned_at, new_manager, false);
                }
                None => return,
            }
        }
    }

    /// One dialing episode from `start` (creation or QC return) with manager `mgr`.
    fn episode(&mut self, start: i64, mgr: u32, first: bool) -> End {
        let world = self.world;
        let clock = world.clock;
        let profile = &world.managers[mgr as usize];
        let mut st = Episode {
            mgr,
            attempts: 0,
            threshold: profile.reject_after(&mut self.rng),
            touched: false,
            busy_until: start,
        };
        let start_idx = clock.day_index(start);
        let day1 = if clock.day(start_idx).business
            && clock.local_seconds(start) <= k::DAY1_CUTOFF_SECONDS
        {
            start_idx
        } else {
            clock.next_business(start_idx)
        };
        let last = clock.add_business_days(day1, k::PERIOD_DAYS - 1);
        let first_call = clock.add_working(start, profile.first_delay_ms(&mut self.rng));
        if first && self.phone_channel {
            // The client's call created the lead: answered by the manager, a touch.
            let t = self.created - self.rng.range(5_000, k::MAX_CALL_SKEW_MS);
            let talk = self.rng.range(60, 600) as u32;
            let (staff, answered) = (Staff::Manager(mgr), Disposition::Answered);
            let call = self.call(t, staff, Direction::Inbound, answered, talk, true);
            st.touched = true;
            st.busy_until = call.end;
            if let Some(end) = self.touch(call.end, mgr) {
                return end;
            }
        }
        if first && self.duplicate {
            if self.rng.chance(0.5) {
                st.busy_until = self.outbound(first_call, Staff::Manager(mgr)).end;
            }
            let delay = self.rng.range(10 * MINUTE_MS, 3 * HOUR_MS);
            return self.reject(
                clock.add_working(st.busy_until, delay),
                Reason::Duplicate,
                mgr,
            );
        }
        let mut inbound = if self.rng.chance(k::INBOUND_CALLBACK_SHARE) {
            Some(self.callback_time(start, last))
        } else {
            None
        };
        let first_day = clock.day_index(first_call);
        for idx in first_day..=last {
            let day = clock.day(idx);
            if !day.business {
                continue;
            }
            let (plan, n) = self.plan_day(day, idx == first_day, first_call, profile);
            for &planned in &plan[..n] {
                if let Some(at) = inbound.filter(|&at| at <= planned) {
                    inbound = None;
                    if let Some(end) = self.inbound(at, &mut st) {
                        return end;
                    }
                }
                let t = if planned < st.busy_until + MINUTE_MS {
                    st.busy_until + self.rng.range(MINUTE_MS, 4 * MINUTE_MS)
                } else {
                    planned
                };
                if let Some(end) = self.attempt(t, &mut st) {
                    return end;
                }
            }
        }
        if let Some(at) = inbound {
            if let Some(end) = self.inbound(at, &mut st) {
                return end;
            }
        }
        self.period_over(last, &st, profile)
    }

    /// Attempt times for business day `day`, sorted (at most 5).
    fn plan_day(
        &mut self,
        day: Day,
        is_first_day: bool,
        first_call: i64,
        profile: &ManagerProfile,
    ) -> ([i64; 6], usize) {
        let mut plan = [0; 6];
        if !is_first_day && self.rng.chance(profile.skip_day()) {
            return (plan, 0);
        }
        let wanted = profile.attempts_for_day(&mut self.rng).min(5) as usize;
        let (mut n, lo) = if is_first_day {
            plan[0] = first_call;
            (1, first_call + 20 * MINUTE_MS)
        } else {
            (0, day.open)
        };
        while n < wanted && lo < day.close {
            let mut t = self.rng.range(lo, day.close);
            if !is_first_day && self.rng.chance(k::OUTSIDE_HOURS_SHARE) {
                t = if self.rng.chance(0.5) {
                    day.open - self.rng.range(MINUTE_MS, 20 * MINUTE_MS)
                } else {
                    day.close + self.rng.range(0, 20 * MINUTE_MS)
                };
            }
            plan[n] = t;
            n += 1;
        }
        plan[..n].sort_unstable();
        (plan, n)
    }

    /// An outbound attempt by the episode's manager and what the manager does next.
    fn attempt(&mut self, t: i64, st: &mut Episode) -> Option<End> {
        let call = self.outbound(t, Staff::Manager(st.mgr));
        st.attempts += 1;
        st.busy_until = call.end;
        if call.touch {
            st.touched = true;
            return self.touch(call.end, st.mgr);
        }
        let clock = self.world.clock;
        if self.reach == Reach::Wrong
            && !call.answered
            && st.attempts >= 2
            && self.rng.chance(k::WRONG_NUMBER_GIVE_UP)
        {
            let at = clock.add_working(call.end, self.rng.range(5 * MINUTE_MS, 30 * MINUTE_MS));
            return Some(self.reject(at, Reason::WrongNumber, st.mgr));
        }
        if !st.touched && st.attempts >= st.threshold {
            let at = clock.add_working(call.end, self.rng.range(5 * MINUTE_MS, HOUR_MS));
            return Some(self.reject(at, Reason::NoAnswer, st.mgr));
        }
        None
    }

    /// The client calls back at `at`; answered in working hours mostly.
    fn inbound(&mut self, at: i64, st: &mut Episode) -> Option<End> {
        let clock = self.world.clock;
        let day = clock.day(clock.day_index(at));
        let in_hours = day.business && at >= day.open && at < day.close;
        let p = if in_hours {
            k::INBOUND_ANSWERED_IN_HOURS
        } else {
            k::INBOUND_ANSWERED_OFF_HOURS
        };
        let (disposition, talk, staff) = if self.rng.chance(p) {
            let talk = if self.rng.chance(0.85) {
                self.rng.range(60, 600)
            } else {
                self.rng.range(5, 30)
            };
            (Disposition::Answered, talk as u32, Staff::Manager(st.mgr))
        } else {
            (Disposition::NoAnswer, 0, Staff::Nobody)
        };
        let bound = !self.rng.chance(k::INBOUND_UNBOUND_SHARE);
        let call = self.call(at, staff, Direction::Inbound, disposition, talk, bound);
        st.busy_until = st.busy_until.max(call.end);
        if call.touch {
            st.touched = true;
            return self.touch(call.end, st.mgr);
        }
        None
    }

    /// When the client calls back: any calendar day of the period, by the arrival profile.
    fn callback_time(&mut self, start: i64, last: i64) -> i64 {
        let clock = self.world.clock;
        let from = clock.day_index(start);
        let idx = self.rng.range(from, last + 1);
        let hours: [(u32, f64); 24] = std::array::from_fn(|h| (h as u32, k::ARRIVAL_BY_HOUR[h]));
        let seconds = self.rng.weighted(&hours) * 3600 + self.rng.below(3600) as u32;
        let t = clock.local_ms(clock.day(idx).date, seconds);
        let earliest = start + 30 * MINUTE_MS;
        if t < earliest {
            earliest + self.rng.range(0, 3 * HOUR_MS)
        } else {
            t
        }
    }
}
