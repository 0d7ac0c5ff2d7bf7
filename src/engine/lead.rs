//! Per-lead state: stage, current dialing episode, seen calls and events, timer bookkeeping.

use chrono::NaiveDate;
use compact_str::CompactString;

use super::interner::Symbol;
use crate::config::StageKind;

/// Engine time: whole seconds since the Unix epoch (see `Timestamp::as_compact_seconds`).
pub type Secs = u32;

/// `Seen::flags` bits.
pub mod flag {
    /// The entry is a call (else a lead event, kept for de-duplication only).
    pub const CALL: u8 = 1;
    /// An outbound call: an attempt (SPEC §3).
    pub const OUTBOUND: u8 = 2;
    /// Answered and longer than `touch_seconds`: a touch (SPEC §3).
    pub const TOUCH: u8 = 4;
}

/// One call or lead event seen for the lead: its id hash (de-duplication) and, for calls,
/// what the counters need. Packed into 12 bytes: the hash's three low bits carry the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    tagged_hash: [u32; 2],
    pub at: Secs,
}

const FLAG_BITS: u64 = 0b111;

impl Seen {
    pub fn new(id_hash: u64, at: Secs, flags: u8) -> Self {
        let tagged = (id_hash & !FLAG_BITS) | (u64::from(flags) & FLAG_BITS);
        Seen {
            tagged_hash: [tagged as u32, (tagged >> 32) as u32],
            at,
        }
    }
    /// A seen entry from [`Seen::tagged`] and its time (restoring state).
    pub fn from_tagged(tagged: u64, at: Secs) -> Self {
        Seen {
            tagged_hash: [tagged as u32, (tagged >> 32) as u32],
            at,
        }
    }
    /// The id hash with the flag bits (what the changelog stores).
    pub fn tagged(&self) -> u64 {
        u64::from(self.tagged_hash[0]) | (u64::from(self.tagged_hash[1]) << 32)
    }
    pub fn flags(&self) -> u8 {
        (self.tagged() & FLAG_BITS) as u8
    }
    /// Same record id (compared on the 61 hash bits that are kept).
    pub fn has_id(&self, id_hash: u64) -> bool {
        self.tagged() & !FLAG_BITS == id_hash & !FLAG_BITS
    }
    pub fn is_attempt(&self) -> bool {
        self.flags() & (flag::CALL | flag::OUTBOUND) == flag::CALL | flag::OUTBOUND
    }
    pub fn is_touch(&self) -> bool {
        self.flags() & (flag::CALL | flag::TOUCH) == flag::CALL | flag::TOUCH
    }
}

/// Timer kinds; each lead has at most one live deadline per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TimerKind {
    DayClose = 0,
    FirstCallSla = 1,
    Stale = 2,
    Evict = 3,
}

impl TimerKind {
    pub const COUNT: usize = 4;
}

/// The stage of a lead as the engine tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageState {
    pub kind: StageKind,
    pub stage: Symbol,
}

/// A dialing episode (SPEC §3): counters of §4.1–4.3 are per episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Episode {
    pub start: Secs,
    /// Business day 1 of the dialing period.
    pub day1: NaiveDate,
    /// The period day judged at the next day close (1-based) and its date.
    pub next_day: u8,
    pub next_day_date: NaiveDate,
    /// Bit k-1 set: day k was flagged by a daily rule (for retractions).
    pub flagged_days: u32,
    /// The episode began with the lead's creation (only then the first-call SLA applies).
    pub is_creation: bool,
}

/// First-call SLA bookkeeping for the creation episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaState {
    NotApplicable,
    Pending { created: Secs, deadline: Secs },
    Breached { created: Secs, deadline: Secs },
    Done,
}

/// Everything the engine remembers about one lead.
#[derive(Debug)]
pub struct LeadState {
    /// Inline up to 24 bytes: the lead table's key compare reads no other cache line.
    pub lead_id: CompactString,
    /// Bumped when the slot is reused, so stale timers of an evicted lead are ignored.
    pub generation: u32,
    /// `None` until the first lead event has been applied (calls may come first).
    pub stage: Option<StageState>,
    pub manager: Symbol,
    pub channel: Symbol,
    /// The manager who moved the lead into a rejected stage (for overturned rejections).
    pub rejected_by: Symbol,
    /// The manager the latest daily judgment or SLA breach was scored against; a retraction
    /// credits the same scorecard even if the lead was reassigned since.
    pub judged_by: Symbol,
    pub episode: Option<Episode>,
    pub sla: SlaState,
    /// Latest creation or stage-change time applied (lead events are applied in time order).
    pub stage_activity: Secs,
    /// The activity the armed stale deadline was computed from, and the activity whose quiet
    /// spell was last reported (a spell is reported once).
    pub stale_basis: Secs,
    pub stale_reported_for: Secs,
    /// Latest event time of any record of this lead (eviction).
    pub last_seen: Secs,
    /// Lead events of this lead waiting for the watermark.
    pub pending_events: u16,
    /// Deadline of each timer kind (0 = none) and the earliest queued heap entry per kind.
    pub deadlines: [Secs; TimerKind::COUNT],
    pub queued: [Secs; TimerKind::COUNT],
    pub seen: Vec<Seen>,
}

