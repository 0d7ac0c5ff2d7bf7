//! Comparing the output topics with `replay`'s output: as sets, or by finding id with readable
//! differences.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Reader, Service, Topics, canonical};

/// What [`run_to_a_dead_letter_and_a_skipped_call`] leaves: the outputs read, the service's
/// metrics (text and samples) and its log.
pub struct FormatRun {
    pub reader: Reader,
    pub text: String,
    pub metrics: BTreeMap<String, f64>,
    pub log: String,
}

/// Runs `dozvon run` with `config` on input the test has published (a foreign format with
/// one malformed record and one record to skip): reads the findings and dead-letter topics
/// (`partitions` each) until they hold `violations` violations, `reviews` QC reviews and a
/// dead letter (120 s at most, then 3 s more), waits up to 10 s for the skipped call to be
/// counted, and stops the service (exit 0 after SIGTERM).
pub fn run_to_a_dead_letter_and_a_skipped_call(
    config: &str,
    topics: &Topics,
    partitions: i32,
    (violations, reviews): (usize, usize),
) -> FormatRun {
    let mut service = Service::start(config, &[]);
    let outputs = [&topics.violations, &topics.qc_reviews, &topics.dead_letter];
    let mut reader = Reader::new(&outputs.map(String::as_str), partitions);
    reader.read_until(
        Duration::from_secs(120),
        |r| {
            r[&topics.violations].len() >= violations
                && r[&topics.qc_reviews].len() >= reviews
                && !r[&topics.dead_letter].is_empty()
        },
        || service.log_text(),
    );
    reader.read_for(Duration::from_secs(3));
    service.assert_running();
    let skipped = r#"dozvon_input_records_total{input="calls",result="skipped"}"#;
    let (text, metrics) =
        super::http::metrics_when(&service, skipped, 1.0, Duration::from_secs(10));
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    let log = service.log_text();
    FormatRun {
        reader,
        text,
        metrics,
        log,
    }
}

/// Reads until `reader` holds at least `violations` violations and `reviews` QC reviews (or
/// `timeout` passes, which panics with `log`), then 3 s more for anything published twice.
pub fn read_findings(
    reader: &mut Reader,
    topics: &Topics,
    (violations, reviews): (usize, usize),
    timeout: Duration,
    log: impl Fn() -> String,
) {
    reader.read_until(
        timeout,
        |r| r[&topics.violations].len() >= violations && r[&topics.qc_reviews].len() >= reviews,
        log,
    );
    reader.read_for(Duration::from_secs(3));
}

/// Reads until `reader` holds every finding of `violations` and `reviews` by id (a repeat
/// counts once) or `timeout` passes, then 3 s more for late repeats; whether it was complete.
pub fn read_distinct_findings(
    reader: &mut Reader,
    topics: &Topics,
    violations: &[serde_json::Value],
    reviews: &[serde_json::Value],
    timeout: Duration,
) -> bool {
    let want_violations = by_id(violations, "violation_id").len();
    let want_reviews = by_id(reviews, "review_id").len();
    let deadline = Instant::now() + timeout;
    let complete = loop {
        reader.read_for(Duration::from_secs(1));
        let got = |topic: &str, id| by_id(&reader.payloads(topic), id).len();
        if got(&topics.violations, "violation_id") >= want_violations
            && got(&topics.qc_reviews, "review_id") >= want_reviews
        {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
    };
    reader.read_for(Duration::from_secs(3));
    complete
}

/// The output topics hold exactly `replay`'s findings: nothing missing, changed or twice.
pub fn assert_findings(
    reader: &Reader,
    topics: &Topics,
    violations: &[serde_json::Value],
    reviews: &[serde_json::Value],
    log: &str,
) {
    assert_eq!(
        canonical(&reader.payloads(&topics.violations)),
        canonical(violations),
        "violations differ from replay\n{log}"
    );
    assert_eq!(
        canonical(&reader.payloads(&topics.qc_reviews)),
        canonical(reviews),
        "QC reviews differ from replay\n{log}"
    );
}

/// At-least-once: the output topics hold every `replay` finding, and a finding published more
/// than once is the same finding each time (two payloads under one id panic).
pub fn assert_findings_by_id(
    reader: &Reader,
    topics: &Topics,
    violations: &[serde_json::Value],
    reviews: &[serde_json::Value],
    log: &str,
) {
    assert_same(
        "violations",
        &by_id(&reader.payloads(&topics.violations), "violation_id"),
        &by_id(violations, "violation_id"),
        log,
    );
    assert_same(
        "QC reviews",
        &by_id(&reader.payloads(&topics.qc_reviews), "review_id"),
        &by_id(reviews, "review_id"),
        log,
    );
}

/// Output records by finding id (`id_field`); two different payloads under one id panic.
pub fn by_id(values: &[serde_json::Value], id_field: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for value in values {
        let id = value[id_field].as_str().expect("finding id").to_owned();
        let text = value.to_string();
        if let Some(previous) = map.insert(id.clone(), text.clone()) {
            assert_eq!(previous, text, "two different findings with id {id}");
        }
    }
    map
}

/// Equal maps, or a panic naming how many entries differ and the first few.
pub fn assert_same(
    what: &str,
    got: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    log: &str,
) {
    let differ: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|(k, v)| format!("want {v}\n got {}", got.get(k).map_or("nothing", |g| g)))
        .chain(
            got.iter()
                .filter(|(k, _)| !want.contains_key(*k))
                .map(|(_, v)| format!("extra {v}")),
        )
        .collect();
    assert!(
        differ.is_empty(),
        "{what} differ from replay in {} of {} places, e.g.\n{}\n{log}",
        differ.len(),
        want.len(),
        differ
            .iter()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
