//! `dozvon demo`: a simulated sales floor run through the engine, findings printed live.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;

use crate::config::Config;
use crate::engine::{Engine, EngineError};
use crate::generator::{GenConfig, generate};
use crate::model::{Finding, QcKind, Rule, Timestamp};
use crate::replay::Driver;

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub generator: GenConfig,
    /// Wall-clock seconds for the nine working hours of a simulated day (nights are skipped);
    /// 0 runs as fast as possible.
    pub seconds_per_working_day: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            generator: GenConfig {
                days: 5,
                managers: 20,
                leads_per_day: 100,
                ..GenConfig::default()
            },
            seconds_per_working_day: 60.0,
        }
    }
}

/// One finding as a line a sales head can read.
pub fn describe(finding: &Finding, tz: Tz) -> String {
    let local = |t: Timestamp| {
        t.to_datetime()
            .with_timezone(&tz)
            .format("%a %d %b %H:%M")
            .to_string()
    };
    let manager = |m: &Option<String>| m.clone().unwrap_or_else(|| "-".to_owned());
    match finding {
        Finding::Violation(v) => {
            let what = match v.rule {
                Rule::NoAttemptsToday => format!(
                    "no attempt on {} (day {} of the period)",
                    v.business_day.map_or_else(String::new, |d| d.to_string()),
                    v.day_of_period.unwrap_or(0)
                ),
                Rule::DailyAttemptsShortfall => format!(
                    "only {} of {} attempts on {}",
                    v.attempts_on_day.unwrap_or(0),
                    v.required.unwrap_or(0),
                    v.business_day.map_or_else(String::new, |d| d.to_string())
                ),
                Rule::PrematureRejection => format!(
                    "rejected after only {} of {} attempts ({})",
                    v.attempts_total.unwrap_or(0),
                    v.required.unwrap_or(0),
                    v.rejection_reason.as_deref().unwrap_or("no reason")
                ),
                Rule::FirstCallSlaBreach => format!(
                    "first call not made by {} (channel {})",
                    v.deadline.map_or_else(String::new, local),
                    v.channel.as_deref().unwrap_or("-")
                ),
                Rule::StaleLead => format!(
                    "stale: nothing happened since {}",
                    v.last_activity_at.map_or_else(String::new, local)
                ),
                Rule::Retraction => format!("retracts {}", v.retracts.as_deref().unwrap_or("-")),
            };
            format!(
                "[{}] VIOLATION {:<24} lead {:<10} manager {:<5} {}",
                local(v.detected_at),
                v.rule.as_str(),
                v.lead_id,
                manager(&v.manager_id),
                what
            )
        }
        Finding::Qc(q) => {
            let what = match q.kind {
                QcKind::CallListen => format!(
                    "listen to call {} ({} s) {}",
                    q.call_id.as_deref().unwrap_or("-"),
                    q.talk_seconds.unwrap_or(0),
                    q.recording_url.as_deref().unwrap_or("")
                ),
                QcKind::RejectionRecheck => format!(
                    "re-call the rejected client{} ({})",
                    if q.premature {
                        ", rejected prematurely"
                    } else {
                        ""
                    },
                    q.rejection_reason.as_deref().unwrap_or("no reason")
                ),
            };
            format!(
                "[{}] QC        {:<24} lead {:<10} manager {:<5} {}",
                local(q.detected_at),
                q.kind.as_str(),
                q.lead_id,
                manager(&q.manager_id),
                what
            )
        }
    }
}

/// Runs the demo, printing findings to `out` as simulated time passes; returns how many.
pub fn run(
    options: &DemoOptions,
    config: Arc<Config>,
    out: &mut dyn Write,
) -> Result<usize, EngineError> {
    let tz = config.default_tenant.calendar.timezone;
    let (work_start, work_end) = (
        config.default_tenant.calendar.work_start,
        config.default_tenant.calendar.work_end,
    );
    let working_day_ms = (work_end - work_start).num_milliseconds().max(1) as f64;
    let events = generate(&options.generator).into_time_ordered_events();
    let mut engine = Engine::new(config)?;
    let mut driver = Driver::new(&mut engine);
    let mut findings = Vec::new();
    let mut printed = 0;
    let mut previous: Option<Timestamp> = None;
    for event in &events {
        let time = event.event_time();
        if let Some(previous) = previous {
            let local = time.to_datetime().with_timezone(&tz).time();
            let working = local >= work_start && local <= work_end;
            if working && options.seconds_per_working_day > 0.0 {
                let gap_ms = (time.millis() - previous.millis()).max(0) as f64;
                let wall = gap_ms / working_day_ms * options.seconds_per_working_day;
                std::thread::sleep(Duration::from_secs_f64(wall.min(5.0)));
            }
        }
        previous = Some(time);
        driver.feed(event, &mut findings);
        for finding in findings.drain(..) {
            let _ = writeln!(out, "{}", describe(&finding, tz));
            printed += 1;
        }
    }
    driver.finish(None, &mut findings);
    for finding in findings.drain(..) {
        let _ = writeln!(out, "{}", describe(&finding, tz));
        printed += 1;
    }
    Ok(printed)
}