/// Above this many remembered records, entries older than the current episode are dropped.
pub const SEEN_SOFT_CAP: usize = 48;

impl LeadState {
    pub fn new(lead_id: &str, generation: u32) -> Self {
        LeadState {
            lead_id: CompactString::new(lead_id),
            generation,
            stage: None,
            manager: Symbol::NONE,
            channel: Symbol::NONE,
            rejected_by: Symbol::NONE,
            judged_by: Symbol::NONE,
            episode: None,
            sla: SlaState::NotApplicable,
            stage_activity: 0,
            stale_basis: 0,
            stale_reported_for: 0,
            last_seen: 0,
            pending_events: 0,
            deadlines: [0; TimerKind::COUNT],
            queued: [0; TimerKind::COUNT],
            seen: Vec::new(),
        }
    }

    pub fn stage_kind(&self) -> Option<StageKind> {
        self.stage.map(|s| s.kind)
    }

    pub fn in_cadence(&self) -> bool {
        self.stage_kind() == Some(StageKind::Cadence)
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self.stage_kind(),
            Some(StageKind::Rejected | StageKind::Converted)
        )
    }

    pub fn has_seen(&self, id_hash: u64) -> bool {
        self.seen.iter().any(|s| s.has_id(id_hash))
    }

    /// Remembers a record; keeps memory bounded by forgetting the oldest entries that precede
    /// the current episode once the soft cap is exceeded (they only served de-duplication).
    pub fn remember(&mut self, entry: Seen) {
        if self.seen.len() >= SEEN_SOFT_CAP {
            let keep_from = self.episode.map_or(self.stage_activity, |e| e.start);
            if let Some(oldest) = self
                .seen
                .iter()
                .enumerate()
                .filter(|(_, s)| s.at < keep_from)
                .min_by_key(|(_, s)| s.at)
                .map(|(i, _)| i)
            {
                self.seen.swap_remove(oldest);
            }
        }
        if self.seen.len() == self.seen.capacity() {
            // Grow in small steps: most leads see a handful of records.
            self.seen.reserve_exact(4);
        }
        self.seen.push(entry);
    }

    /// The last activity (creation, stage change, attempt) strictly before `at`. Calls are
    /// applied on arrival, so later ones may be known already; they must not count.
    pub fn last_activity_before(&self, at: Secs) -> Secs {
        let attempts = self
            .seen
            .iter()
            .filter(|s| s.is_attempt() && s.at < at)
            .map(|s| s.at)
            .max()
            .unwrap_or(0);
        let stage = if self.stage_activity < at {
            self.stage_activity
        } else {
            0
        };
        attempts.max(stage)
    }

    /// The first attempt at or after `at`, if one is known.
    pub fn first_attempt_from(&self, at: Secs) -> Option<Secs> {
        self.seen
            .iter()
            .filter(|s| s.is_attempt() && s.at >= at)
            .map(|s| s.at)
            .min()
    }

    /// Attempts started in `[from, to)`.
    pub fn attempts_between(&self, from: Secs, to: Secs) -> u32 {
        self.seen
            .iter()
            .filter(|s| s.is_attempt() && s.at >= from && s.at < to)
            .count() as u32
    }

    /// Touches in `[from, to)`.
    pub fn touches_between(&self, from: Secs, to: Secs) -> u32 {
        self.seen
            .iter()
            .filter(|s| s.is_touch() && s.at >= from && s.at < to)
            .count() as u32
    }

    /// Approximate heap bytes owned by this lead (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        let id = if self.lead_id.is_heap_allocated() {
            self.lead_id.capacity()
        } else {
            0
        };
        id + self.seen.capacity() * std::mem::size_of::<Seen>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_packs_flags_beside_the_hash() {
        assert_eq!(std::mem::size_of::<Seen>(), 12);
        let hash = 0xdead_beef_1234_5677;
        let seen = Seen::new(hash, 42, flag::CALL | flag::OUTBOUND);
        assert!(seen.has_id(hash));
        assert!(!seen.has_id(hash ^ 0x10));
        assert!(seen.is_attempt());
        assert!(!seen.is_touch());
        assert_eq!(seen.at, 42);
        let event = Seen::new(hash, 1, 0);
        assert!(!event.is_attempt() && !event.is_touch());
    }
}
