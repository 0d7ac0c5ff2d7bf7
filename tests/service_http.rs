//! `dozvon run`'s HTTP endpoint against a real broker: `/healthz`, `/readyz` once the tasks are
//! restored, and `/metrics` whose counters agree with what was consumed and published.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::dataset::{UNTIL, fixture};
use support::{Reader, Service, Topics, create_topics, ndjson_records, produce};

/// GET `url`: the status and body (any status; no error for 503).
fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut response = agent.get(url).call().expect("HTTP answer");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().expect("text body");
    (status, body)
}

/// The samples of a Prometheus text exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn metrics_and_health_agree_with_the_work_done() {
    let dir = fixture("spec-7");
    let (calls, leads) = (dir.join("calls.ndjson"), dir.join("leads.ndjson"));
    let (want_violations, want_reviews) = support::replay(&calls, &leads, UNTIL);
    let (call_records, lead_records) = (ndjson_records(&calls), ndjson_records(&leads));
    let topics = Topics::new("http");
    create_topics(&[&topics.calls, &topics.leads], 1);
    produce(&topics.calls, &call_records);
    produce(&topics.leads, &lead_records);
    let mut service = Service::start(&support::service_config(&topics, "exactly_once", ""), &[]);
    let base = format!("http://{}", service.http_address());
    assert_eq!(get(&format!("{base}/healthz")), (200, "ok\n".to_owned()));
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 1);
    let (nv, nr) = (want_violations.len(), want_reviews.len());
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.violations].len() >= nv && r[&topics.qc_reviews].len() >= nr,
        || service.log_text(),
    );
    reader.read_for(Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&format!("{base}/readyz")).0 != 200 {
        assert!(Instant::now() < deadline, "not ready within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, text) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    let metrics = samples(&text);
    let value = |series: &str| metrics.get(series).copied().unwrap_or(0.0);
    let consumed = |input: &str| -> f64 {
        ["ok", "late", "duplicate", "unresolved", "dead_lettered"]
            .iter()
            .map(|result| {
                value(&format!(
                    "dozvon_input_records_total{{input=\"{input}\",result=\"{result}\"}}"
                ))
            })
            .sum()
    };
    assert_eq!(consumed("calls"), call_records.len() as f64, "{text}");
    assert_eq!(consumed("leads"), lead_records.len() as f64, "{text}");
    let violations = reader.payloads(&topics.violations);
    let retractions = violations
        .iter()
        .filter(|v| v["rule"] == "retraction")
        .count();
    assert_eq!(
        value("dozvon_findings_total{kind=\"violation\"}"),
        (violations.len() - retractions) as f64,
        "{text}"
    );
    assert_eq!(
        value("dozvon_findings_total{kind=\"retraction\"}"),
        retractions as f64
    );
    assert_eq!(
        value("dozvon_findings_total{kind=\"qc_review\"}"),
        reader.payloads(&topics.qc_reviews).len() as f64
    );
    assert!(value("dozvon_commits_total") >= 1.0, "{text}");
    assert_eq!(value("dozvon_ready"), 1.0);
    assert_eq!(
        value(&format!(
            "dozvon_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    // Every family follows the conventions: the dozvon_ prefix, counters end in _total.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut parts = line.split_whitespace().skip(2);
        let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        assert!(name.starts_with("dozvon_"), "{line}");
        assert!(kind != "counter" || name.ends_with("_total"), "{line}");
    }
    assert_eq!(service.terminate(), Some(0));
}
