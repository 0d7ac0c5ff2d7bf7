//! `dozvon run` with a (stand-in) Schema Registry: Confluent-framed Avro outputs, start-up failures.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use dozvon::codec::{
    decode_qc_review, decode_violation, encode_json_qc_review, encode_json_violation,
};
use dozvon::registry::CONTENT_TYPE;
use serde_json::Value;
use support::dataset::{UNTIL, fixture};
use support::registry::{Answer, StandIn, registry_config};
use support::{Reader, Record, Service, Topics, canonical, create_topics, ndjson_records, produce};

/// The ids the stand-in hands out: one per subject, distinct.
const VIOLATIONS_ID: u32 = 41;
const QC_REVIEWS_ID: u32 = 42;

/// A schema of the repository's `schemas/` as a JSON value.
fn schema_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("schema file");
    serde_json::from_str(&text).expect("schema file is JSON")
}

fn subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// Checks that every record is `00` + `schema_id` (big-endian) + datum and returns the
/// decoded findings as their JSON values.
fn confluent_frames<T>(
    records: &[Record],
    schema_id: u32,
    decode: impl Fn(&[u8]) -> Result<T, dozvon::codec::DecodeError>,
    to_json: impl Fn(&T) -> Result<Vec<u8>, dozvon::codec::EncodeError>,
) -> Vec<Value> {
    let mut header = vec![0x00];
    header.extend_from_slice(&schema_id.to_be_bytes());
    records
        .iter()
        .map(|record| {
            assert!(
                record.payload.starts_with(&header),
                "record at offset {} does not start with {header:02x?}: {:02x?}",
                record.offset,
                &record.payload[..record.payload.len().min(8)]
            );
            let finding = decode(&record.payload).expect("decodes with dozvon's codec");
            serde_json::from_slice(&to_json(&finding).expect("JSON")).expect("JSON value")
        })
        .collect()
}

/// The SPEC §7 fixture published to fresh input topics; returns what `replay` makes of it.
fn publish_spec_7(topics: &Topics) -> (Vec<Value>, Vec<Value>) {
    let dir = fixture("spec-7");
    let (calls, leads) = (dir.join("calls.ndjson"), dir.join("leads.ndjson"));
    let want = support::replay(&calls, &leads, UNTIL);
    assert!(
        !want.0.is_empty() && !want.1.is_empty(),
        "a scenario with findings"
    );
    create_topics(&[&topics.calls, &topics.leads], 1);
    produce(&topics.calls, &ndjson_records(&calls));
    produce(&topics.leads, &ndjson_records(&leads));
    want
}

/// Runs the service until it has published `counts` (violations, reviews) and a moment more,
/// stops it with SIGTERM and returns what it published.
fn run_until(config: &str, topics: &Topics, counts: (usize, usize)) -> Reader {
    let mut service = Service::start(config, &[]);
    let mut reader = Reader::new(&[&topics.violations, &topics.qc_reviews], 1);
    reader.read_until(
        Duration::from_secs(120),
        |r| r[&topics.violations].len() >= counts.0 && r[&topics.qc_reviews].len() >= counts.1,
        || service.log_text(),
    );
    reader.read_for(Duration::from_secs(3));
    service.assert_running();
    assert_eq!(service.terminate(), Some(0), "exit status after SIGTERM");
    reader
}

/// The registration requests: each a POST of the documented content type whose body is only
/// `{"schema": "<text>"}`; returns subject → the schema text parsed as JSON.
fn registered_schemas(registry: &StandIn) -> Vec<(String, Value)> {
    registry
        .requests()
        .into_iter()
        .map(|request| {
            assert_eq!(request.method, "POST", "{request:?}");
            assert_eq!(
                request.content_type.as_deref(),
                Some(CONTENT_TYPE),
                "{request:?}"
            );
            let subject = request
                .path
                .strip_prefix("/subjects/")
                .and_then(|rest| rest.strip_suffix("/versions"))
                .unwrap_or_else(|| panic!("not a registration: {request:?}"))
                .to_owned();
            let body: Value = serde_json::from_str(&request.body).expect("body is JSON");
            let fields: Vec<&String> = body.as_object().expect("an object").keys().collect();
            assert_eq!(fields, ["schema"], "only the schema (AVRO): {body}");
            let text = body["schema"].as_str().expect("schema is a JSON string");
            let schema: Value = serde_json::from_str(text).expect("schema text is JSON");
            (subject, schema)
        })
        .collect()
}

