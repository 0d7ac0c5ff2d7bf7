//! Back-pressure for event-time alignment: which input partitions to pause because their buffer runs far ahead of the other input, or their task far ahead of the others, and when to resume them.
//
// On a backlog a consumer fetches both topics at once, and the leads topic — a ninth of the
// records, each covering more event time — runs hours ahead of the calls topic. Its records
// wait in the aligner (`merge.rs`) until the calls reach their time. Without back-pressure the
// buffer grew to `MAX_BUFFERED` records per partition, where alignment was given up; pausing
// the partition in the consumer (as Kafka Streams does past `buffered.records.per.partition`)
// bounds it and keeps the order. Only a partition whose records wait is paused: the other
// input of its task is then empty and not caught up, so it is being fetched, and it is never
// paused too (a buffer that waits means the other one is empty).
//
// Across tasks: every engine's clock is held to the routers' release markers, the least clock
// over all partitions (phone resolution, docs/contacts.md). The consumer does not fetch the
// partitions evenly — on a backlog one task can read days of event time before another has
// delivered anything — and the task that runs ahead keeps its lead events waiting for that
// clock (and its timers unfired) until the slowest catches up; a 200k-lead drain queued
// 150,000 lead events in one task and then fired them at once (BENCHMARKS.md, "Tasks held
// together"). So a task ahead of the slowest local task with more lead events waiting than
// the mark has both its inputs paused; the slowest is never paused, so the least clock always
// moves.
use std::collections::BTreeSet;

/// A paused partition resumes below a 25th of the pause mark. A pause makes librdkafka drop
/// what it had fetched ahead for the partition (up to `queued.min.messages`) and fetch it again
/// on resume, so the marks are far apart: 20,000 / 5,000 cost ≈ 5 % more CPU per event on a
/// 200k-lead drain, 50,000 / 2,000 (the default `[processing] alignment_buffer`) nothing
/// measurable (BENCHMARKS.md, "Commit cadence, poll bursts, back-pressure").
const RESUME_DIVISOR: usize = 25;

/// An input partition: (input index, partition).
pub type InputPartition = (usize, i32);

/// Why an input partition is paused (`Reason as usize` indexes `metrics::PAUSE_REASONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Its alignment buffer holds more records than the mark.
    Buffer = 0,
    /// Its task runs ahead of the slowest task with more lead events waiting than the mark.
    TaskAhead = 1,
}

/// What an input partition has waiting: records in its alignment buffer, and lead events
/// waiting for the watermark in its task when that task runs ahead (0 otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    pub buffered: usize,
    pub ahead: usize,
}

