//! A real Prometheus (Debian package) scraping a live `dozvon run` fed by the generator through
//! the test broker: every dashboard query parses and returns data, every alert rule loads and
//! evaluates cleanly, and every metric docs/metrics.md lists is exported.

mod support;

use std::time::{Duration, Instant};

use support::dataset::Generated;
use support::http::metrics;
use support::prometheus::{
    Prometheus, alert_rules, dashboard_exprs, documented_metrics, repo_root,
};
use support::{Service, Topics, produce};

#[test]
fn dashboards_alerts_and_documented_metrics_against_a_live_instance() {
    let data = Generated::new();
    let topics = Topics::new("prom");
    data.publish(&topics, 2);
    // Two records no decoder accepts, so the dead-letter series exist too.
    produce(
        &topics.calls,
        &[
            (Some("x".to_owned()), b"not json".to_vec()),
            (Some("y".to_owned()), b"{\"call_id\": 1}".to_vec()),
        ],
    );
    let service = Service::start(&support::service_config(&topics, "exactly_once", ""), &[]);
    let target = service.http_address();
    let prometheus = Prometheus::start_with_rules(
        std::slice::from_ref(&target),
        &[repo_root().join("prometheus/alerts.yml")],
    );
    prometheus.wait_until_up(&target, Duration::from_secs(60));
    // Work done and visible: findings published, dead letters counted, the consumer lag
    // reported (librdkafka statistics come every 5 s).
    for (promql, what) in [
        ("sum(dozvon_findings_total) > 100", "findings"),
        ("sum(dozvon_dead_letters_total) == 2", "dead letters"),
        ("dozvon_consumer_lag_records", "consumer lag"),
        ("dozvon_leads_tracked", "state gauges"),
    ] {
        let found = prometheus.wait_for(promql, Duration::from_secs(120), |s| !s.is_empty());
        assert!(!found.is_empty(), "{what}");
    }
    // A few more scrapes, so every rate() window holds several samples.
    std::thread::sleep(Duration::from_secs(4));

    let exprs = dashboard_exprs();
    assert!(
        exprs.len() >= 20,
        "the dashboards have panels: {}",
        exprs.len()
    );
    let mut failures = Vec::new();
    for expr in &exprs {
        let promql = expr.promql();
        match prometheus.query(&promql) {
            Ok(result) if result.is_empty() => {
                failures.push(format!("{}: empty result for {promql}", expr.source));
            }
            Ok(_) => {}
            Err(error) => failures.push(format!("{}: {error} for {promql}", expr.source)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries failed:\n{}",
        failures.len(),
        exprs.len(),
        failures.join("\n")
    );

    // Every alert rule is loaded and has been evaluated without error.
    let expected = alert_rules().len();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let groups = prometheus.rule_groups().expect("/api/v1/rules");
        let rules: Vec<&serde_json::Value> = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let healthy = rules.iter().filter(|r| r["health"] == "ok").count();
        let broken: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] == "err")
            .map(|r| format!("{}: {}", r["name"], r["lastError"]))
            .collect();
        assert!(broken.is_empty(), "alert rules failing: {broken:?}");
        if rules.len() == expected && healthy == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{healthy} of {expected} rules evaluated ({} loaded)",
            rules.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Every documented metric is exported (histograms through their _count series).
    let (text, _) = metrics(&service);
    let missing: Vec<&str> = documented_metrics()
        .0
        .iter()
        .copied()
        .filter(|name| {
            let exported = |series: &str| {
                text.lines()
                    .any(|l| l.starts_with(series) && l[series.len()..].starts_with(['{', ' ']))
            };
            !exported(name) && !exported(&format!("{name}_count"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "documented but not exported: {missing:?}\n{text}"
    );
}
