//! Checks the operations files: Prometheus config and alerts (promtool), Grafana dashboards and provisioning, docker-compose, Dockerfile, deploy config.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use support::prometheus::{
    OpsExpr, alert_exprs, alert_rules, dashboard_exprs, dashboard_files, documented_metrics,
    load_dashboard, load_yaml, panels, repo_root,
};
use yaml_rust2::Yaml;

/// The metrics dozvon exports: docs/metrics.md is the contract.
fn contract() -> &'static [&'static str] {
    &documented_metrics().0
}

/// The contract's histograms: their series are `NAME_bucket`, `NAME_sum` and `NAME_count`.
fn histograms() -> &'static [&'static str] {
    &documented_metrics().1
}

const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

fn path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// `promtool` (Debian package `prometheus`); fails the test, never skips, when missing.
fn promtool(args: &[&str]) -> (bool, String) {
    let binary = std::env::var("DOZVON_PROMTOOL").unwrap_or_else(|_| "promtool".to_owned());
    let output = Command::new(&binary)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {binary} ({e}): install the Debian `prometheus` package \
                 (apt-get install prometheus; scripts/test.sh installs it) or set DOZVON_PROMTOOL"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The metric names (`dozvon_...` identifiers) an expression mentions.
fn dozvon_metrics(expr: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    for (at, _) in expr.match_indices("dozvon_") {
        if expr[..at].chars().next_back().is_some_and(is_ident) {
            continue; // inside another identifier
        }
        let rest = &expr[at..];
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        names.insert(rest[..end].to_owned());
    }
    names
}

/// A series name of the contract: a metric, or a histogram's `_bucket` / `_sum` / `_count`.
fn in_contract(name: &str) -> bool {
    contract().contains(&name)
        || HISTOGRAM_SUFFIXES.iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|base| contract().contains(&base) && histograms().contains(&base))
        })
}

/// Every metric outside the contract, with where it is used.
fn unknown_metrics(exprs: &[OpsExpr]) -> Vec<String> {
    exprs
        .iter()
        .flat_map(|e| {
            dozvon_metrics(&e.expr)
                .into_iter()
                .filter(|name| !in_contract(name))
                .map(move |name| format!("{}: {name} in {}", e.source, e.expr))
        })
        .collect()
}

