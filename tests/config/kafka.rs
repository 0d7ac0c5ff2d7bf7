//! `[kafka]` and `[processing]`: defaults, every key, property tables and refusals.

use std::collections::BTreeMap;
use std::time::Duration;

use dozvon::config::{
    Config, ConfigError, EncodingConfig, FormatConfig, Guarantee, KafkaConfig, ProcessingConfig,
    TopicEncoding, TopicsConfig,
};
use dozvon::formats::InputFormat;

use super::{assert_refusals, error_of};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn kafka_and_processing_defaults() {
    let config = Config::default();
    let kafka = &config.kafka;
    assert_eq!(kafka.brokers, "127.0.0.1:9092");
    assert_eq!(kafka.group_id, "dozvon");
    assert!(kafka.properties.is_empty());
    assert!(kafka.consumer_properties.is_empty());
    assert!(kafka.producer_properties.is_empty());
    assert_eq!(
        kafka.topics,
        TopicsConfig {
            calls: "pbx.calls".into(),
            leads: "crm.leads".into(),
            violations: "dozvon.violations".into(),
            qc_reviews: "dozvon.qc-reviews".into(),
            dead_letter: "dozvon.dead-letter".into(),
            changelog: "dozvon.changelog".into(),
            contacts: "dozvon.contacts".into(),
            resolved: "dozvon.calls-resolved".into(),
        }
    );
    assert_eq!(kafka.topics.inputs(), ["pbx.calls", "crm.leads"]);
    assert_eq!(
        kafka.topics.outputs(),
        [
            "dozvon.violations",
            "dozvon.qc-reviews",
            "dozvon.dead-letter"
        ]
    );
    assert_eq!(kafka.format.inputs(), [InputFormat::Dozvon; 2]);
    let json = TopicEncoding::Json;
    assert_eq!(
        kafka.encoding,
        EncodingConfig {
            calls: json,
            leads: json,
            violations: json,
            qc_reviews: json,
        }
    );
    assert!(kafka.create_topics);
    assert_eq!(kafka.replication_factor, 1);
    assert_eq!(kafka.schema_registry_url, None);

    assert_eq!(
        config.processing,
        ProcessingConfig {
            guarantee: Guarantee::ExactlyOnce,
            commit_interval: Duration::from_millis(100),
            max_batch: 10_000,
            alignment_buffer: 50_000,
            held_changelog_kib: 16_384,
            idle_timeout: Duration::from_secs(30),
            transactional_id: None,
        }
    );
    let empty_tables = "[kafka]\n[kafka.topics]\n[kafka.format]\n[kafka.encoding]\n[kafka.properties]\n\
                        [kafka.consumer_properties]\n[kafka.producer_properties]\n[processing]\n";
    assert_eq!(
        Config::from_toml_str(empty_tables).unwrap(),
        Config::default()
    );
}

/// Every `[kafka]` and `[processing]` key with a non-default value.
pub const FULL_KAFKA: &str = r#"
[kafka]
brokers = "kafka-1:9093,kafka-2:9093"
group_id = "dozvon-prod"
create_topics = false
replication_factor = 3
schema_registry_url = "https://registry.example:8081"

[kafka.topics]
calls = "pbx.cdr.v2"
leads = "bitrix_leads"
violations = "qc.violations"
qc_reviews = "qc.reviews"
dead_letter = "qc.dlq"

[kafka.format]
calls = "dozvon"
leads = "bitrix24"

[kafka.encoding]
calls = "avro"
leads = "json"
violations = "avro"
qc_reviews = "AVRO"

[kafka.properties]
"security.protocol" = "SASL_SSL"
"sasl.mechanisms" = "PLAIN"
"client.id" = "dozvon"

[kafka.consumer_properties]
"auto.offset.reset" = "earliest"
"session.timeout.ms" = 6000
"client.id" = "dozvon-in"

[kafka.producer_properties]
"linger.ms" = 5
"socket.keepalive.enable" = true

[processing]
guarantee = "at_least_once"
commit_interval = "1s 500ms"
max_batch = 500
alignment_buffer = 1000
held_changelog_kib = 0
idle_timeout = "2m"
transactional_id = "dozvon-eu-1"
"#;

