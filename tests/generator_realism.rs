//! Realism of generated data: arrivals, call mix, lead lifecycles, first-call SLA, manager diligence.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use chrono_tz::Tz;
use dozvon::generator::{self, Dataset, GenConfig, generate};
use dozvon::model::{CallRecord, Direction, Disposition, LeadEvent, Timestamp};

fn local(ts: Timestamp, tz: Tz) -> chrono::DateTime<Tz> {
    ts.to_datetime().with_timezone(&tz)
}

fn in_working_hours(ts: Timestamp, tz: Tz) -> bool {
    let t = local(ts, tz);
    !matches!(t.weekday(), Weekday::Sat | Weekday::Sun) && (9..18).contains(&t.hour())
}

/// Creation time per lead, from its `NEW` event.
fn creations(dataset: &Dataset) -> HashMap<String, Timestamp> {
    let new = dataset.leads.iter().filter(|l| l.stage == "NEW");
    new.map(|l| (l.lead_id.to_string(), l.created_at.unwrap()))
        .collect()
}

#[test]
fn leads_arrive_around_the_clock_with_unique_phones() {
    let config = GenConfig {
        days: 14,
        ..GenConfig::default()
    };
    let tz = config.timezone;
    let dataset = generate(&config);
    let created: Vec<&LeadEvent> = {
        let mut seen = HashSet::new();
        let new = dataset.leads.iter().filter(|l| l.stage == "NEW");
        new.filter(|l| seen.insert(l.lead_id.clone())).collect()
    };
    assert_eq!(created.len(), 14 * 100);
    let phones: HashSet<&str> = created
        .iter()
        .map(|l| l.phone.as_deref().unwrap())
        .collect();
    assert_eq!(phones.len(), created.len());
    let phone_shape = |p: &str| {
        let b = p.as_bytes();
        p.len() == 16 && p.starts_with("+7 9") && b[6] == b' ' && b[10] == b'-' && b[13] == b'-'
    };
    assert!(
        phones.iter().all(|p| phone_shape(p)),
        "phones look like +7 9XX XXX-XX-XX"
    );
    let hours: Vec<u32> = created
        .iter()
        .map(|l| local(l.occurred_at, tz).hour())
        .collect();
    let night = hours.iter().filter(|&&h| h < 7).count();
    let day = hours.iter().filter(|&&h| (10..17).contains(&h)).count();
    assert!(night > 20 && day > 5 * night, "night {night}, day {day}");
    let weekend = created
        .iter()
        .filter(|l| {
            matches!(
                local(l.occurred_at, tz).weekday(),
                Weekday::Sat | Weekday::Sun
            )
        })
        .count();
    assert_eq!(weekend, 4 * 100);
    let channels: HashSet<&str> = created
        .iter()
        .filter_map(|l| l.channel.as_deref())
        .collect();
    assert_eq!(
        channels,
        HashSet::from(["website", "paid_ads", "phone", "referral"])
    );
    let emails = created.iter().filter(|l| l.email.is_some()).count();
    assert!(emails > created.len() / 5 && emails < created.len() * 4 / 5);
    for lead in &created {
        assert_eq!(lead.created_at, Some(lead.occurred_at));
    }
}

