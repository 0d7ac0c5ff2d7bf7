//! Lead events waiting for the watermark, applied in event-time order (ties by event id).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::interner::Symbol;
use super::lead::Secs;
use crate::config::StageKind;
use crate::spare::shrink_target;

/// A lead event reduced to what the rules need, owned so it can wait in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub at: Secs,
    pub event_id: Box<str>,
    pub slot: u32,
    pub generation: u32,
    pub stage: Symbol,
    pub kind: StageKind,
    pub manager: Symbol,
    pub channel: Symbol,
    /// `created_at` of the record, 0 when absent.
    pub created_at: Secs,
    pub rejection_reason: Option<Box<str>>,
}

impl Ord for PendingEvent {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, &self.event_id).cmp(&(other.at, &other.event_id))
    }
}

impl PartialOrd for PendingEvent {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Capacity (events) a drained queue keeps; beyond it, a mostly empty queue gives the rest back.
const KEPT_CAPACITY: usize = 1024;

/// Min-heap of pending lead events.
#[derive(Debug, Default)]
pub struct PendingQueue {
    heap: BinaryHeap<Reverse<PendingEvent>>,
}

impl PendingQueue {
    pub fn push(&mut self, event: PendingEvent) {
        self.heap.push(Reverse(event));
    }

    pub fn peek_time(&self) -> Option<Secs> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    pub fn pop(&mut self) -> Option<PendingEvent> {
        let event = self.heap.pop().map(|Reverse(e)| e);
        // A backlog can queue a lateness window of many leads' events at once; a heap keeps
        // its largest capacity for good otherwise.
        if let Some(capacity) = shrink_target(self.heap.len(), self.heap.capacity(), KEPT_CAPACITY)
        {
            self.heap.shrink_to(capacity);
        }
        event
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The waiting events, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &PendingEvent> {
        self.heap.iter().map(|Reverse(e)| e)
    }
}