#[test]
fn every_kafka_and_processing_key_parses_into_its_value() {
    let config = Config::from_toml_str(FULL_KAFKA).unwrap();
    let expected = KafkaConfig {
        brokers: "kafka-1:9093,kafka-2:9093".into(),
        group_id: "dozvon-prod".into(),
        properties: map(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "PLAIN"),
            ("client.id", "dozvon"),
        ]),
        consumer_properties: map(&[
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "6000"),
            ("client.id", "dozvon-in"),
        ]),
        producer_properties: map(&[("linger.ms", "5"), ("socket.keepalive.enable", "true")]),
        topics: TopicsConfig {
            calls: "pbx.cdr.v2".into(),
            leads: "bitrix_leads".into(),
            violations: "qc.violations".into(),
            qc_reviews: "qc.reviews".into(),
            dead_letter: "qc.dlq".into(),
            changelog: "dozvon.changelog".into(),
            contacts: "dozvon.contacts".into(),
            resolved: "dozvon.calls-resolved".into(),
        },
        format: FormatConfig {
            calls: InputFormat::Dozvon,
            leads: InputFormat::Bitrix24,
        },
        encoding: EncodingConfig {
            calls: TopicEncoding::Avro,
            leads: TopicEncoding::Json,
            violations: TopicEncoding::Avro,
            qc_reviews: TopicEncoding::Avro,
        },
        create_topics: false,
        replication_factor: 3,
        schema_registry_url: Some("https://registry.example:8081".into()),
    };
    assert_eq!(config.kafka, expected);
    assert_eq!(
        config.processing,
        ProcessingConfig {
            guarantee: Guarantee::AtLeastOnce,
            commit_interval: Duration::from_millis(1_500),
            max_batch: 500,
            alignment_buffer: 1000,
            held_changelog_kib: 0,
            idle_timeout: Duration::from_secs(120),
            transactional_id: Some("dozvon-eu-1".into()),
        }
    );
    // The other sections keep their defaults.
    assert_eq!(config.default_tenant, Config::default().default_tenant);

    let consumer = config.kafka.consumer_settings();
    assert_eq!(consumer.get("client.id"), Some(&"dozvon-in"));
    assert_eq!(consumer.get("security.protocol"), Some(&"SASL_SSL"));
    assert_eq!(consumer.get("linger.ms"), None);
    let producer = config.kafka.producer_settings();
    assert_eq!(producer.get("client.id"), Some(&"dozvon"));
    assert_eq!(producer.get("linger.ms"), Some(&"5"));
    assert_eq!(producer.get("auto.offset.reset"), None);
}

#[test]
fn integer_and_boolean_property_values_become_strings() {
    let text = "[kafka.properties]\n\"session.timeout.ms\" = 6000\n\"enable.ssl.certificate.verification\" = false\n\"statistics.interval.ms\" = -1\nplain = \"x\"\n";
    let config = Config::from_toml_str(text).unwrap();
    assert_eq!(
        config.kafka.properties,
        map(&[
            ("session.timeout.ms", "6000"),
            ("enable.ssl.certificate.verification", "false"),
            ("statistics.interval.ms", "-1"),
            ("plain", "x"),
        ])
    );
    // Printed back as strings, with the dotted names quoted.
    let effective = config.to_effective_toml();
    assert!(
        effective.contains("\"session.timeout.ms\" = \"6000\""),
        "{effective}"
    );
    assert_eq!(Config::from_toml_str(&effective).unwrap(), config);
}

#[test]
fn properties_dozvon_sets_itself_are_refused_in_every_table() {
    let managed = [
        ("bootstrap.servers", "from kafka.brokers"),
        ("metadata.broker.list", "from kafka.brokers"),
        ("group.id", "from kafka.group_id"),
        ("enable.auto.commit", "offsets are committed"),
        ("enable.auto.offset.store", "offsets are committed"),
        ("transactional.id", "from processing.transactional_id"),
        ("isolation.level", "from processing.guarantee"),
        ("enable.idempotence", "from processing.guarantee"),
    ];
    for table in ["properties", "consumer_properties", "producer_properties"] {
        for (name, source) in managed {
            let text = format!("[kafka.{table}]\n\"{name}\" = \"x\"\n");
            match Config::from_toml_str(&text) {
                Err(ConfigError::Invalid { key, reason }) => {
                    assert_eq!(key, format!("kafka.{table}.\"{name}\""));
                    assert!(
                        reason.starts_with(&format!("dozvon sets this property itself ({source}")),
                        "{reason}"
                    );
                }
                other => panic!("{text}: unexpected {other:?}"),
            }
        }
    }
    assert_eq!(
        error_of("[kafka.properties]\n\"group.id\" = \"other\""),
        "kafka.properties.\"group.id\": dozvon sets this property itself (from kafka.group_id); \
         remove it"
    );
    // The consumer's starting position is the user's choice.
    let config =
        Config::from_toml_str("[kafka.properties]\n\"auto.offset.reset\" = \"latest\"").unwrap();
    assert_eq!(
        config.kafka.properties,
        map(&[("auto.offset.reset", "latest")])
    );
}