#[test]
fn metric_name_scanner_finds_names_and_the_contract_check_rejects_strangers() {
    let names = dozvon_metrics(
        r#"histogram_quantile(0.9, sum by (le) (rate(dozvon_commit_duration_seconds_bucket{job="dozvon"}[5m]))) / dozvon_ready + my_dozvon_thing + dozvon_Foo2"#,
    );
    let expected: BTreeSet<String> = [
        "dozvon_commit_duration_seconds_bucket",
        "dozvon_ready",
        "dozvon_Foo2",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(names, expected);
    assert!(in_contract("dozvon_commit_duration_seconds_bucket"));
    assert!(in_contract("dozvon_findings_total"));
    assert!(
        !in_contract("dozvon_findings_total_count"),
        "not a histogram"
    );
    assert!(
        !in_contract("dozvon_watermark_lag_seconds_bucket"),
        "a gauge"
    );
    assert!(!in_contract("dozvon_Foo2"));
    assert!(!in_contract("dozvon_violations_total"));
    let bad = unknown_metrics(&[OpsExpr {
        source: "here".into(),
        expr: "rate(dozvon_violations_total[5m])".into(),
    }]);
    assert_eq!(bad.len(), 1, "{bad:?}");
}

// --- Prometheus ---------------------------------------------------------------------------

#[test]
fn prometheus_config_passes_promtool_and_scrapes_dozvon() {
    // promtool resolves rule_files relative to the config file, and checks them too.
    let (ok, output) = promtool(&["check", "config", "prometheus/prometheus.yml"]);
    assert!(ok, "promtool check config failed:\n{output}");
    assert!(
        output.contains("SUCCESS: 1 rule files found"),
        "alerts.yml is loaded: {output}"
    );

    let config = load_yaml(&path("prometheus/prometheus.yml"));
    let rule_files: Vec<&str> = config["rule_files"]
        .as_vec()
        .expect("rule_files")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(rule_files, ["alerts.yml"]);
    let jobs = config["scrape_configs"].as_vec().expect("scrape_configs");
    let dozvon = jobs
        .iter()
        .find(|job| job["job_name"].as_str() == Some("dozvon"))
        .expect("a scrape job named dozvon (the alerts select job=\"dozvon\")");
    assert_eq!(dozvon["scrape_interval"].as_str(), Some("5s"));
    let targets: Vec<&str> = dozvon["static_configs"][0]["targets"]
        .as_vec()
        .expect("targets")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(targets, ["dozvon:9464"]);
}

#[test]
fn alert_rules_pass_promtool_check() {
    let (ok, output) = promtool(&["check", "rules", "prometheus/alerts.yml"]);
    assert!(ok, "promtool check rules failed:\n{output}");
}

#[test]
fn alert_rules_unit_tests_pass() {
    let (ok, output) = promtool(&["test", "rules", "prometheus/alerts_test.yml"]);
    assert!(ok, "promtool test rules failed:\n{output}");
    assert!(output.contains("SUCCESS"), "{output}");
}

#[test]
fn every_alert_is_labelled_annotated_and_tested_both_ways() {
    let rules = alert_rules();
    let alerts: Vec<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    for name in [
        "DozvonInstanceDown",
        "DozvonNotReady",
        "DozvonConsumerLagGrowing",
        "DozvonDeadLetters",
        "DozvonNoInputDuringWorkingHours",
        "DozvonTransactionsAborting",
        "DozvonProducerRestarting",
    ] {
        assert!(
            alerts.contains(&name),
            "alert {name} is missing: {alerts:?}"
        );
    }
    for rule in &rules {
        let name = rule["alert"].as_str().expect("only alerting rules");
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{name}: severity {severity:?}"
        );
        for annotation in ["summary", "description"] {
            let text = rule["annotations"][annotation].as_str().unwrap_or_default();
            assert!(text.len() > 10, "{name}: annotation {annotation} missing");
        }
    }

    // Each alert has a case where it fires and one where it does not.
    let tests = load_yaml(&path("prometheus/alerts_test.yml"));
    assert_eq!(
        tests["rule_files"][0].as_str(),
        Some("alerts.yml"),
        "the tests load alerts.yml"
    );
    let mut cases: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for test in tests["tests"].as_vec().expect("tests") {
        for case in test["alert_rule_test"].as_vec().into_iter().flatten() {
            let name = case["alertname"].as_str().expect("alertname");
            let fires = case["exp_alerts"].as_vec().is_some_and(|v| !v.is_empty());
            let entry = cases.entry(name).or_default();
            if fires {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    for name in &alerts {
        let (firing, silent) = cases.get(name).copied().unwrap_or_default();
        assert!(
            firing >= 1 && silent >= 1,
            "{name}: {firing} firing and {silent} silent test cases in alerts_test.yml"
        );
    }
}

#[test]
fn alert_exprs_use_only_contract_metrics() {
    let exprs = alert_exprs();
    assert!(exprs.len() >= 7, "{exprs:?}");
    let bad = unknown_metrics(&exprs);
    assert!(
        bad.is_empty(),
        "metrics outside the contract:\n{}",
        bad.join("\n")
    );
}

// --- Grafana ------------------------------------------------------------------------------

/// The datasource uid of the provisioning file.
fn provisioned_datasource_uid() -> String {
    let datasources = load_yaml(&path("grafana/provisioning/datasources/prometheus.yml"));
    let list = datasources["datasources"].as_vec().expect("datasources");
    assert_eq!(list.len(), 1, "one datasource");
    assert_eq!(list[0]["type"].as_str(), Some("prometheus"));
    assert_eq!(
        list[0]["url"].as_str(),
        Some("http://prometheus:9090"),
        "the compose service"
    );
    list[0]["uid"].as_str().expect("a fixed uid").to_owned()
}

#[test]
fn dashboards_parse_and_every_panel_queries_the_provisioned_datasource() {
    let uid = provisioned_datasource_uid();
    let files = dashboard_files();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["dozvon-service.json", "sales-regulation.json"]);
    let mut uids = BTreeSet::new();
    for file in &files {
        let dashboard = load_dashboard(file);
        let text = std::fs::read_to_string(file).expect("read");
        assert!(
            !text.contains("${DS") && !text.contains("__inputs"),
            "{}: an export with datasource inputs does not load when provisioned",
            file.display()
        );
        let dashboard_uid = dashboard["uid"].as_str().expect("a fixed dashboard uid");
        assert!(
            uids.insert(dashboard_uid.to_owned()),
            "uid {dashboard_uid} twice"
        );
        assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
        let mut queried = 0;
        for panel in panels(&dashboard) {
            let title = &panel["title"];
            if panel["type"] == "row" {
                continue;
            }
            queried += 1;
            assert_eq!(
                panel["datasource"]["uid"].as_str(),
                Some(uid.as_str()),
                "{}: panel {title}",
                file.display()
            );
            let targets = panel["targets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            assert!(
                targets
                    .iter()
                    .any(|t| t["expr"].as_str().is_some_and(|e| !e.trim().is_empty())),
                "{}: panel {title} has no target with an expr",
                file.display()
            );
            for target in targets {
                let ds = target["datasource"]["uid"].as_str();
                assert!(ds.is_none() || ds == Some(uid.as_str()), "{title}: {ds:?}");
            }
            let grid = &panel["gridPos"];
            let (x, w) = (grid["x"].as_u64(), grid["w"].as_u64());
            assert!(
                matches!((x, w), (Some(x), Some(w)) if w > 0 && x + w <= 24),
                "{}: panel {title} gridPos {grid}",
                file.display()
            );
        }
        assert!(queried >= 10, "{}: {queried} panels", file.display());
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if variable["type"] == "query" {
                assert_eq!(
                    variable["datasource"]["uid"].as_str(),
                    Some(uid.as_str()),
                    "variable {}",
                    variable["name"]
                );
            }
        }
    }
}

#[test]
fn dashboard_exprs_use_only_contract_metrics() {
    let mut exprs = dashboard_exprs();
    // The variables' label_values() queries too.
    for file in dashboard_files() {
        let dashboard = load_dashboard(&file);
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(query) = variable["query"].as_str() {
                exprs.push(OpsExpr {
                    source: format!("{}: variable {}", file.display(), variable["name"]),
                    expr: query.to_owned(),
                });
            }
        }
    }
    assert!(exprs.len() >= 30, "{} exprs", exprs.len());
    let bad = unknown_metrics(&exprs);
    assert!(
        bad.is_empty(),
        "metrics outside the contract:\n{}",
        bad.join("\n")
    );

    // The dashboards show the contract: every metric is on one of them.
    let used: BTreeSet<String> = exprs
        .iter()
        .flat_map(|e| dozvon_metrics(&e.expr))
        .map(|name| {
            HISTOGRAM_SUFFIXES
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|base| contract().contains(base))
                .map_or(name.clone(), str::to_owned)
        })
        .collect();
    let unused: Vec<&&str> = contract().iter().filter(|m| !used.contains(**m)).collect();
    assert!(unused.is_empty(), "metrics on no dashboard: {unused:?}");
}

