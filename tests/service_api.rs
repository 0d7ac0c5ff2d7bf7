//! The query API, state metrics and status page of `dozvon run` against a real broker: the
//! SPEC §7 scenario published up to Wednesday afternoon, then up to Thursday afternoon.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::browser;
use support::http::{get, metrics, samples};
use support::{Service, Topics, create_topics, produce};

const TENANT_FREE: &str = "default";

fn call(id: &str, lead: &str, manager: &str, at: &str) -> (Option<String>, Vec<u8>) {
    let value = serde_json::json!({
        "call_id": id, "lead_id": lead, "phone": "+7 999 123-45-67", "manager_id": manager,
        "direction": "outbound", "started_at": at, "talk_seconds": 0, "disposition": "no_answer",
    });
    (Some(lead.to_owned()), value.to_string().into_bytes())
}

fn stage(id: &str, lead: &str, manager: &str, at: &str, stage: &str) -> (Option<String>, Vec<u8>) {
    let value = serde_json::json!({
        "event_id": id, "lead_id": lead, "occurred_at": at, "stage": stage, "manager_id": manager,
        "rejection_reason": "не берет трубку",
    });
    (Some(lead.to_owned()), value.to_string().into_bytes())
}

/// Moves both inputs' event time to `at` with records of an unrelated lead.
fn clock_marker(topics: &Topics, n: u32, at: &str) {
    let lead = format!("marker-{n}");
    produce(
        &topics.leads,
        &[stage(&format!("m{n}"), &lead, "M2", at, "NEW")],
    );
    produce(&topics.calls, &[call(&format!("mc{n}"), &lead, "M2", at)]);
}

fn json(url: &str) -> (u16, Value) {
    let (status, body) = get(url);
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    (status, value)
}

/// Polls the due list until its date is `date` (the service has caught up to that day).
fn due_list_on(base: &str, date: &str, service: &Service) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, list) = json(&format!("{base}/api/v1/leads?no_attempt_today=true"));
        if status == 200 && list["date"] == date {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "no due list for {date}: {status} {list}\n{}",
            service.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn lead_ids(list: &Value) -> Vec<&str> {
    list["leads"]
        .as_array()
        .expect("leads array")
        .iter()
        .map(|l| l["lead_id"].as_str().expect("lead_id"))
        .collect()
}

fn manager<'a>(cards: &'a Value, id: &str) -> &'a Value {
    cards["managers"]
        .as_array()
        .expect("managers array")
        .iter()
        .find(|c| c["manager_id"] == id)
        .unwrap_or_else(|| panic!("manager {id} in {cards}"))
}

