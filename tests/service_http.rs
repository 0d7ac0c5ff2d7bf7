//! `dozvon run`'s HTTP endpoint against a real broker: `/healthz`, `/readyz` once the tasks are
//! restored, and `/metrics` whose counters agree with what was consumed and published.

mod support;

use std::time::{Duration, Instant};

use support::compare::read_findings;
use support::dataset::{UNTIL, fixture};
use support::http::{get, metrics, sum};
use support::{Reader, Service, Topics, create_topics, ndjson_records, produce};

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
    let want = (want_violations.len(), want_reviews.len());
    read_findings(&mut reader, &topics, want, Duration::from_secs(120), || {
        service.log_text()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&format!("{base}/readyz")).0 != 200 {
        assert!(Instant::now() < deadline, "not ready within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (text, metrics) = metrics(&service);
    let value = |series: &str| metrics.get(series).copied().unwrap_or(0.0);
    let consumed = |input: &str| {
        sum(
            &metrics,
            &format!("dozvon_input_records_total{{input=\"{input}\","),
        )
    };
    assert_eq!(consumed("calls"), call_records.len() as f64, "{text}");
    assert_eq!(consumed("leads"), lead_records.len() as f64, "{text}");
    let violations = reader.payloads(&topics.violations);
    let reviews = reader.payloads(&topics.qc_reviews);
    // Per rule: every published finding is counted under its kind and rule.
    let mut want: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for v in &violations {
        let rule = v["rule"].as_str().expect("rule");
        let kind = if rule == "retraction" {
            "retraction"
        } else {
            "violation"
        };
        *want
            .entry(format!(
                "dozvon_findings_total{{kind=\"{kind}\",rule=\"{rule}\"}}"
            ))
            .or_default() += 1.0;
    }
    for r in &reviews {
        let kind = r["kind"].as_str().expect("kind");
        *want
            .entry(format!(
                "dozvon_findings_total{{kind=\"qc_review\",rule=\"{kind}\"}}"
            ))
            .or_default() += 1.0;
    }
    let got: std::collections::BTreeMap<String, f64> = metrics
        .iter()
        .filter(|(series, value)| series.starts_with("dozvon_findings_total{") && **value > 0.0)
        .map(|(series, value)| (series.clone(), *value))
        .collect();
    assert_eq!(got, want, "{text}");
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
