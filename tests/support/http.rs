//! Reading a running service's HTTP endpoint: plain GETs and parsed Prometheus samples.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Service;

/// GET `url`: the status and body (any status; a 503 is an answer, not an error).
pub fn get(url: &str) -> (u16, String) {
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
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The service's metrics: the raw text and its samples.
pub fn metrics(service: &Service) -> (String, BTreeMap<String, f64>) {
    let (status, text) = get(&format!("http://{}/metrics", service.http_address()));
    assert_eq!(status, 200, "/metrics answers");
    let samples = samples(&text);
    (text, samples)
}

/// The service's metrics once `series` has the value `want`, or after `timeout` (the caller's
/// assertion then shows what it has).
pub fn metrics_when(
    service: &Service,
    series: &str,
    want: f64,
    timeout: Duration,
) -> (String, BTreeMap<String, f64>) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (text, samples) = metrics(service);
        if samples.get(series).copied() == Some(want) || std::time::Instant::now() > deadline {
            return (text, samples);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The sum of the samples whose series starts with `prefix` (e.g. a name and some labels).
pub fn sum(samples: &BTreeMap<String, f64>, prefix: &str) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| series.starts_with(prefix))
        .map(|(_, value)| value)
        .sum()
}