#[test]
fn avro_outputs_are_registered_and_written_in_the_confluent_wire_format() {
    let topics = Topics::new("registry");
    let (want_violations, want_reviews) = publish_spec_7(&topics);
    let registry = StandIn::start(
        &[
            (subject(&topics.violations), VIOLATIONS_ID),
            (subject(&topics.qc_reviews), QC_REVIEWS_ID),
        ],
        Answer::Register,
    );
    let config = registry_config(&topics, "exactly_once", &registry.url, "avro", "avro");
    let reader = run_until(
        &config,
        &topics,
        (want_violations.len(), want_reviews.len()),
    );

    let registered = registered_schemas(&registry);
    let subjects: BTreeSet<&str> = registered.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        BTreeSet::from([
            subject(&topics.violations).as_str(),
            subject(&topics.qc_reviews).as_str()
        ]),
        "exactly the two output subjects (TopicNameStrategy)"
    );
    for (name, schema) in &registered {
        let file = if *name == subject(&topics.violations) {
            "violation.avsc"
        } else {
            "qc_review.avsc"
        };
        assert_eq!(
            *schema,
            schema_file(file),
            "{name} registers schemas/{file}"
        );
    }

    let violations = confluent_frames(
        &reader.records[&topics.violations],
        VIOLATIONS_ID,
        decode_violation,
        encode_json_violation,
    );
    let reviews = confluent_frames(
        &reader.records[&topics.qc_reviews],
        QC_REVIEWS_ID,
        decode_qc_review,
        encode_json_qc_review,
    );
    assert_eq!(
        canonical(&violations),
        canonical(&want_violations),
        "violations differ from replay"
    );
    assert_eq!(
        canonical(&reviews),
        canonical(&want_reviews),
        "QC reviews differ from replay"
    );
}

#[test]
fn json_outputs_are_not_registered() {
    let topics = Topics::new("registry-mixed");
    let (want_violations, want_reviews) = publish_spec_7(&topics);
    let registry = StandIn::start(
        &[
            (subject(&topics.violations), VIOLATIONS_ID),
            (subject(&topics.qc_reviews), QC_REVIEWS_ID),
        ],
        Answer::Register,
    );
    let config = registry_config(&topics, "exactly_once", &registry.url, "json", "avro");
    let reader = run_until(
        &config,
        &topics,
        (want_violations.len(), want_reviews.len()),
    );
    let registered = registered_schemas(&registry);
    let subjects: Vec<&str> = registered.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [subject(&topics.qc_reviews)],
        "only the Avro output"
    );
    assert_eq!(
        canonical(&reader.payloads(&topics.violations)),
        canonical(&want_violations),
        "JSON violations as without a registry"
    );
    let reviews = confluent_frames(
        &reader.records[&topics.qc_reviews],
        QC_REVIEWS_ID,
        decode_qc_review,
        encode_json_qc_review,
    );
    assert_eq!(canonical(&reviews), canonical(&want_reviews));
}

/// Starts the service with Avro outputs against `url` and waits for it to exit by itself;
/// returns the exit code and the log.
fn failed_start(topics: &Topics, url: &str) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut service = Service::start(
        &registry_config(topics, "exactly_once", url, "avro", "avro"),
        &[],
    );
    let deadline = started + Duration::from_secs(60);
    loop {
        if let Some(code) = service.exit_code() {
            return (code, service.log_text(), started.elapsed());
        }
        assert!(
            Instant::now() < deadline,
            "dozvon run still running 60 s after start with a failing registry:\n{}",
            service.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_registry_that_refuses_stops_the_start_up() {
    // 500 is retried (DEFAULT_ATTEMPTS attempts), 409 (incompatible schema) is final.
    for (status, attempts) in [(500, dozvon::registry::DEFAULT_ATTEMPTS), (409, 1)] {
        let topics = Topics::new("registry-refuses");
        create_topics(&[&topics.calls, &topics.leads], 1);
        let registry = StandIn::start(&[], Answer::Status(status));
        let (code, log, elapsed) = failed_start(&topics, &registry.url);
        assert_eq!(code, Some(1), "exit status with HTTP {status}:\n{log}");
        for needle in [
            registry.url.as_str(),
            &subject(&topics.violations),
            &format!("HTTP {status}"),
            &format!("stand-in answers {status}"),
        ] {
            assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
        }
        let requests = registry.requests();
        assert_eq!(
            requests.len(),
            attempts as usize,
            "attempts with HTTP {status}: {requests:?}"
        );
        eprintln!("HTTP {status}: exited after {elapsed:?}");
    }
}

#[test]
fn an_unreachable_registry_stops_the_start_up() {
    let topics = Topics::new("registry-unreachable");
    create_topics(&[&topics.calls, &topics.leads], 1);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let url = format!("http://{closed}");
    let (code, log, elapsed) = failed_start(&topics, &url);
    assert_eq!(code, Some(1), "exit status:\n{log}");
    for needle in [
        url.as_str(),
        &subject(&topics.violations),
        "no answer from the registry",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    eprintln!("unreachable: exited after {elapsed:?}");
}
