//! Two tenants in one engine (issue 7, item 4): the same lead id in each, different time zones,
//! holiday calendars and rule overrides — each tenant's findings follow its own settings only.

use std::borrow::Cow;
use std::sync::Arc;

use dozvon::config::Config;
use dozvon::model::{
    CallRecord, Direction, Disposition, Finding, InputEvent, LeadEvent, Rule, Timestamp,
};
use dozvon::replay::run_events;

/// Moscow (UTC+3) keeps Monday 2026-03-09 as a holiday; Vladivostok (UTC+10) works that day and
/// asks for 2 attempts a day instead of 3.
const CONFIG: &str = r#"
[tenants.msk.calendar]
timezone = "Europe/Moscow"
holidays = ["2026-03-09"]

[tenants.vl.calendar]
timezone = "Asia/Vladivostok"
holidays = []

[tenants.vl.rules]
daily_attempts = 2
"#;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("test timestamp")
}

fn created(tenant: &'static str, lead: &str, at: &str) -> InputEvent<'static> {
    InputEvent::Lead(LeadEvent {
        event_id: Cow::Owned(format!("{tenant}-{lead}-new")),
        tenant: Some(Cow::Borrowed(tenant)),
        lead_id: Cow::Owned(lead.into()),
        occurred_at: ts(at),
        stage: Cow::Borrowed("NEW"),
        manager_id: Some(Cow::Borrowed("m1")),
        created_at: None,
        channel: None,
        phone: None,
        email: None,
        rejection_reason: None,
    })
}

fn attempt(tenant: &'static str, id: &str, lead: &str, at: &str) -> InputEvent<'static> {
    InputEvent::Call(CallRecord {
        call_id: Cow::Owned(id.into()),
        tenant: Some(Cow::Borrowed(tenant)),
        lead_id: Some(Cow::Owned(lead.into())),
        phone: Cow::Borrowed("+7 999 000-00-01"),
        manager_id: Some(Cow::Borrowed("m1")),
        direction: Direction::Outbound,
        started_at: ts(at),
        talk_seconds: 0,
        disposition: Disposition::NoAnswer,
        recording_url: None,
    })
}

/// The same story in both tenants, in each one's local time: lead L1 created Friday
/// 2026-03-06 10:00, called at 10:05 and 11:05, then not at all. Call ids are unique per call
/// (the PBX's), so they differ between the tenants.
fn events() -> Vec<InputEvent<'static>> {
    let mut events = Vec::new();
    for (tenant, offset) in [("msk", "+03:00"), ("vl", "+10:00")] {
        events.push(created(
            tenant,
            "L1",
            &format!("2026-03-06T10:00:00{offset}"),
        ));
        for (n, time) in ["10:05", "11:05"].iter().enumerate() {
            events.push(attempt(
                tenant,
                &format!("{tenant}-c{n}"),
                "L1",
                &format!("2026-03-06T{time}:00{offset}"),
            ));
        }
    }
    events.sort_by_key(InputEvent::event_time);
    events
}

/// (tenant, rule, business day, attempts on the day) of every violation.
fn violations(findings: &[Finding]) -> Vec<(String, Rule, String, Option<u32>)> {
    let mut out: Vec<_> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Violation(v) => Some((
                v.tenant.clone(),
                v.rule,
                v.business_day.map(|d| d.to_string()).unwrap_or_default(),
                v.attempts_on_day,
            )),
            Finding::Qc(_) => None,
        })
        .collect();
    out.sort();
    out
}

#[test]
fn tenants_keep_their_own_state_calendars_and_rules() {
    let config = Config::from_toml_str(CONFIG).expect("config");
    // Tuesday 15:00 UTC: Vladivostok's Tuesday closed at 14:10 UTC (midnight + 10 min
    // allowed lateness), Moscow's closes at 21:10 UTC.
    let findings =
        run_events(Arc::new(config), events(), Some(ts("2026-03-10T15:00:00Z"))).expect("engine");
    let got = violations(&findings);
    let want = vec![
        // Moscow: 2 of 3 on Friday — its own L1's two calls, not the four of both tenants.
        // Monday is a holiday, Tuesday has not closed yet.
        (
            "msk".to_owned(),
            Rule::DailyAttemptsShortfall,
            "2026-03-06".to_owned(),
            Some(2),
        ),
        // Vladivostok: 2 of 2 on Friday is compliant; Monday is a working day there, and
        // Tuesday has closed.
        (
            "vl".to_owned(),
            Rule::NoAttemptsToday,
            "2026-03-09".to_owned(),
            Some(0),
        ),
        (
            "vl".to_owned(),
            Rule::NoAttemptsToday,
            "2026-03-10".to_owned(),
            Some(0),
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn one_tenants_events_do_not_move_the_others_clock() {
    // Only Vladivostok's events, with Moscow's configured: Moscow has no lead and no finding;
    // Vladivostok's are the same as with Moscow's events interleaved.
    let config = Arc::new(Config::from_toml_str(CONFIG).expect("config"));
    let until = Some(ts("2026-03-10T15:00:00Z"));
    let only_vl: Vec<_> = events()
        .into_iter()
        .filter(|e| match e {
            InputEvent::Call(c) => c.tenant.as_deref() == Some("vl"),
            InputEvent::Lead(l) => l.tenant.as_deref() == Some("vl"),
        })
        .collect();
    let alone = violations(&run_events(Arc::clone(&config), only_vl, until).expect("engine"));
    let together: Vec<_> = violations(&run_events(config, events(), until).expect("engine"))
        .into_iter()
        .filter(|v| v.0 == "vl")
        .collect();
    assert_eq!(alone, together);
    assert_eq!(alone.len(), 2, "{alone:?}");
}