#[test]
fn dashboard_exprs_are_valid_promql() {
    let exprs = dashboard_exprs();
    // Grafana variables other than the built-ins are only used as regex matchers (=~"$x"),
    // which "All" (.*) and multi-value selections ((a|b)) keep valid.
    for e in &exprs {
        for (at, _) in e.expr.match_indices('$') {
            let before = &e.expr[..at];
            let after = &e.expr[at + 1..];
            assert!(
                after.starts_with("__") || before.ends_with("=~\""),
                "{}: variable outside a =~ matcher in {}",
                e.source,
                e.expr
            );
        }
    }
    // promtool parses every expression as a recording rule (Prometheus 2.42's parser).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let expr = serde_json::to_string(&e.promql()).expect("string");
        rules.push_str(&format!(
            "      - record: dashboard:expr_{i}\n        expr: {expr}\n"
        ));
    }
    let file = dir.path().join("dashboards.rules.yml");
    std::fs::write(&file, rules).expect("write rules");
    let (ok, output) = promtool(&["check", "rules", &file.to_string_lossy()]);
    assert!(ok, "a dashboard expr does not parse:\n{output}");
    assert!(
        output.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{output}"
    );
}

#[test]
fn grafana_provisioning_loads_the_dashboards_the_compose_file_mounts() {
    let providers = load_yaml(&path("grafana/provisioning/dashboards/dozvon.yml"));
    let provider = &providers["providers"][0];
    assert_eq!(provider["type"].as_str(), Some("file"));
    let dashboards_path = provider["options"]["path"]
        .as_str()
        .expect("a file provider path");

    let compose = load_yaml(&path("docker-compose.yml"));
    let volumes = compose_volumes(&compose["services"]["grafana"]);
    assert!(
        volumes.contains(&(
            "./grafana/dashboards".to_owned(),
            dashboards_path.to_owned()
        )),
        "grafana mounts the dashboards at the provider's path {dashboards_path}: {volumes:?}"
    );
    assert!(
        volumes.contains(&(
            "./grafana/provisioning".to_owned(),
            "/etc/grafana/provisioning".to_owned()
        )),
        "grafana mounts the provisioning: {volumes:?}"
    );
}

