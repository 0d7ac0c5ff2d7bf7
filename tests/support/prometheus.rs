//! Running a real Prometheus (Debian package) against live dozvon instances, and every PromQL expression of the ops files (dashboards, alerts).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// The repository root (where `prometheus/`, `grafana/` and `docker-compose.yml` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Prometheus server binary: `$DOZVON_PROMETHEUS`, else the Debian package's.
pub fn prometheus_binary() -> PathBuf {
    std::env::var_os("DOZVON_PROMETHEUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

/// GET `url` without panicking: the status and body, or why there was no answer.
fn try_get(url: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// One vector sample: its labels and value.
pub type Sample = (BTreeMap<String, String>, f64);

/// A free loopback port (the listener is closed again; Prometheus binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The configuration of a test Prometheus: job `dozvon` (the name the alerts use) scraping
/// `targets` every second, and `rule_files` (absolute paths).
pub fn config_text(targets: &[String], rule_files: &[PathBuf]) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let targets: Vec<String> = targets.iter().map(|t| quote(t)).collect();
    let rules: Vec<String> = rule_files
        .iter()
        .map(|p| quote(&p.to_string_lossy()))
        .collect();
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files: [{}]\n\
         scrape_configs:\n  - job_name: dozvon\n    static_configs:\n      - targets: [{}]\n",
        rules.join(", "),
        targets.join(", ")
    )
}

/// A `prometheus` process in a temporary directory; killed on drop.
pub struct Prometheus {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of its HTTP API.
    pub address: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (`host:port` of dozvon `/metrics`) every second
    /// with the repository's `prometheus/alerts.yml` loaded; waits until `/-/ready`.
    pub fn start(targets: &[String]) -> Prometheus {
        Self::start_with_rules(targets, &[repo_root().join("prometheus/alerts.yml")])
    }

    /// As [`Prometheus::start`], with the given rule files instead.
    pub fn start_with_rules(targets: &[String], rule_files: &[PathBuf]) -> Prometheus {
        let binary = prometheus_binary();
        assert!(
            binary.exists(),
            "{} not found: install the Debian `prometheus` package (apt-get install \
             prometheus; scripts/test.sh does) or set DOZVON_PROMETHEUS",
            binary.display()
        );
        let mut last_log = String::new();
        // The port is free when chosen but could be taken before Prometheus binds it: retry.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = dir.path().join("prometheus.yml");
            std::fs::write(&config, config_text(targets, rule_files)).expect("write config");
            let address = format!("127.0.0.1:{}", free_port());
            let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
            let child = Command::new(&binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={address}"))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
            let mut prometheus = Prometheus {
                child: Some(child),
                address,
                dir,
            };
            if prometheus.wait_ready(Duration::from_secs(60)) {
                return prometheus;
            }
            last_log = prometheus.log_text();
        }
        panic!("prometheus did not become ready:\n{last_log}");
    }

    /// Polls `/-/ready`; false when the process exited (e.g. the port was taken).
    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/-/ready", self.base_url());
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if let Ok((200, _)) = try_get(&url) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
        false
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Prometheus's own log (stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query at the current time: `data.result` (for a vector, its samples, each
    /// `{"metric": {...}, "value": [time, "value"]}`; for a scalar, `[time, "value"]`), or
    /// Prometheus's error (`errorType: error`, e.g. a parse error) or a transport error.
    pub fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let url = format!(
            "{}/api/v1/query?query={}",
            self.base_url(),
            utf8_percent_encode(promql, NON_ALPHANUMERIC)
        );
        let (status, body) = try_get(&url)?;
        let json: Value = serde_json::from_str(&body)
            .map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
        if json["status"] != "success" {
            return Err(format!(
                "HTTP {status}: {}: {}",
                json["errorType"].as_str().unwrap_or("?"),
                json["error"].as_str().unwrap_or(&body)
            ));
        }
        json["data"]["result"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("no data.result array: {body}"))
    }

    /// An instant query's vector samples as (labels, value).
    pub fn query_samples(&self, promql: &str) -> Result<Vec<Sample>, String> {
        self.query(promql)?.iter().map(sample).collect()
    }

    /// Repeats `promql` until `done(samples)` holds; panics after `timeout` with the last
    /// answer and the log.
    pub fn wait_for(
        &self,
        promql: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Sample]) -> bool,
    ) -> Vec<Sample> {
        let deadline = Instant::now() + timeout;
        loop {
            let answer = self.query_samples(promql);
            if let Ok(samples) = &answer {
                if done(samples) {
                    return samples.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "{promql}: condition not met after {timeout:?}; last answer {answer:?}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until `target` (`host:port`) has been scraped successfully (`up == 1`).
    pub fn wait_until_up(&self, target: &str, timeout: Duration) {
        let promql = format!(
            "up{{instance={}}} == 1",
            serde_json::to_string(target).expect("a string serialises")
        );
        self.wait_for(&promql, timeout, |samples| !samples.is_empty());
    }

    /// `/api/v1/rules`: the rule groups as Prometheus evaluates them (each rule has `health`
    /// and `lastError`).
    pub fn rule_groups(&self) -> Result<Vec<Value>, String> {
        let (status, body) = try_get(&format!("{}/api/v1/rules", self.base_url()))?;
        let json: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        json["data"]["groups"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("HTTP {status}: no data.groups: {body}"))
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One vector sample of an API answer as (labels, value).
pub fn sample(value: &Value) -> Result<Sample, String> {
    let labels = value["metric"]
        .as_object()
        .ok_or_else(|| format!("not a vector sample: {value}"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let number = value["value"][1]
        .as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| format!("no sample value: {value}"))?;
    Ok((labels, number))
}

/// A PromQL expression of the ops files and where it is.
#[derive(Clone, Debug)]
pub struct OpsExpr {
    /// `grafana/dashboards/x.json: panel "Title" target A`, `prometheus/alerts.yml: DozvonX`.
    pub source: String,
    /// The expression as written (dashboards: with Grafana variables such as `$tenant`).
    pub expr: String,
}

impl OpsExpr {
    /// The expression Prometheus can run: Grafana's `$__rate_interval` → `1m`, `$__interval`
    /// → `15s`, `$__range` → `5m`, any other variable (`$tenant`, `${manager}`; the dashboards
    /// use them only inside `=~"..."` matchers) → `.*` (All).
    pub fn promql(&self) -> String {
        substitute_variables(&self.expr, "1m", "5m")
    }
}

/// Replaces Grafana variables in `expr` (see [`OpsExpr::promql`]).
pub fn substitute_variables(expr: &str, rate_interval: &str, range: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let replacement = match name {
            "" => "$",
            "__rate_interval" => rate_interval,
            "__interval" => "15s",
            "__range" => range,
            _ => ".*",
        };
        out.push_str(replacement);
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The dashboard files: `grafana/dashboards/*.json`, sorted.
pub fn dashboard_files() -> Vec<PathBuf> {
    let dir = repo_root().join("grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// A dashboard file parsed.
pub fn load_dashboard(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every panel of a dashboard, rows' nested panels included (rows themselves too).
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every panel target's `expr` of every dashboard.
pub fn dashboard_exprs() -> Vec<OpsExpr> {
    let root = repo_root();
    let mut exprs = Vec::new();
    for path in dashboard_files() {
        let dashboard = load_dashboard(&path);
        let file = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        for panel in panels(&dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    exprs.push(OpsExpr {
                        source: format!(
                            "{file}: panel {} target {}",
                            panel["title"],
                            target["refId"].as_str().unwrap_or("?")
                        ),
                        expr: expr.to_owned(),
                    });
                }
            }
        }
    }
    exprs
}

/// A YAML file parsed (its first document).
pub fn load_yaml(path: &Path) -> Yaml {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()))
}

/// Every rule of `prometheus/alerts.yml` (alerting and recording).
pub fn alert_rules() -> Vec<Yaml> {
    let alerts = load_yaml(&repo_root().join("prometheus/alerts.yml"));
    alerts["groups"]
        .as_vec()
        .expect("alerts.yml has groups")
        .iter()
        .flat_map(|group| group["rules"].as_vec().cloned().unwrap_or_default())
        .collect()
}

/// Every rule's `expr` of `prometheus/alerts.yml`.
pub fn alert_exprs() -> Vec<OpsExpr> {
    alert_rules()
        .iter()
        .map(|rule| {
            let name = rule["alert"].as_str().or(rule["record"].as_str());
            OpsExpr {
                source: format!("prometheus/alerts.yml: {}", name.unwrap_or("?")),
                expr: rule["expr"]
                    .as_str()
                    .expect("every rule has an expr")
                    .to_owned(),
            }
        })
        .collect()
}

/// Every PromQL expression of the ops files: dashboard targets, then alert rules.
pub fn ops_exprs() -> Vec<OpsExpr> {
    let mut exprs = dashboard_exprs();
    exprs.extend(alert_exprs());
    exprs
}

/// The metrics docs/metrics.md lists (lines "- `dozvon_name{labels}` — …"), and which of them
/// are histograms (listed under a "### Histograms" heading). Read once per test binary.
pub fn documented_metrics() -> &'static (Vec<&'static str>, Vec<&'static str>) {
    static METRICS: std::sync::OnceLock<(Vec<&'static str>, Vec<&'static str>)> =
        std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let path = repo_root().join("docs/metrics.md");
        let text: &'static str = Box::leak(
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
                .into_boxed_str(),
        );
        let (mut all, mut histograms) = (Vec::new(), Vec::new());
        let mut in_histograms = false;
        for line in text.lines() {
            if line.starts_with('#') {
                in_histograms = line.starts_with("### Histograms");
            }
            let Some(rest) = line.strip_prefix("- `") else {
                continue;
            };
            if !rest.starts_with("dozvon_") {
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            all.push(&rest[..end]);
            if in_histograms {
                histograms.push(&rest[..end]);
            }
        }
        assert!(
            all.len() >= 20,
            "docs/metrics.md lists the metrics: {all:?}"
        );
        assert!(!histograms.is_empty(), "docs/metrics.md lists histograms");
        (all, histograms)
    })
}
