//! Findings as lines a sales head can read (the demo's output).

use chrono_tz::Tz;

use crate::model::{Finding, QcKind, Rule, Timestamp};

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
                QcKind::DuplicateLead => format!(
                    "same {} as lead {} (manager {}): hand it over",
                    q.matched_on.map_or("contact", |m| m.as_str()),
                    q.earlier_lead_id.as_deref().unwrap_or("-"),
                    q.earlier_manager_id.as_deref().unwrap_or("-")
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