// --- docker-compose, Dockerfile, deploy config ----------------------------------------------

/// A service's bind mounts as (host path, container path).
fn compose_volumes(service: &Yaml) -> Vec<(String, String)> {
    service["volumes"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .filter_map(|v| {
            let mut parts = v.split(':');
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        })
        .collect()
}

/// The services a service waits for, with their conditions.
fn depends_on(service: &Yaml) -> BTreeMap<String, String> {
    service["depends_on"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(name, spec)| {
            Some((
                name.as_str()?.to_owned(),
                spec["condition"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn flat_command(service: &Yaml) -> String {
    match &service["command"] {
        Yaml::String(s) => s.clone(),
        Yaml::Array(parts) => parts
            .iter()
            .filter_map(Yaml::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        other => panic!("command {other:?}"),
    }
}

#[test]
fn compose_file_defines_the_stack_in_order() {
    let compose = load_yaml(&path("docker-compose.yml"));
    let services = &compose["services"];
    let names: BTreeSet<&str> = services
        .as_hash()
        .expect("services")
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "kafka",
        "topics",
        "dozvon",
        "generator",
        "prometheus",
        "grafana",
    ]
    .into();
    assert_eq!(names, expected);

    let kafka = &services["kafka"];
    assert!(
        kafka["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("apache/kafka:"))
    );
    let env = &kafka["environment"];
    assert_eq!(
        env["KAFKA_PROCESS_ROLES"].as_str(),
        Some("broker,controller")
    );
    assert!(
        env["KAFKA_ADVERTISED_LISTENERS"]
            .as_str()
            .is_some_and(|l| l.contains("PLAINTEXT://kafka:9092")),
        "in-network listener kafka:9092"
    );
    assert_eq!(
        env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"].as_i64(),
        Some(1)
    );
    assert!(
        !kafka["healthcheck"]["test"].is_badvalue(),
        "kafka has a healthcheck"
    );

    let topics = &services["topics"];
    assert_eq!(
        depends_on(topics).get("kafka").map(String::as_str),
        Some("service_healthy")
    );
    let script = flat_command(topics);
    for topic in [
        "pbx.calls",
        "crm.leads",
        "dozvon.violations",
        "dozvon.qc-reviews",
        "dozvon.dead-letter",
    ] {
        assert!(script.contains(topic), "topics creates {topic}: {script}");
    }
    assert!(script.contains("kafka-topics.sh") && script.contains("--partitions 6"));

    let dozvon = &services["dozvon"];
    assert!(
        !dozvon["build"].is_badvalue(),
        "dozvon is built from the Dockerfile"
    );
    assert_eq!(
        dozvon["build"]["dockerfile"]
            .as_str()
            .unwrap_or("Dockerfile"),
        "Dockerfile"
    );
    assert_eq!(flat_command(dozvon), "run --config /etc/dozvon/dozvon.toml");
    assert!(
        compose_volumes(dozvon).contains(&(
            "./deploy/dozvon.toml".to_owned(),
            "/etc/dozvon/dozvon.toml".to_owned()
        )),
        "dozvon mounts deploy/dozvon.toml"
    );
    assert_eq!(
        depends_on(dozvon).get("topics").map(String::as_str),
        Some("service_completed_successfully")
    );

    let generator = &services["generator"];
    let profiles: Vec<&str> = generator["profiles"]
        .as_vec()
        .expect("generator has profiles")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(profiles, ["generator"]);
    let gen_command = flat_command(generator);
    for part in [
        "dozvon gen",
        "--brokers kafka:9092",
        "--rate 200",
        "--days 30",
    ] {
        assert!(
            gen_command.contains(part),
            "generator runs {part}: {gen_command}"
        );
    }
    assert_eq!(
        depends_on(generator).get("topics").map(String::as_str),
        Some("service_completed_successfully")
    );

    let prometheus = &services["prometheus"];
    assert!(
        prometheus["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("prom/prometheus:"))
    );
    assert!(
        compose_volumes(prometheus)
            .iter()
            .any(|(host, container)| host == "./prometheus" && container == "/etc/prometheus"),
        "prometheus mounts ./prometheus"
    );
    assert!(
        flat_command(prometheus).contains("--config.file=/etc/prometheus/prometheus.yml"),
        "prometheus reads the mounted config"
    );

    let grafana = &services["grafana"];
    assert!(
        grafana["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("grafana/grafana:"))
    );
    assert_eq!(
        grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"].as_str(),
        Some("true")
    );
    let ports: Vec<&str> = grafana["ports"]
        .as_vec()
        .expect("ports")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(ports, ["3000:3000"]);
    assert_eq!(
        depends_on(grafana).get("prometheus").map(String::as_str),
        Some("service_healthy")
    );

    // Every named volume used is declared.
    let declared: BTreeSet<&str> = compose["volumes"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str())
        .collect();
    for name in names {
        for (source, _) in compose_volumes(&services[name]) {
            if !source.starts_with('.') && !source.starts_with('/') {
                assert!(
                    declared.contains(source.as_str()),
                    "{name}: volume {source} undeclared"
                );
            } else {
                let local = source.trim_start_matches("./");
                assert!(
                    path(local).exists(),
                    "{name}: bind-mounts {source}, which does not exist"
                );
            }
        }
    }
}

#[test]
fn dockerfile_builds_from_files_in_the_context() {
    let dockerfile = std::fs::read_to_string(path("Dockerfile")).expect("Dockerfile");
    let ignore = std::fs::read_to_string(path(".dockerignore")).expect(".dockerignore");
    let ignored: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    for needed in ["target", ".git"] {
        assert!(
            ignored.contains(&needed),
            ".dockerignore leaves out {needed}"
        );
    }
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    assert!(froms[0].starts_with("rust:") && froms[0].contains("bookworm"));
    assert!(froms[1].starts_with("debian:bookworm-slim"));
    assert!(dockerfile.contains("cargo build --release --locked"));
    assert!(dockerfile.lines().any(|l| l.trim() == "EXPOSE 9464"));
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    // Every COPY from the build context exists and is not ignored.
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for source in &parts[1..parts.len() - 1] {
            assert!(path(source).exists(), "COPY {source}: missing");
            assert!(
                !ignored.contains(&source.trim_end_matches('/')),
                "COPY {source}: excluded by .dockerignore"
            );
        }
    }
}

#[test]
fn deploy_config_is_accepted_by_dozvon() {
    let output = Command::new(env!("CARGO_BIN_EXE_dozvon"))
        .arg("check-config")
        .arg(path("deploy/dozvon.toml"))
        .output()
        .expect("dozvon check-config runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "check-config failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(r#"brokers = "kafka:9092""#), "{stdout}");
    assert!(stdout.contains(r#"listen = "0.0.0.0:9464""#), "{stdout}");
}

// --- A real Prometheus over every expression ----------------------------------------------

/// Serves a `/metrics` page with every contract metric (labels as dozvon sets them) on a
/// loopback port; counters grow by one step per scrape. Returns `host:port`.
fn fake_exporter() -> String {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    static SCRAPES: AtomicU64 = AtomicU64::new(0);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let n = SCRAPES.fetch_add(1, Ordering::Relaxed) + 1;
            let body = exposition(n);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

/// The exposition at the `n`-th scrape.
fn exposition(n: u64) -> String {
    let mut text = String::new();
    let mut line = |series: &str, value: f64| text.push_str(&format!("{series} {value}\n"));
    let n = n as f64;
    line(
        r#"dozvon_input_records_total{input="calls",result="ok"}"#,
        10.0 * n,
    );
    line(
        r#"dozvon_input_records_total{input="leads",result="ok"}"#,
        5.0 * n,
    );
    line(
        r#"dozvon_input_records_total{input="calls",result="late"}"#,
        n,
    );
    for (kind, rule) in [
        ("violation", "no_attempts_today"),
        ("violation", "first_call_sla_breach"),
        ("retraction", "retraction"),
        ("qc_review", "call_listen"),
        ("qc_review", "rejection_recheck"),
    ] {
        line(
            &format!(r#"dozvon_findings_total{{kind="{kind}",rule="{rule}"}}"#),
            n,
        );
    }
    for manager in ["m1", "m2"] {
        for rule in ["no_attempts_today", "first_call_sla_breach"] {
            line(
                &format!(
                    r#"dozvon_manager_findings_total{{tenant="default",manager="{manager}",rule="{rule}"}}"#
                ),
                n,
            );
        }
    }
    line(
        r#"dozvon_dead_letters_total{input="calls",reason="json"}"#,
        n,
    );
    line(
        r#"dozvon_qc_outcomes_total{tenant="default",outcome="overturned"}"#,
        n,
    );
    line(
        r#"dozvon_qc_outcomes_total{tenant="default",outcome="confirmed"}"#,
        3.0 * n,
    );
    line("dozvon_commits_total", 10.0 * n);
    line("dozvon_aborts_total", 0.0);
    line("dozvon_producer_restarts_total", 0.0);
    line("dozvon_transient_errors_total", 0.0);
    line("dozvon_calls_forwarded_total", 2.0 * n);
    line("dozvon_internal_records_unreadable_total", 0.0);
    line("dozvon_calls_held", 4.0);
    line("dozvon_alignment_buffered_records", 1500.0);
    line("dozvon_alignment_paused_partitions", 1.0);
    line(r#"dozvon_alignment_pauses_total{reason="buffer"}"#, n);
    line(r#"dozvon_alignment_pauses_total{reason="task_ahead"}"#, 1.0);
    line("dozvon_task_restores_total", 6.0);
    line("dozvon_restored_records_total", 1000.0 + n);
    line("dozvon_restore_bytes_total", 100_000.0 + n);
    line("dozvon_ready", 1.0);
    line(r#"dozvon_build_info{version="0.1.0"}"#, 1.0);
    line(r#"dozvon_leads_tracked{tenant="default"}"#, 120.0);
    line(r#"dozvon_leads_no_attempt_today{tenant="default"}"#, 7.0);
    for (manager, compliant) in [("m1", 8.0), ("m2", 10.0)] {
        line(
            &format!(r#"dozvon_manager_days_judged{{tenant="default",manager="{manager}"}}"#),
            10.0,
        );
        line(
            &format!(r#"dozvon_manager_days_compliant{{tenant="default",manager="{manager}"}}"#),
            compliant,
        );
    }
    line(r#"dozvon_watermark_lag_seconds{partition="0"}"#, 2.5);
    line(
        r#"dozvon_consumer_lag_records{topic="pbx.calls",partition="0"}"#,
        3.0,
    );
    for histogram in histograms() {
        line(&format!(r#"{histogram}_bucket{{le="0.1"}}"#), n);
        line(&format!(r#"{histogram}_bucket{{le="0.5"}}"#), 2.0 * n);
        line(&format!(r#"{histogram}_bucket{{le="+Inf"}}"#), 2.0 * n);
        line(&format!("{histogram}_sum"), 0.4 * n);
        line(&format!("{histogram}_count"), 2.0 * n);
    }
    text
}

#[test]
fn a_real_prometheus_shows_data_on_every_panel_and_evaluates_the_alerts() {
    use std::time::Duration;
    use support::prometheus::Prometheus;

    let target = fake_exporter();
    let prometheus = Prometheus::start(std::slice::from_ref(&target));
    prometheus.wait_until_up(&target, Duration::from_secs(30));
    // Rates need two scrapes in their window.
    prometheus.wait_for(
        "sum(rate(dozvon_input_records_total[1m])) > 0",
        Duration::from_secs(30),
        |samples| !samples.is_empty(),
    );

    // Every dashboard expression runs and, fed every contract metric, shows data: a label
    // or value that dozvon does not export would leave its panel empty.
    for e in dashboard_exprs() {
        let samples = prometheus
            .query(&e.promql())
            .unwrap_or_else(|error| panic!("{}: {}: {error}", e.source, e.promql()));
        assert!(
            !samples.is_empty(),
            "{}: no data from {}",
            e.source,
            e.promql()
        );
    }
    for e in alert_exprs() {
        prometheus
            .query(&e.expr)
            .unwrap_or_else(|error| panic!("{}: {error}", e.source));
    }

    // The compliance panels compute days compliant / days judged.
    let compliance = dashboard_exprs()
        .into_iter()
        .find(|e| e.source.contains(r#"panel "Compliance by manager""#))
        .expect("the compliance-by-manager panel");
    let by_manager: BTreeMap<String, f64> = prometheus
        .query_samples(&compliance.promql())
        .expect("query")
        .into_iter()
        .map(|(labels, value)| (labels["manager"].clone(), value))
        .collect();
    assert_eq!(
        by_manager,
        BTreeMap::from([("m1".to_owned(), 0.8), ("m2".to_owned(), 1.0)])
    );

    // Dead letters keep arriving: that alert fires (it has no `for`); the instance is up.
    let firing = prometheus.wait_for(
        r#"ALERTS{alertstate="firing"}"#,
        Duration::from_secs(30),
        |samples| {
            samples
                .iter()
                .any(|(labels, _)| labels["alertname"] == "DozvonDeadLetters")
        },
    );
    let names: BTreeSet<&str> = firing
        .iter()
        .map(|(labels, _)| labels["alertname"].as_str())
        .collect();
    assert!(!names.contains("DozvonInstanceDown"), "{names:?}");
    assert!(!names.contains("DozvonTransactionsAborting"), "{names:?}");

    // Every rule evaluates without error.
    let groups = prometheus.rule_groups().expect("rules");
    let rules: Vec<&serde_json::Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(rules.len(), alert_exprs().len());
    for rule in rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
}