/// Waits until `/metrics` has `series` at `value` (state gauges refresh every 5 s).
fn metric_reaches(service: &Service, series: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (text, samples) = metrics(service);
        if samples.get(series) == Some(&value) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never became {value}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn answers_the_spec_scenario_on_wednesday_and_thursday() {
    let topics = Topics::new("api");
    create_topics(&[&topics.calls, &topics.leads], 1);
    produce(
        &topics.leads,
        &[stage("l1", "L", "M", "2026-03-02T10:00:00+03:00", "NEW")],
    );
    let calls: Vec<_> = [
        "2026-03-02T10:10:00+03:00",
        "2026-03-02T13:00:00+03:00",
        "2026-03-02T17:00:00+03:00",
        "2026-03-03T10:00:00+03:00",
        "2026-03-03T15:00:00+03:00",
    ]
    .iter()
    .enumerate()
    .map(|(i, at)| call(&format!("c{}", i + 1), "L", "M", at))
    .collect();
    produce(&topics.calls, &calls);
    clock_marker(&topics, 1, "2026-03-04T15:00:00+03:00");
    // Event time, not the wall clock, decides "today": partitions must not go idle.
    let config = support::service_config(&topics, "exactly_once", "[log]\nformat = \"json\"")
        .replace("idle_timeout = \"1s\"", "idle_timeout = \"1h\"");
    let service = Service::start(&config, &[]);
    let base = format!("http://{}", service.http_address());

    // Wednesday: L has no attempt yet (SPEC §7: the day will get `no_attempts_today`).
    let list = due_list_on(&base, "2026-03-04", &service);
    assert_eq!(lead_ids(&list), ["L"], "{list}");
    assert_eq!(list["business_day"], true);
    assert_eq!(list["instance"]["partitions"], serde_json::json!([0]));
    let l = &list["leads"][0];
    assert_eq!(
        (&l["manager_id"], &l["day_of_period"], &l["attempts_today"]),
        (&Value::from("M"), &Value::from(3), &Value::from(0))
    );
    let (_, mine) = json(&format!(
        "{base}/api/v1/leads?no_attempt_today=true&manager=M"
    ));
    assert_eq!(lead_ids(&mine), ["L"]);
    let (_, theirs) = json(&format!(
        "{base}/api/v1/leads?tenant={TENANT_FREE}&manager=M2"
    ));
    assert!(
        lead_ids(&theirs).is_empty(),
        "M2's lead came after the cutoff: {theirs}"
    );

    let (status, lead) = json(&format!("{base}/api/v1/leads/default/L"));
    assert_eq!(status, 200, "{lead}");
    let lead = &lead["lead"];
    assert_eq!(
        (&lead["stage"], &lead["first_call_sla"]),
        (&Value::from("NEW"), &Value::from("met"))
    );
    let days: Vec<(i64, &str)> = lead["episode"]["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| {
            (
                d["attempts"].as_i64().expect("n"),
                d["status"].as_str().expect("s"),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            (3, "compliant"),
            (2, "violation"),
            (0, "open"),
            (0, "upcoming"),
            (0, "upcoming")
        ]
    );
    assert_eq!(lead["episode"]["attempts_total"], 5);

    let (_, cards) = json(&format!("{base}/api/v1/managers?tenant=default"));
    let m = manager(&cards, "M");
    assert_eq!(
        (&m["days_judged"], &m["days_compliant"]),
        (&Value::from(2), &Value::from(1))
    );
    assert_eq!(m["violations"]["daily_attempts_shortfall"], 1);
    assert_eq!(
        (&m["leads_due_today"], &m["leads_no_attempt_today"]),
        (&Value::from(1), &Value::from(1))
    );
    assert_eq!(m["compliant_days_percent"], 50.0);

    // Bad requests get a 400 with a JSON error; unknown things a 404.
    for bad in [
        "/api/v1/leads?no_attempt_today=maybe",
        "/api/v1/leads?limit=0",
        "/api/v1/leads?bogus=1",
        "/api/v1/leads?manager=",
        "/api/v1/managers?tenant=default&tenant=x",
    ] {
        let (status, body) = json(&format!("{base}{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{bad}: {body}"
        );
    }
    for missing in [
        "/api/v1/leads/default/nobody",
        "/api/v1/managers?tenant=nowhere",
    ] {
        let (status, body) = json(&format!("{base}{missing}"));
        assert_eq!(status, 404, "{missing}: {body}");
        assert!(body["error"].is_string());
    }

    // The status page in a real browser: L is on Wednesday's not-called list.
    let dom = browser::dom(&format!("{base}/"));
    let table = dom
        .split("id=\"no-attempt\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_else(|| panic!("no not-called table:\n{dom}"));
    assert!(
        table.contains("<td>L</td>") && table.contains("<td>M</td>"),
        "{table}"
    );
    assert!(dom.contains("id=\"managers\"") && dom.contains("id=\"qc-inflow\""));
    assert!(
        dom.contains("http-equiv=\"refresh\""),
        "the page refreshes itself"
    );
    let shot = tempfile::tempdir().expect("tempdir");
    browser::screenshot(
        &format!("{base}/"),
        &shot.path().join("phone.png"),
        390,
        844,
    );

    metric_reaches(
        &service,
        "dozvon_leads_no_attempt_today{tenant=\"default\"}",
        1.0,
    );
    metric_reaches(
        &service,
        "dozvon_manager_days_judged{manager=\"M\",tenant=\"default\"}",
        2.0,
    );

    // Thursday 11:00: L is rejected after 5 of 15 attempts.
    produce(
        &topics.leads,
        &[stage("l2", "L", "M", "2026-03-05T11:00:00+03:00", "JUNK")],
    );
    clock_marker(&topics, 2, "2026-03-05T15:00:00+03:00");
    let list = due_list_on(&base, "2026-03-05", &service);
    assert!(
        !lead_ids(&list).contains(&"L"),
        "a rejected lead is not due: {list}"
    );
    let (_, lead) = json(&format!("{base}/api/v1/leads/default/L"));
    assert_eq!(
        (&lead["lead"]["stage"], &lead["lead"]["stage_kind"]),
        (&Value::from("JUNK"), &Value::from("rejected"))
    );
    let (_, cards) = json(&format!("{base}/api/v1/managers"));
    let m = manager(&cards, "M");
    assert_eq!(m["days_judged"], 3, "{m}");
    for rule in [
        "daily_attempts_shortfall",
        "no_attempts_today",
        "premature_rejection",
    ] {
        assert_eq!(m["violations"][rule], 1, "{rule}: {m}");
    }

    // Per-manager counters of the published findings, and the service metrics around them.
    metric_reaches(
        &service,
        "dozvon_manager_findings_total{manager=\"M\",rule=\"premature_rejection\",tenant=\"default\"}",
        1.0,
    );
    metric_reaches(
        &service,
        "dozvon_manager_days_judged{manager=\"M\",tenant=\"default\"}",
        3.0,
    );
    let (text, all) = metrics(&service);
    let findings: f64 = all
        .iter()
        .filter(|(s, _)| s.starts_with("dozvon_findings_total{"))
        .map(|(_, v)| v)
        .sum();
    assert!(findings >= 4.0, "{text}");
    assert_eq!(
        all.get("dozvon_finding_latency_seconds_count"),
        Some(&findings),
        "one latency sample per published finding:\n{text}"
    );
    assert!(
        all.get("dozvon_commit_duration_seconds_count")
            .is_some_and(|n| *n >= 1.0)
    );
    assert!(
        all.get("dozvon_restore_duration_seconds_count")
            .is_some_and(|n| *n >= 1.0)
    );
    assert!(
        all.contains_key("dozvon_watermark_lag_seconds{partition=\"0\"}"),
        "{text}"
    );
    json_logs_with_spans(&service.log_text());

    // librdkafka reports statistics every 5 s; the consumer is caught up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lag_series = format!(
        "dozvon_consumer_lag_records{{partition=\"0\",topic=\"{}\"}}",
        topics.calls
    );
    loop {
        let (text, _) = metrics(&service);
        if samples(&text).get(&lag_series) == Some(&0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no consumer lag of 0 for {lag_series}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `[log] format = "json"`: every line is a JSON object; the restore lines carry their span's
/// partition; nothing is logged per record at info level.
fn json_logs_with_spans(log: &str) {
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["fields"].is_object())
    );
    let restored = lines
        .iter()
        .find(|l| l["fields"]["message"] == "task restored")
        .unwrap_or_else(|| panic!("no restore line:\n{log}"));
    assert_eq!(restored["span"]["name"], "restore", "{restored}");
    assert_eq!(restored["span"]["partition"], 0, "{restored}");
    let info = lines.iter().filter(|l| l["level"] == "INFO").count();
    assert!(info < 30, "{info} info lines for 12 records:\n{log}");
}