#[test]
fn invalid_kafka_and_processing_values_are_refused_naming_the_key_path() {
    let cases: &[(&str, &str)] = &[
        (
            "[kafka]\nbrokers = \"\"",
            "kafka.brokers: must not be empty",
        ),
        (
            "[kafka]\nbrokers = \"  \"",
            "kafka.brokers: must not be empty",
        ),
        (
            "[kafka]\nbrokers = \" host:9092\"",
            "kafka.brokers: \" host:9092\" must not start or end with whitespace",
        ),
        (
            "[kafka]\ngroup_id = \"\"",
            "kafka.group_id: must not be empty",
        ),
        (
            "[kafka]\nreplication_factor = 0",
            "kafka.replication_factor: must be between 1 and 2147483647, got 0",
        ),
        (
            "[kafka]\nreplication_factor = 2147483648",
            "kafka.replication_factor: must be between 1 and 2147483647",
        ),
        (
            "[kafka]\nschema_registry_url = \"registry:8081\"",
            "kafka.schema_registry_url: invalid schema registry URL: \"registry:8081\": expected http:// or https://",
        ),
        (
            "[kafka]\nschema_registry_url = \"http://\"",
            "kafka.schema_registry_url: invalid schema registry URL: \"http://\": no host",
        ),
        (
            "[kafka]\nschema_registry_url = \"http://user@\"",
            "kafka.schema_registry_url: invalid schema registry URL: \"http://user@\": no host",
        ),
        (
            "[kafka]\nschema_registry_url = \"https://registry:8081/?x=1\"",
            "kafka.schema_registry_url: invalid schema registry URL: \"https://registry:8081/?x=1\": a query or fragment is not supported",
        ),
        (
            "[kafka]\nschema_registry_url = \"\"",
            "kafka.schema_registry_url: must not be empty",
        ),
        (
            "[kafka.topics]\ncalls = \"\"",
            "kafka.topics.calls: must not be empty",
        ),
        (
            "[kafka.topics]\nleads = \"crm leads\"",
            "kafka.topics.leads: invalid topic name \"crm leads\": ' ' is not allowed",
        ),
        (
            "[kafka.topics]\nviolations = \"..\"",
            "kafka.topics.violations: \"..\" is not a valid topic name",
        ),
        (
            "[kafka.topics]\nqc_reviews = \"звонки\"",
            "kafka.topics.qc_reviews: invalid topic name \"звонки\"",
        ),
        (
            "[kafka.topics]\ndead_letter = \"pbx.calls\"",
            "kafka.topics.dead_letter: topic \"pbx.calls\" is also kafka.topics.calls",
        ),
        (
            "[kafka.topics]\ncalls = \"in\"\nleads = \"in\"",
            "kafka.topics.leads: topic \"in\" is also kafka.topics.calls",
        ),
        (
            "[kafka.topics]\nviolations = \"crm_leads\"",
            "kafka.topics.violations: topic \"crm_leads\" collides with \"crm.leads\" of kafka.topics.leads",
        ),
        (
            "[kafka.encoding]\nleads = \"protobuf\"",
            "kafka.encoding.leads: unknown encoding \"protobuf\"; expected \"json\" or \"avro\"",
        ),
        (
            "[kafka.properties]\n\" client.id\" = \"x\"",
            "kafka.properties.\" client.id\": \" client.id\" must not start or end with whitespace",
        ),
        (
            "[kafka.producer_properties]\n\"\" = \"x\"",
            "kafka.producer_properties.\"\": must not be empty",
        ),
        (
            "[processing]\nguarantee = \"exactly-once\"",
            "processing.guarantee: unknown guarantee \"exactly-once\"; expected \"exactly_once\" or \"at_least_once\"",
        ),
        (
            "[processing]\ncommit_interval = \"0s\"",
            "processing.commit_interval: must be between 1ms and 1h, got \"0s\"",
        ),
        (
            "[processing]\ncommit_interval = \"1h 1ms\"",
            "processing.commit_interval: must be between 1ms and 1h",
        ),
        (
            "[processing]\ncommit_interval = \"fast\"",
            "processing.commit_interval: invalid duration \"fast\"",
        ),
        (
            "[processing]\nmax_batch = 0",
            "processing.max_batch: must be between 1 and 1000000, got 0",
        ),
        (
            "[processing]\nmax_batch = 1000001",
            "processing.max_batch: must be between 1 and 1000000, got 1000001",
        ),
        (
            "[processing]\nalignment_buffer = 9",
            "processing.alignment_buffer: must be between 10 and 50000, got 9",
        ),
        (
            "[processing]\nidle_timeout = \"999ms\"",
            "processing.idle_timeout: must be at least 1s, got \"999ms\"",
        ),
        (
            "[processing]\nidle_timeout = \"-30s\"",
            "processing.idle_timeout: must not be negative",
        ),
        (
            "[processing]\ntransactional_id = \"\"",
            "processing.transactional_id: must not be empty",
        ),
        // Wrong types are reported by the parser, with the key path and the line.
        (
            "[kafka]\ncreate_topics = \"yes\"",
            "kafka.create_topics: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "[kafka]\nreplication_factor = \"3\"",
            "kafka.replication_factor: invalid type: string \"3\"",
        ),
        (
            "[kafka.properties]\n\"linger.ms\" = 0.5",
            "kafka.properties.\"linger.ms\": invalid type: floating point `0.5`, expected a string, integer or boolean",
        ),
        (
            "[kafka.consumer_properties]\n\"client.rack\" = [\"a\"]",
            "kafka.consumer_properties.\"client.rack\": invalid type: sequence, expected a string, integer or boolean",
        ),
        (
            "[processing]\nmax_batch = \"10\"",
            "processing.max_batch: invalid type: string \"10\"",
        ),
        (
            "[processing]\nidle_timeout = 30",
            "processing.idle_timeout: invalid type: integer `30`, expected a string",
        ),
    ];
    assert_refusals(cases);
    let long = "x".repeat(250);
    assert_eq!(
        error_of(&format!("[kafka.topics]\ndead_letter = \"{long}\"")),
        "kafka.topics.dead_letter: topic names are at most 249 characters, got 250"
    );
    let longest = "x".repeat(249);
    let config = Config::from_toml_str(&format!("[kafka.topics]\ndead_letter = \"{longest}\""));
    assert_eq!(config.unwrap().kafka.topics.dead_letter, longest);
}