#[test]
fn calls_look_like_a_pbx_wrote_them() {
    let dataset = generate(&GenConfig::default());
    let calls = &dataset.calls;
    let outbound: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound)
        .collect();
    let answered = outbound
        .iter()
        .filter(|c| c.disposition == Disposition::Answered)
        .count();
    let rate = answered as f64 / outbound.len() as f64;
    assert!((0.2..0.4).contains(&rate), "answer rate {rate}");
    for call in calls {
        let answered = call.disposition == Disposition::Answered;
        assert_eq!(answered, call.recording_url.is_some());
        assert_eq!(answered, call.talk_seconds > 0);
        assert!(call.talk_seconds <= 900);
    }
    let talk = |f: &dyn Fn(u32) -> bool| calls.iter().filter(|c| f(c.talk_seconds)).count();
    assert!(talk(&|s| s > 0 && s < 30) > 50, "voicemail and hang-ups");
    assert!(talk(&|s| s == 30) > 5, "exactly 30 s, not a touch");
    assert!(talk(&|s| s >= 60) > 300, "real conversations");
    assert!(
        calls
            .iter()
            .filter(|c| c.direction == Direction::Inbound)
            .count()
            > 50
    );
    let unbound: Vec<&CallRecord> = calls.iter().filter(|c| c.lead_id.is_none()).collect();
    assert!(!unbound.is_empty());
    assert!(
        unbound
            .iter()
            .all(|c| c.phone.len() == 11 && c.phone.bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(calls.iter().any(|c| c.disposition == Disposition::Busy));
    assert!(calls.iter().any(|c| c.disposition == Disposition::Failed));
    let staff: HashSet<&str> = calls
        .iter()
        .filter_map(|c| c.manager_id.as_deref())
        .collect();
    assert!(
        staff
            .iter()
            .all(|m| m.starts_with('m') || m.starts_with("qc"))
    );
    assert!(
        staff.len() <= 20 + 2,
        "a bounded set of managers and QC operators"
    );
}

#[test]
fn lead_lifecycles_cover_the_regulation() {
    let dataset = generate(&GenConfig::default());
    let mut stages: HashMap<&str, usize> = HashMap::new();
    let mut reasons: HashSet<&str> = HashSet::new();
    for event in &dataset.leads {
        *stages.entry(&event.stage).or_default() += 1;
        assert_eq!(event.stage == "JUNK", event.rejection_reason.is_some());
        reasons.extend(event.rejection_reason.as_deref());
    }
    for stage in ["NEW", "IN_PROCESS", "PROCESSED", "CONVERTED", "JUNK"] {
        assert!(
            stages.get(stage).copied().unwrap_or(0) > 20,
            "{stage}: {stages:?}"
        );
    }
    assert_eq!(
        reasons,
        HashSet::from(["не берет трубку", "неверный номер", "не интересно", "дубль"])
    );
    // QC returns: JUNK then IN_PROCESS with another manager, who dials again.
    let mut history: HashMap<&str, Vec<&LeadEvent>> = HashMap::new();
    for event in &dataset.leads {
        history.entry(&event.lead_id).or_default().push(event);
    }
    let phones: HashMap<&str, &str> = dataset
        .leads
        .iter()
        .filter_map(|l| Some((&*l.lead_id, l.phone.as_deref()?)))
        .collect();
    let digits = |phone: &str| -> String {
        let all: String = phone.chars().filter(char::is_ascii_digit).collect();
        all[all.len() - 10..].to_owned()
    };
    let mut returns = 0;
    let mut rejections = 0;
    for events in history.values_mut() {
        events.sort_by_key(|e| e.occurred_at);
        events.dedup_by(|a, b| a.event_id == b.event_id);
        rejections += events.iter().filter(|e| e.stage == "JUNK").count();
        for pair in events.windows(2) {
            if pair[0].stage == "JUNK" && pair[1].stage == "IN_PROCESS" {
                assert_ne!(pair[0].manager_id, pair[1].manager_id);
                let back = pair[1].occurred_at;
                let new_manager = pair[1].manager_id.as_deref();
                let lead = &*pair[1].lead_id;
                let redialed = dataset.calls.iter().any(|c| {
                    // Hand-dialled calls carry no lead_id: match those by phone.
                    let ours = match c.lead_id.as_deref() {
                        Some(id) => id == lead,
                        None => digits(&c.phone) == digits(phones[lead]),
                    };
                    ours && c.started_at > back && c.manager_id.as_deref() == new_manager
                });
                assert!(
                    redialed,
                    "a returned lead is dialed again by the new manager"
                );
                returns += 1;
            }
        }
    }
    let share = f64::from(returns) / rejections as f64;
    assert!(
        (0.1..0.3).contains(&share),
        "QC returns {returns} of {rejections} rejections"
    );
}

#[test]
fn first_attempts_mostly_within_fifteen_working_minutes() {
    let config = GenConfig::default();
    let tz = config.timezone;
    let dataset = generate(&config);
    let created = creations(&dataset);
    let mut first: HashMap<&str, Timestamp> = HashMap::new();
    for call in dataset
        .calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound)
    {
        if let Some(lead) = call.lead_id.as_deref() {
            let entry = first.entry(lead).or_insert(call.started_at);
            *entry = (*entry).min(call.started_at);
        }
    }
    // Leads created on a weekday between 09:00 and 17:00: the SLA clock runs straight away.
    let (mut fast, mut total) = (0, 0);
    for (lead, at) in &created {
        let t = local(*at, tz);
        if !in_working_hours(*at, tz) || t.hour() >= 17 {
            continue;
        }
        if let Some(call) = first.get(lead.as_str()) {
            total += 1;
            fast += usize::from(call.millis() - at.millis() <= 15 * 60_000);
        }
    }
    let share = fast as f64 / total as f64;
    assert!(
        total > 200 && (0.6..0.95).contains(&share),
        "{fast} of {total} on time"
    );
}

