//! Questions the HTTP API asks the processing thread, answered from the tasks' engines between
//! polls (the engines are never shared or locked), and the state gauges read the same way.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use tokio::sync::oneshot;

use super::task::Task;
use crate::config::Config;
use crate::engine::{DueList, LeadView, QcOutcomes, Scorecard, TenantFigures};
use crate::metrics::StateSnapshot;
use crate::model::{DEFAULT_TENANT, Timestamp};

/// Questions waiting for the processing thread; more are refused (HTTP 503).
const QUEUE: usize = 64;

/// What the API wants to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Question {
    Lead {
        tenant: String,
        lead_id: String,
    },
    Due {
        tenant: String,
        manager: Option<String>,
    },
    Managers {
        tenant: String,
    },
}

impl Question {
    /// The tenant asked about.
    pub fn tenant(&self) -> &str {
        match self {
            Question::Lead { tenant, .. }
            | Question::Due { tenant, .. }
            | Question::Managers { tenant } => tenant,
        }
    }
}

/// What this instance knows: only the input partitions it holds answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The input partitions whose state was consulted.
    pub partitions: Vec<i32>,
    /// Every assigned partition restored and consuming.
    pub ready: bool,
    /// The latest event-time clock of those partitions.
    pub as_of: Option<Timestamp>,
    /// The tenant is configured or has state here.
    pub known_tenant: bool,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Lead(Option<Box<LeadView>>),
    Due(Option<DueList>),
    Managers(BTreeMap<Option<String>, Scorecard>),
}

/// Why a question got no answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("the processing thread is busy; retry shortly")]
    Busy,
    #[error("the processing thread did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the service is stopping")]
    Stopped,
}

struct Asked {
    question: Question,
    reply: oneshot::Sender<Answer>,
}

/// The asking side, held by the HTTP server.
#[derive(Clone, Debug)]
pub struct QueryClient {
    tx: SyncSender<Asked>,
}

/// The answering side, drained by the processor between polls.
#[derive(Debug)]
pub struct QueryInbox {
    rx: Receiver<Asked>,
}

impl std::fmt::Debug for Asked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.question.fmt(f)
    }
}

pub fn channel() -> (QueryClient, QueryInbox) {
    let (tx, rx) = sync_channel(QUEUE);
    (QueryClient { tx }, QueryInbox { rx })
}

impl QueryClient {
    /// Asks and waits up to `timeout` (the processor answers between polls, ≤ 100 ms apart,
    /// unless it is restoring or committing).
    pub async fn ask(&self, question: Question, timeout: Duration) -> Result<Answer, QueryError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Asked { question, reply })
            .map_err(|error| match error {
                TrySendError::Full(_) => QueryError::Busy,
                TrySendError::Disconnected(_) => QueryError::Stopped,
            })?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(QueryError::Stopped),
            Err(_) => Err(QueryError::Timeout(timeout)),
        }
    }
}

impl QueryInbox {
    /// Answers the next waiting question, if any, from `tasks`; questions whose asker gave up
    /// are dropped unanswered. One per call: a question scans every lead of every task, and
    /// the processing thread must get back to its input and its commits.
    pub fn answer_next(&self, tasks: &BTreeMap<i32, Task>, ready: bool, config: &Config) {
        while let Ok(asked) = self.rx.try_recv() {
            if asked.reply.is_closed() {
                continue;
            }
            let answer = answer(tasks, &asked.question, ready, config);
            // The asker may have timed out meanwhile: nothing to do then.
            let _ = asked.reply.send(answer);
            return;
        }
    }
}