#[test]
fn unknown_kafka_and_processing_keys_are_refused() {
    let cases: &[(&str, &str)] = &[
        (
            "[kafka]\nbroker = \"localhost:9092\"",
            "kafka.broker: unknown field `broker`",
        ),
        (
            "[kafka]\n\"bootstrap.servers\" = \"localhost:9092\"",
            "kafka.\"bootstrap.servers\": unknown field `bootstrap.servers`",
        ),
        (
            "[kafka.topics]\ncall = \"pbx.calls\"",
            "kafka.topics.call: unknown field `call`",
        ),
        (
            "[kafka.topics]\nretractions = \"x\"",
            "kafka.topics.retractions: unknown field `retractions`",
        ),
        (
            "[kafka.encoding]\ndead_letter = \"json\"",
            "kafka.encoding.dead_letter: unknown field `dead_letter`",
        ),
        (
            "[kafka.producer]\n\"linger.ms\" = 5",
            "kafka.producer: unknown field `producer`",
        ),
        (
            "[processing]\nbatch = 5",
            "processing.batch: unknown field `batch`",
        ),
        (
            "[tenants.acme.kafka]\ngroup_id = \"acme\"",
            "tenants.acme.kafka: unknown field `kafka`",
        ),
        (
            "[tenants.acme.processing]\nmax_batch = 5",
            "tenants.acme.processing: unknown field `processing`",
        ),
    ];
    assert_refusals(cases);
}

#[test]
fn the_printed_config_never_shows_the_registry_password() {
    let config = Config::from_toml_str(
        "[kafka]\nschema_registry_url = \"https://dozvon:s3cr%40t@registry.example:8081/ccompat\"",
    )
    .unwrap();
    // The service itself keeps the credentials.
    assert_eq!(
        config.kafka.schema_registry_url.as_deref(),
        Some("https://dozvon:s3cr%40t@registry.example:8081/ccompat")
    );
    let effective = config.to_effective_toml();
    assert!(!effective.contains("s3cr"), "{effective}");
    assert!(
        effective
            .contains("schema_registry_url = \"https://dozvon:***@registry.example:8081/ccompat\""),
        "{effective}"
    );
}

#[test]
fn the_http_endpoint_is_configured_and_checked() {
    assert_eq!(
        Config::default().http.listen.to_string(),
        "0.0.0.0:9464",
        "reachable from another container by default"
    );
    let config = Config::from_toml_str("[http]\nlisten = \"127.0.0.1:0\"").unwrap();
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:0");
    assert_refusals(&[
        (
            "[http]\nlisten = \"localhost\"",
            "http.listen: must be an address and port like \"0.0.0.0:9464\", got \"localhost\"",
        ),
        ("[http]\nport = 9464", "http.port: unknown field `port`"),
    ]);
}