#[test]
fn managers_differ_in_diligence() {
    let config = GenConfig {
        days: 15,
        ..GenConfig::default()
    };
    let tz = config.timezone;
    let profiles = generator::managers(&config);
    assert_eq!(profiles.len(), 20);
    assert_eq!(profiles[0].id, "m01");
    assert_eq!(profiles[19].id, "m20");
    assert!(profiles.iter().all(|m| (0.3..=1.0).contains(&m.diligence)));
    let dataset = generate(&config);
    // Attempts per (manager, lead, local day) on days the manager dialed the lead at all.
    let mut per_day: HashMap<(&str, &str, NaiveDate), u32> = HashMap::new();
    for call in dataset
        .calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound)
    {
        if let (Some(manager), Some(lead)) = (call.manager_id.as_deref(), call.lead_id.as_deref()) {
            let day = local(call.started_at, tz).date_naive();
            *per_day.entry((manager, lead, day)).or_default() += 1;
        }
    }
    let average = |id: &str| {
        let days: Vec<u32> = per_day
            .iter()
            .filter(|(k, _)| k.0 == id)
            .map(|(_, n)| *n)
            .collect();
        f64::from(days.iter().sum::<u32>()) / days.len() as f64
    };
    let best = profiles
        .iter()
        .max_by(|a, b| a.diligence.total_cmp(&b.diligence))
        .unwrap();
    let worst = profiles
        .iter()
        .min_by(|a, b| a.diligence.total_cmp(&b.diligence))
        .unwrap();
    let (good, bad) = (average(&best.id), average(&worst.id));
    assert!(
        good > 2.4 && bad < 1.9 && good > 1.5 * bad,
        "best {good:.2}, worst {bad:.2}"
    );
    // Sloppy managers reject after a few attempts, diligent ones after many.
    let attempts_before_no_answer = |id: &str| {
        let rejected: Vec<&LeadEvent> = dataset
            .leads
            .iter()
            .filter(|l| l.rejection_reason.as_deref() == Some("не берет трубку"))
            .filter(|l| l.manager_id.as_deref() == Some(id))
            .collect();
        let attempts: usize = rejected
            .iter()
            .map(|l| {
                per_day
                    .iter()
                    .filter(|(k, _)| k.1 == &*l.lead_id && k.0 == id)
                    .map(|(_, n)| *n as usize)
                    .sum::<usize>()
            })
            .sum();
        attempts as f64 / rejected.len().max(1) as f64
    };
    let (patient, hasty) = (
        attempts_before_no_answer(&best.id),
        attempts_before_no_answer(&worst.id),
    );
    assert!(
        patient > 12.0 && hasty < 7.0,
        "patient {patient:.1}, hasty {hasty:.1}"
    );
}