/// Answers `question` from the engines of `tasks` (one per input partition).
pub fn answer(
    tasks: &BTreeMap<i32, Task>,
    question: &Question,
    ready: bool,
    config: &Config,
) -> Answer {
    let engines = || tasks.values().map(Task::engine);
    let tenant = question.tenant();
    let known_tenant = tenant == DEFAULT_TENANT
        || config.tenants.contains_key(tenant)
        || engines().any(|e| e.tenant_names().any(|t| t == tenant));
    let latest = engines().map(|e| e.clock()).max();
    let as_of = latest.unwrap_or(Timestamp::from_compact_seconds(0));
    let body = match question {
        Question::Lead { tenant, lead_id } => {
            Body::Lead(engines().find_map(|e| e.lead_view(tenant, lead_id).map(Box::new)))
        }
        Question::Due { tenant, manager } => {
            // One date for every partition: the latest clock's.
            let mut lists =
                engines().filter_map(|e| e.due_today(tenant, manager.as_deref(), as_of));
            let merged = lists.next().map(|first| {
                let mut merged = lists.fold(first, |mut acc, list| {
                    acc.leads.extend(list.leads);
                    acc
                });
                merged.leads.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
                merged
            });
            Body::Due(merged)
        }
        Question::Managers { tenant } => {
            let mut cards: BTreeMap<Option<String>, Scorecard> = BTreeMap::new();
            for engine in engines() {
                for (manager, card) in engine.scorecards(tenant, as_of) {
                    cards.entry(manager).or_default().add(&card);
                }
            }
            Body::Managers(cards)
        }
    };
    Answer {
        partitions: tasks.keys().copied().collect(),
        ready,
        as_of: latest,
        known_tenant,
        body,
    }
}

/// The engine-state gauges: per tenant summed over the tasks' latest `figures` (each task is
/// scanned on its own turn, see [`StateRefresh`]), and each task's watermark lag.
pub fn snapshot(
    tasks: &BTreeMap<i32, Task>,
    figures: &BTreeMap<i32, Vec<TenantFigures>>,
    wall: Timestamp,
) -> StateSnapshot {
    let mut tenants: BTreeMap<String, TenantFigures> = BTreeMap::new();
    let mut watermark_lag = Vec::new();
    for (&partition, task) in tasks {
        let clock = task.engine().clock();
        if clock.millis() > 0 {
            let lag = (wall.millis() - clock.millis()) as f64 / 1000.0;
            watermark_lag.push((partition, lag));
        }
        for figures in figures.get(&partition).into_iter().flatten() {
            match tenants.get_mut(&figures.tenant) {
                None => {
                    let mut figures = figures.clone();
                    // Symbols are per engine: the per-manager view lives in the scorecards.
                    figures.outcomes.overturned_by_manager.clear();
                    tenants.insert(figures.tenant.clone(), figures);
                }
                Some(sum) => {
                    sum.leads_tracked += figures.leads_tracked;
                    sum.no_attempt_today += figures.no_attempt_today;
                    for (manager, card) in &figures.scorecards {
                        sum.scorecards.entry(manager.clone()).or_default().add(card);
                    }
                    add_outcomes(&mut sum.outcomes, &figures.outcomes);
                }
            }
        }
    }
    StateSnapshot {
        tenants: tenants.into_values().collect(),
        watermark_lag,
    }
}

/// Spreads the scans behind the state gauges: one task per turn, every task once per
/// `period`, so the processing thread never stalls for more than one partition's scan.
#[derive(Debug)]
pub struct StateRefresh {
    period: Duration,
    last: Option<(std::time::Instant, i32)>,
    figures: BTreeMap<i32, Vec<TenantFigures>>,
}

impl StateRefresh {
    pub fn new(period: Duration) -> Self {
        StateRefresh {
            period,
            last: None,
            figures: BTreeMap::new(),
        }
    }

    /// Scans the next task when its turn has come; the new snapshot, if one was taken.
    pub fn turn(&mut self, tasks: &BTreeMap<i32, Task>, wall: Timestamp) -> Option<StateSnapshot> {
        let turns = u32::try_from(tasks.len().max(1)).unwrap_or(u32::MAX);
        if self
            .last
            .is_some_and(|(at, _)| at.elapsed() < self.period / turns)
        {
            return None;
        }
        let after = self.last.map_or(i32::MIN, |(_, p)| p);
        let next = tasks
            .range(after.saturating_add(1)..)
            .next()
            .or_else(|| tasks.iter().next());
        self.figures.retain(|p, _| tasks.contains_key(p));
        if let Some((&partition, task)) = next {
            let latest = tasks.values().map(|t| t.engine().clock()).max();
            let at = latest.unwrap_or(Timestamp::from_compact_seconds(0));
            self.figures
                .insert(partition, task.engine().tenant_figures(at));
            self.last = Some((std::time::Instant::now(), partition));
        } else {
            self.last = Some((std::time::Instant::now(), i32::MIN));
        }
        Some(snapshot(tasks, &self.figures, wall))
    }
}