/// Lead events waiting in each task, counted where the task runs ahead of the slowest: given
/// each task's `(partition, input clock, waiting lead events)` — a clock of `None` (nothing
/// delivered yet) being the slowest —, the waiting count of every task whose clock is past the
/// least, and 0 for the tasks at the least clock.
pub fn ahead_of_slowest<T: Ord + Copy>(
    tasks: &[(i32, Option<T>, usize)],
) -> impl Iterator<Item = (i32, usize)> + '_ {
    let slowest = tasks.iter().map(|&(_, clock, _)| clock).min();
    tasks.iter().map(move |&(partition, clock, waiting)| {
        let ahead = slowest.is_some_and(|slowest| clock > slowest);
        (partition, if ahead { waiting } else { 0 })
    })
}

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
    pub pause: Vec<(InputPartition, Reason)>,
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

    /// Given what every assigned input partition has waiting, the partitions to pause (with
    /// why) and to resume; a paused partition that is no longer listed (revoked, or its task
    /// rebuilt) is resumed.
    pub fn plan(&mut self, waiting: impl IntoIterator<Item = (InputPartition, Waiting)>) -> Plan {
        let mut plan = Plan::default();
        let mut listed = BTreeSet::new();
        for (key, w) in waiting {
            listed.insert(key);
            let paused = self.paused.contains(&key);
            if !paused && w.buffered.max(w.ahead) > self.pause_at {
                self.paused.insert(key);
                let reason = if w.buffered > self.pause_at {
                    Reason::Buffer
                } else {
                    Reason::TaskAhead
                };
                plan.pause.push((key, reason));
            } else if paused && w.buffered.max(w.ahead) < self.resume_at {
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

    fn buffered(n: usize) -> Waiting {
        Waiting {
            buffered: n,
            ahead: 0,
        }
    }

    fn ahead(n: usize) -> Waiting {
        Waiting {
            buffered: 0,
            ahead: n,
        }
    }

    #[test]
    fn pauses_above_the_mark_resumes_below_the_lower_one() {
        let mut paused = Paused::new(PAUSE_AT);
        let plan = paused.plan([
            ((1, 0), buffered(PAUSE_AT + 1)),
            ((0, 0), buffered(0)),
            ((1, 1), buffered(PAUSE_AT)),
        ]);
        assert_eq!(plan.pause, vec![((1, 0), Reason::Buffer)]);
        assert!(plan.resume.is_empty());
        // Between the marks nothing changes: no flapping.
        assert!(
            paused
                .plan([((1, 0), buffered(RESUME_AT)), ((0, 0), buffered(10))])
                .is_empty()
        );
        let plan = paused.plan([((1, 0), buffered(RESUME_AT - 1)), ((0, 0), buffered(0))]);
        assert_eq!(plan.resume, vec![(1, 0)]);
        assert_eq!(paused.len(), 0);
    }

    #[test]
    fn a_task_ahead_is_paused_on_both_inputs_until_its_waiting_events_drain() {
        let mut paused = Paused::new(PAUSE_AT);
        let plan = paused.plan([
            ((0, 2), ahead(PAUSE_AT + 1)),
            ((1, 2), ahead(PAUSE_AT + 1)),
            ((0, 3), buffered(10)),
        ]);
        assert_eq!(
            plan.pause,
            vec![((0, 2), Reason::TaskAhead), ((1, 2), Reason::TaskAhead)]
        );
        // Still ahead of the mark's 25th on one input, a buffer on the other: both stay.
        let still = Waiting {
            buffered: RESUME_AT,
            ahead: 0,
        };
        assert!(
            paused
                .plan([((0, 2), ahead(RESUME_AT)), ((1, 2), still)])
                .is_empty()
        );
        let plan = paused.plan([((0, 2), ahead(0)), ((1, 2), ahead(RESUME_AT - 1))]);
        assert_eq!(plan.resume, vec![(0, 2), (1, 2)]);
        assert_eq!(paused.len(), 0);
    }

    #[test]
    fn each_reason_indexes_its_metric_label() {
        let labels = crate::metrics::PAUSE_REASONS;
        assert_eq!(labels[Reason::Buffer as usize], "buffer");
        assert_eq!(labels[Reason::TaskAhead as usize], "task_ahead");
    }

    #[test]
    fn only_tasks_past_the_least_clock_count_their_waiting_events() {
        let tasks = [
            (0, Some(50), 7),
            (1, Some(10), 8),
            (2, Some(10), 9),
            (3, Some(90), 0),
        ];
        let counted: Vec<(i32, usize)> = ahead_of_slowest(&tasks).collect();
        assert_eq!(counted, vec![(0, 7), (1, 0), (2, 0), (3, 0)]);
        // A task that has delivered nothing is the slowest: every other one is ahead of it.
        let tasks = [(0, Some(50), 7), (1, None, 8)];
        let counted: Vec<(i32, usize)> = ahead_of_slowest(&tasks).collect();
        assert_eq!(counted, vec![(0, 7), (1, 0)]);
        // All level (or all empty): nobody is ahead, so nobody can be paused for it.
        let tasks: [(i32, Option<u32>, usize); 2] = [(0, None, 7), (1, None, 8)];
        assert!(ahead_of_slowest(&tasks).all(|(_, n)| n == 0));
    }

    #[test]
    fn a_paused_partition_no_longer_assigned_is_resumed_and_forgotten() {
        let mut paused = Paused::new(100);
        paused.plan([((0, 3), buffered(200))]);
        let plan = paused.plan([((0, 1), buffered(0))]);
        assert_eq!(plan.resume, vec![(0, 3)]);
        assert_eq!(paused.len(), 0);
        paused.plan([((1, 2), ahead(200))]);
        assert_eq!(paused.len(), 1);
        paused.forget(2);
        assert_eq!(paused.len(), 0);
    }
}
