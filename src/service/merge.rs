//! Event-time alignment of a task's two input partitions (calls *p*, leads *p*).
//!
//! A consumer hands over whole fetched batches per partition, so on a backlog one topic can run
//! days ahead of the other. Records are therefore buffered per partition and released in
//! event-time order (like the `replay` merge; lead events first at equal times): the head with
//! the smaller time goes first, and an empty partition holds the other back unless it is
//! *caught up* (nothing more fetched from it right now). Kafka Streams calls this timestamp
//! synchronisation (KIP-353). Undecodable records carry no time and leave at once.

use std::collections::VecDeque;

use super::task::Input;
use crate::formats::CdrRow;
use crate::model::InputEvent;
use crate::spare::shrink_target;

/// A record that could not be decoded, kept whole for the dead-letter topic.
#[derive(Debug)]
pub struct BadRecord {
    pub kind: &'static str,
    pub error: String,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// What a buffered record is.
#[derive(Debug)]
pub enum Item {
    Event(InputEvent<'static>),
    Bad(BadRecord),
    /// Well-formed but not judged (a Bitrix24 robot call): counted as skipped; the reason.
    Skipped(String),
    /// An Asterisk CDR row: one leg of a call, for the task's merger. Its time is its end
    /// (when Asterisk writes it).
    Leg(Box<CdrRow>),
}

/// A buffered record with its offset.
#[derive(Debug)]
pub struct Pending {
    pub offset: i64,
    pub item: Item,
    /// When the record was polled (finding latency starts here).
    pub received: std::time::Instant,
}

/// Above this many buffered records in one partition, records are released without waiting
/// for the other partition. A safety net: back-pressure (`flow.rs`) pauses a partition at half
/// of this.
pub const MAX_BUFFERED: usize = 100_000;

/// Capacity a drained buffer keeps (records); beyond it, a buffer that is mostly empty gives
/// the rest back.
const KEPT_CAPACITY: usize = 4096;

/// Gives a drained buffer's spare capacity back (`crate::spare`): on a backlog one partition can
/// buffer up to [`MAX_BUFFERED`] records (over 200 bytes each before their strings), and a
/// `VecDeque` keeps its largest capacity for good otherwise.
fn release_spare(queue: &mut VecDeque<Pending>) {
    if let Some(capacity) = shrink_target(queue.len(), queue.capacity(), KEPT_CAPACITY) {
        queue.shrink_to(capacity);
    }
}

/// The two buffers of a task.
#[derive(Debug, Default)]
pub struct Aligner {
    queues: [VecDeque<Pending>; 2],
}

impl Aligner {
    pub fn push(&mut self, input: Input, pending: Pending) {
        self.queues[input.index()].push_back(pending);
    }

    pub fn is_empty(&self, input: Input) -> bool {
        self.queues[input.index()].is_empty()
    }

    pub fn len(&self) -> usize {
        self.queues[0].len() + self.queues[1].len()
    }

    /// Records buffered for `input`.
    pub fn buffered(&self, input: Input) -> usize {
        self.queues[input.index()].len()
    }

    /// The next record in event-time order; `caught_up(input)` tells whether an empty
    /// partition has nothing more to deliver right now.
    pub fn pop(&mut self, caught_up: impl Fn(Input) -> bool) -> Option<(Input, Pending)> {
        let heads = [self.queues[0].front(), self.queues[1].front()];
        let time = |p: Option<&Pending>| match p.map(|p| &p.item) {
            Some(Item::Event(event)) => Some(Some(event.event_time())),
            Some(Item::Leg(row)) => Some(Some(row.ended_at())),
            Some(Item::Bad(_) | Item::Skipped(_)) => Some(None), // no time: leaves at once
            None => None,
        };
        let pick = match (time(heads[0]), time(heads[1])) {
            (None, None) => return None,
            (Some(None), _) => 0,
            (_, Some(None)) => 1,
            (Some(Some(call)), Some(Some(lead))) => usize::from(lead <= call),
            (Some(Some(_)), None) => {
                if caught_up(Input::Leads) || self.queues[0].len() > MAX_BUFFERED {
                    0
                } else {
                    return None;
                }
            }
            (None, Some(Some(_))) => {
                if caught_up(Input::Calls) || self.queues[1].len() > MAX_BUFFERED {
                    1
                } else {
                    return None;
                }
            }
        };
        let queue = &mut self.queues[pick];
        let pending = queue.pop_front()?;
        release_spare(queue);
        Some((Input::ALL[pick], pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CallRecord, Direction, Disposition, Timestamp};
    use std::borrow::Cow;

    fn call(offset: i64, at: &str) -> Pending {
        Pending {
            received: std::time::Instant::now(),
            offset,
            item: Item::Event(InputEvent::Call(CallRecord {
                call_id: Cow::Owned(format!("c{offset}")),
                tenant: None,
                lead_id: Some(Cow::Borrowed("L")),
                phone: Cow::Borrowed("+7"),
                manager_id: None,
                direction: Direction::Outbound,
                started_at: Timestamp::parse_rfc3339(at).expect("time"),
                talk_seconds: 0,
                disposition: Disposition::NoAnswer,
                recording_url: None,
            })),
        }
    }

    fn bad(offset: i64) -> Pending {
        Pending {
            received: std::time::Instant::now(),
            offset,
            item: Item::Bad(BadRecord {
                kind: "json",
                error: "bad".into(),
                key: None,
                payload: None,
                headers: Vec::new(),
            }),
        }
    }

    #[test]
    fn releases_in_event_time_order_across_partitions() {
        let mut a = Aligner::default();
        a.push(Input::Calls, call(0, "2026-03-02T10:00:00Z"));
        a.push(Input::Calls, call(1, "2026-03-04T10:00:00Z"));
        a.push(Input::Leads, call(0, "2026-03-03T10:00:00Z"));
        let never = |_: Input| false;
        let order: Vec<(Input, i64)> =
            std::iter::from_fn(|| a.pop(never).map(|(i, p)| (i, p.offset))).collect();
        // The last call waits: the leads partition is empty and not caught up.
        assert_eq!(order, vec![(Input::Calls, 0), (Input::Leads, 0)]);
        assert_eq!(
            a.pop(|_| true).map(|(i, p)| (i, p.offset)),
            Some((Input::Calls, 1))
        );
    }

    #[test]
    fn a_drained_buffer_gives_its_capacity_back() {
        let mut a = Aligner::default();
        for offset in 0..100_000 {
            a.push(Input::Calls, call(offset, "2026-03-02T10:00:00Z"));
        }
        let mut order = Vec::new();
        while let Some((_, p)) = a.pop(|_| true) {
            order.push(p.offset);
        }
        assert_eq!(order, (0..100_000).collect::<Vec<_>>());
        assert!(a.queues[0].capacity() <= 2 * KEPT_CAPACITY);
    }

    #[test]
    fn bad_records_leave_at_once_and_ties_go_to_leads() {
        let mut a = Aligner::default();
        a.push(Input::Calls, bad(0));
        a.push(Input::Calls, call(1, "2026-03-02T10:00:00Z"));
        a.push(Input::Leads, call(7, "2026-03-02T10:00:00Z"));
        let order: Vec<(Input, i64)> =
            std::iter::from_fn(|| a.pop(|_| false).map(|(i, p)| (i, p.offset))).collect();
        assert_eq!(order, vec![(Input::Calls, 0), (Input::Leads, 7)]);
        assert_eq!(a.len(), 1);
    }
}