fn add_outcomes(sum: &mut QcOutcomes, other: &QcOutcomes) {
    sum.overturned += other.overturned;
    sum.confirmations += other.confirmations;
    sum.cold_base_transfers += other.cold_base_transfers;
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::engine::Engine;
    use crate::model::LeadEvent;

    /// A task whose engine tracks `leads` leads.
    fn task(leads: usize) -> Task {
        let mut engine = Engine::new(Arc::new(Config::default())).expect("engine");
        let at = Timestamp::parse_rfc3339("2026-03-02T10:00:00+03:00").expect("time");
        for i in 0..leads {
            let event = LeadEvent {
                event_id: Cow::Owned(format!("e{i}")),
                tenant: None,
                lead_id: Cow::Owned(format!("lead-{i}")),
                occurred_at: at,
                stage: Cow::Borrowed("NEW"),
                manager_id: None,
                created_at: None,
                channel: None,
                phone: None,
                email: None,
                rejection_reason: None,
            };
            engine.apply_lead_event(&event, &mut Vec::new());
        }
        Task::new(engine, Duration::from_secs(30), Instant::now(), 1)
    }

    fn tracked(snapshot: &StateSnapshot) -> usize {
        snapshot.tenants.iter().map(|t| t.leads_tracked).sum()
    }

    #[test]
    fn the_gauges_scan_one_task_per_turn() {
        let wall = Timestamp::parse_rfc3339("2026-03-02T12:00:00Z").expect("time");
        let mut tasks: BTreeMap<i32, Task> = [(0, task(1)), (3, task(10)), (5, task(100))]
            .into_iter()
            .collect();
        let mut refresh = StateRefresh::new(Duration::ZERO);
        let seen: Vec<usize> = (0..4)
            .map(|_| tracked(&refresh.turn(&tasks, wall).expect("a turn")))
            .collect();
        // Partitions 0, 3 and 5 in turn, then 0 again (unchanged).
        assert_eq!(seen, [1, 11, 111, 111]);
        // A revoked task's figures go at the next turn.
        tasks.remove(&5);
        assert_eq!(tracked(&refresh.turn(&tasks, wall).expect("a turn")), 11);
        // Within the period, no turn.
        let mut slow = StateRefresh::new(Duration::from_secs(3600));
        assert!(slow.turn(&tasks, wall).is_some());
        assert!(slow.turn(&tasks, wall).is_none());
    }

    #[test]
    fn answers_merge_the_tasks() {
        let tasks: BTreeMap<i32, Task> = [(1, task(2)), (4, task(3))].into_iter().collect();
        let lead = Question::Lead {
            tenant: "default".into(),
            lead_id: "lead-2".into(),
        };
        let answer = answer(&tasks, &lead, true, &Config::default());
        assert_eq!(answer.partitions, [1, 4]);
        assert!(answer.known_tenant && answer.ready);
        assert!(matches!(answer.body, Body::Lead(Some(ref v)) if v.lead_id == "lead-2"));
        let unknown = Question::Managers {
            tenant: "nowhere".into(),
        };
        assert!(!super::answer(&tasks, &unknown, true, &Config::default()).known_tenant);
        let configured =
            Config::from_toml_str("[tenants.nowhere.rules]\ndaily_attempts = 2").expect("config");
        // Configured tenants are known even before a task holds state for them.
        assert!(super::answer(&BTreeMap::new(), &unknown, true, &configured).known_tenant);
        let default = Question::Managers {
            tenant: DEFAULT_TENANT.into(),
        };
        assert!(super::answer(&BTreeMap::new(), &default, false, &Config::default()).known_tenant);
    }
}
