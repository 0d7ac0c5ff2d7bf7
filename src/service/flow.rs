//! Back-pressure for event-time alignment: which input partitions to pause because their buffer runs far ahead of the other input, and when to resume them.
//
// On a backlog a consumer fetches both topics at once, and the leads topic — a ninth of the
// records, each covering more event time — runs hours ahead of the calls topic. Its records
// wait in the aligner (`merge.rs`) until the calls reach their time. Without back-pressure the
// buffer grew to `MAX_BUFFERED` records per partition, where alignment was given up; pausing
// the partition in the consumer (as Kafka Streams does past `buffered.records.per.partition`)
// bounds it and keeps the order. Only a partition whose records wait is paused: the other
// input of its task is then empty and not caught up, so it is being fetched, and it is never
// paused too (a buffer that waits means the other one is empty).

use std::collections::BTreeSet;

/// A paused partition resumes below a 25th of the pause mark. A pause makes librdkafka drop
/// what it had fetched ahead for the partition (up to `queued.min.messages`) and fetch it again
/// on resume, so the marks are far apart: 20,000 / 5,000 cost ≈ 5 % more CPU per event on a
/// 200k-lead drain, 50,000 / 2,000 (the default `[processing] alignment_buffer`) nothing
/// measurable (BENCHMARKS.md, "Commit cadence, poll bursts, back-pressure").
const RESUME_DIVISOR: usize = 25;

/// An input partition: (input index, partition).
pub type InputPartition = (usize, i32);

/// Input partitions paused for back-pressure.
#[derive(Debug)]
pub struct Paused {
    paused: BTreeSet<InputPartition>,
    pause_at: usize,
    resume_at: usize,
}

/// What to tell the consumer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub pause: Vec<InputPartition>,
    pub resume: Vec<InputPartition>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.pause.is_empty() && self.resume.is_empty()
    }
}

impl Paused {
    /// Pausing a partition above `pause_at` buffered records.
    pub fn new(pause_at: usize) -> Self {
        Paused {
            paused: BTreeSet::new(),
            pause_at,
            resume_at: (pause_at / RESUME_DIVISOR).max(1),
        }
    }

    /// Given every assigned input partition's buffered record count, the partitions to pause
    /// and to resume; a paused partition that is no longer listed (revoked, or its task
    /// rebuilt) is resumed.
    pub fn plan(&mut self, buffered: impl IntoIterator<Item = (InputPartition, usize)>) -> Plan {
        let mut plan = Plan::default();
        let mut listed = BTreeSet::new();
        for (key, len) in buffered {
            listed.insert(key);
            let paused = self.paused.contains(&key);
            if !paused && len > self.pause_at {
                self.paused.insert(key);
                plan.pause.push(key);
            } else if paused && len < self.resume_at {
                self.paused.remove(&key);
                plan.resume.push(key);
            }
        }
        let gone: Vec<InputPartition> = self.paused.difference(&listed).copied().collect();
        for key in gone {
            self.paused.remove(&key);
            plan.resume.push(key);
        }
        plan
    }

    /// Forgets `partition`'s inputs (revoked: the consumer resumes them when assigned again).
    pub fn forget(&mut self, partition: i32) {
        self.paused.retain(|&(_, p)| p != partition);
    }

    pub fn len(&self) -> usize {
        self.paused.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAUSE_AT: usize = 50_000;
    const RESUME_AT: usize = 2_000;

    #[test]
    fn pauses_above_the_mark_resumes_below_the_lower_one() {
        let mut paused = Paused::new(PAUSE_AT);
        let plan = paused.plan([((1, 0), PAUSE_AT + 1), ((0, 0), 0), ((1, 1), PAUSE_AT)]);
        assert_eq!(plan.pause, vec![(1, 0)]);
        assert!(plan.resume.is_empty());
        // Between the marks nothing changes: no flapping.
        assert!(paused.plan([((1, 0), RESUME_AT), ((0, 0), 10)]).is_empty());
        let plan = paused.plan([((1, 0), RESUME_AT - 1), ((0, 0), 0)]);
        assert_eq!(plan.resume, vec![(1, 0)]);
        assert_eq!(paused.len(), 0);
    }

    #[test]
    fn a_paused_partition_no_longer_assigned_is_resumed_and_forgotten() {
        let mut paused = Paused::new(100);
        paused.plan([((0, 3), 200)]);
        let plan = paused.plan([((0, 1), 0)]);
        assert_eq!(plan.resume, vec![(0, 3)]);
        assert_eq!(paused.len(), 0);
        paused.plan([((1, 2), 200)]);
        assert_eq!(paused.len(), 1);
        paused.forget(2);
        assert_eq!(paused.len(), 0);
    }
}
