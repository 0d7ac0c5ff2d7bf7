//! `[kafka]`: brokers, consumer group, topics with their formats and encodings, librdkafka properties.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::topic_format::{
    EncodingConfig, FormatConfig, RawEncoding, RawFormat, foreign_inputs_are_json,
};
use super::values::{self, key, quoted_key};
use super::{ConfigError, Section};

/// librdkafka properties dozvon sets itself, refused in the property tables, with where their
/// value comes from.
const MANAGED_PROPERTIES: [(&str, &str); 8] = [
    ("bootstrap.servers", "from kafka.brokers"),
    ("metadata.broker.list", "from kafka.brokers"),
    ("group.id", "from kafka.group_id"),
    (
        "enable.auto.commit",
        "offsets are committed together with the outputs",
    ),
    (
        "enable.auto.offset.store",
        "offsets are committed together with the outputs",
    ),
    ("transactional.id", "from processing.transactional_id"),
    ("isolation.level", "from processing.guarantee"),
    ("enable.idempotence", "from processing.guarantee"),
];

/// Longest topic name Kafka accepts.
const MAX_TOPIC_LENGTH: usize = 249;

/// A librdkafka property value as written: a string, or for convenience an integer or boolean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawProperty {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

impl RawProperty {
    /// The value as librdkafka takes it (`6000` → `"6000"`, `true` → `"true"`).
    fn into_text(self) -> String {
        match self {
            RawProperty::Text(text) => text,
            RawProperty::Integer(number) => number.to_string(),
            RawProperty::Boolean(flag) => flag.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for RawProperty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawPropertyVisitor)
    }
}

struct RawPropertyVisitor;

impl Visitor<'_> for RawPropertyVisitor {
    type Value = RawProperty;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, integer or boolean")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawProperty, E> {
        Ok(RawProperty::Text(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<RawProperty, E> {
        Ok(RawProperty::Text(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawProperty, E> {
        Ok(RawProperty::Integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawProperty, E> {
        Ok(RawProperty::Text(value.to_string()))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawProperty, E> {
        Ok(RawProperty::Boolean(value))
    }
}

impl Serialize for RawProperty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RawProperty::Text(text) => serializer.serialize_str(text),
            RawProperty::Integer(number) => serializer.serialize_i64(*number),
            RawProperty::Boolean(flag) => serializer.serialize_bool(*flag),
        }
    }
}

/// A property table as written.
type RawProperties = BTreeMap<String, RawProperty>;

/// `[kafka.topics]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopics {
    pub calls: Option<String>,
    pub leads: Option<String>,
    pub violations: Option<String>,
    pub qc_reviews: Option<String>,
    pub dead_letter: Option<String>,
    pub changelog: Option<String>,
    pub contacts: Option<String>,
    pub resolved: Option<String>,
}

/// `[kafka]` as written: every key optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKafka {
    pub brokers: Option<String>,
    pub group_id: Option<String>,
    pub create_topics: Option<bool>,
    pub replication_factor: Option<i64>,
    pub schema_registry_url: Option<String>,
    /// Sub-tables last, so that they print after the plain keys.
    pub topics: Option<RawTopics>,
    pub format: Option<RawFormat>,
    pub encoding: Option<RawEncoding>,
    pub properties: Option<RawProperties>,
    pub consumer_properties: Option<RawProperties>,
    pub producer_properties: Option<RawProperties>,
}

/// Topic names; all eight distinct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicsConfig {
    /// Input: call-detail records (SPEC §1.1).
    pub calls: String,
    /// Input: lead events (SPEC §1.2).
    pub leads: String,
    /// Output: violations and retractions (SPEC §5).
    pub violations: String,
    /// Output: QC-review requests (SPEC §5).
    pub qc_reviews: String,
    /// Output: input that could not be decoded or validated (SPEC §5).
    pub dead_letter: String,
    /// dozvon's own state: one compacted record per lead, partitioned like the inputs.
    pub changelog: String,
    /// dozvon's replicated contact directory: each lead's contact entry (compacted) and each
    /// partition's clock, partitioned like the inputs; every instance reads all of it.
    pub contacts: String,
    /// dozvon's repartition topic: calls bound by phone, keyed by the lead they were bound to,
    /// partitioned like the inputs, with each router's release markers.
    pub resolved: String,
}

impl Default for TopicsConfig {
    /// `pbx.calls`, `crm.leads`, `dozvon.violations`, `dozvon.qc-reviews`, `dozvon.dead-letter`,
    /// `dozvon.changelog`, `dozvon.contacts`, `dozvon.calls-resolved`.
    fn default() -> Self {
        TopicsConfig {
            calls: "pbx.calls".to_owned(),
            leads: "crm.leads".to_owned(),
            violations: "dozvon.violations".to_owned(),
            qc_reviews: "dozvon.qc-reviews".to_owned(),
            dead_letter: "dozvon.dead-letter".to_owned(),
            changelog: "dozvon.changelog".to_owned(),
            contacts: "dozvon.contacts".to_owned(),
            resolved: "dozvon.calls-resolved".to_owned(),
        }
    }
}

impl TopicsConfig {
    /// The input topics: calls, then leads.
    pub fn inputs(&self) -> [&str; 2] {
        [&self.calls, &self.leads]
    }

    /// The output topics (created at start-up when `kafka.create_topics` is on).
    pub fn outputs(&self) -> [&str; 3] {
        [&self.violations, &self.qc_reviews, &self.dead_letter]
    }

    fn named(&self) -> [(&'static str, &str); 8] {
        [
            ("calls", &self.calls),
            ("leads", &self.leads),
            ("violations", &self.violations),
            ("qc_reviews", &self.qc_reviews),
            ("dead_letter", &self.dead_letter),
            ("changelog", &self.changelog),
            ("contacts", &self.contacts),
            ("resolved", &self.resolved),
        ]
    }

    /// Every name is a valid topic name and no two topics collide.
    fn check(&self, table: &str) -> Result<(), ConfigError> {
        let named = self.named();
        for (field, name) in named {
            topic_name(&key(table, field), name)?;
        }
        for (index, (field, name)) in named.iter().enumerate() {
            for (other, other_name) in named.iter().skip(index + 1) {
                if name == other_name {
                    return Err(ConfigError::invalid(
                        key(table, other),
                        format!("topic {name:?} is also {}", key(table, field)),
                    ));
                }
                if name.replace('.', "_") == other_name.replace('.', "_") {
                    return Err(ConfigError::invalid(
                        key(table, other),
                        format!(
                            "topic {other_name:?} collides with {name:?} of {} \
                             (Kafka treats '.' and '_' alike in topic metric names)",
                            key(table, field)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A Kafka topic name: 1 to 249 characters of `[A-Za-z0-9._-]`, not `.` or `..`.
fn topic_name(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    if name == "." || name == ".." {
        return Err(ConfigError::invalid(
            key,
            format!("{name:?} is not a valid topic name"),
        ));
    }
    if name.len() > MAX_TOPIC_LENGTH {
        return Err(ConfigError::invalid(
            key,
            format!(
                "topic names are at most {MAX_TOPIC_LENGTH} characters, got {}",
                name.len()
            ),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(ConfigError::invalid(
            key,
            format!(
                "invalid topic name {name:?}: {bad:?} is not allowed; use letters, digits, '.', '_' and '-'"
            ),
        ));
    }
    Ok(())
}

/// Connection to Kafka, topics, encodings and client properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Consumer group of the service instances.
    pub group_id: String,
    /// librdkafka properties of both the consumer and the producer.
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties of the consumer only; override `properties`.
    pub consumer_properties: BTreeMap<String, String>,
    /// librdkafka properties of the producer only; override `properties`.
    pub producer_properties: BTreeMap<String, String>,
    pub topics: TopicsConfig,
    /// What the input topics carry: dozvon's records (default), Bitrix24 or Asterisk rows.
    pub format: FormatConfig,
    pub encoding: EncodingConfig,
    /// Whether missing output topics are created at start-up.
    pub create_topics: bool,
    /// Replication factor of created topics; at least 1.
    pub replication_factor: i32,
    /// Confluent schema registry, `http://` or `https://`; none by default.
    pub schema_registry_url: Option<String>,
}

impl Default for KafkaConfig {
    /// A local broker at `127.0.0.1:9092`, group `dozvon`, the SPEC topics in dozvon's format and
    /// JSON, output topics
    /// created with replication factor 1, no extra properties, no schema registry.
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".to_owned(),
            group_id: "dozvon".to_owned(),
            properties: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
            producer_properties: BTreeMap::new(),
            topics: TopicsConfig::default(),
            format: FormatConfig::default(),
            encoding: EncodingConfig::default(),
            create_topics: true,
            replication_factor: 1,
            schema_registry_url: None,
        }
    }
}

impl KafkaConfig {
    /// The user's consumer properties: `properties` overridden by `consumer_properties`.
    /// Never holds a property dozvon sets itself.
    pub fn consumer_settings(&self) -> BTreeMap<&str, &str> {
        merge(&self.properties, &self.consumer_properties)
    }

    /// The user's producer properties: `properties` overridden by `producer_properties`.
    /// Never holds a property dozvon sets itself.
    pub fn producer_settings(&self) -> BTreeMap<&str, &str> {
        merge(&self.properties, &self.producer_properties)
    }
}

fn merge<'a>(
    common: &'a BTreeMap<String, String>,
    specific: &'a BTreeMap<String, String>,
) -> BTreeMap<&'a str, &'a str> {
    common
        .iter()
        .chain(specific)
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// A property table: names non-empty without outer spaces, none that dozvon sets itself.
fn properties(table: &str, raw: &RawProperties) -> Result<BTreeMap<String, String>, ConfigError> {
    raw.iter()
        .map(|(name, value)| {
            let key = quoted_key(table, name);
            values::name(&key, name)?;
            if let Some((_, source)) = MANAGED_PROPERTIES
                .iter()
                .find(|(managed, _)| managed == name)
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("dozvon sets this property itself ({source}); remove it"),
                ));
            }
            Ok((name.clone(), value.clone().into_text()))
        })
        .collect()
}

fn print_properties(properties: &BTreeMap<String, String>) -> Option<RawProperties> {
    Some(
        properties
            .iter()
            .map(|(name, value)| (name.clone(), RawProperty::Text(value.clone())))
            .collect(),
    )
}

/// A schema registry address: `http://` or `https://` and a host.
fn registry_url(key: &str, url: &str) -> Result<String, ConfigError> {
    values::name(key, url)?;
    crate::registry::shown_url(url)
        .map(|_| url.to_owned())
        .map_err(|error| ConfigError::invalid(key, error.to_string()))
}

impl Section for KafkaConfig {
    type Raw = RawKafka;

    fn overlay(&self, raw: &RawKafka, table: &str) -> Result<Self, ConfigError> {
        let mut out = self.clone();
        if let Some(brokers) = &raw.brokers {
            values::name(&key(table, "brokers"), brokers)?;
            out.brokers.clone_from(brokers);
        }
        if let Some(group) = &raw.group_id {
            values::name(&key(table, "group_id"), group)?;
            out.group_id.clone_from(group);
        }
        if let Some(flag) = raw.create_topics {
            out.create_topics = flag;
        }
        if let Some(factor) = raw.replication_factor {
            let max = i32::MAX.unsigned_abs();
            let factor = values::bounded(&key(table, "replication_factor"), factor, 1, max)?;
            out.replication_factor = i32::try_from(factor).unwrap_or(i32::MAX);
        }
        if let Some(url) = &raw.schema_registry_url {
            out.schema_registry_url = Some(registry_url(&key(table, "schema_registry_url"), url)?);
        }
        if let Some(topics) = &raw.topics {
            let table = key(table, "topics");
            let slots = [
                (&topics.calls, &mut out.topics.calls),
                (&topics.leads, &mut out.topics.leads),
                (&topics.violations, &mut out.topics.violations),
                (&topics.qc_reviews, &mut out.topics.qc_reviews),
                (&topics.dead_letter, &mut out.topics.dead_letter),
                (&topics.changelog, &mut out.topics.changelog),
                (&topics.contacts, &mut out.topics.contacts),
                (&topics.resolved, &mut out.topics.resolved),
            ];
            for (value, slot) in slots {
                if let Some(name) = value {
                    slot.clone_from(name);
                }
            }
            out.topics.check(&table)?;
        }
        out.encoding = out
            .encoding
            .overlay_opt(raw.encoding.as_ref(), &key(table, "encoding"))?;
        out.format = out
            .format
            .overlay_opt(raw.format.as_ref(), &key(table, "format"))?;
        foreign_inputs_are_json(&out.format, &out.encoding, table)?;
        let tables = [
            ("properties", &raw.properties, &mut out.properties),
            (
                "consumer_properties",
                &raw.consumer_properties,
                &mut out.consumer_properties,
            ),
            (
                "producer_properties",
                &raw.producer_properties,
                &mut out.producer_properties,
            ),
        ];
        for (field, value, slot) in tables {
            if let Some(raw) = value {
                *slot = properties(&key(table, field), raw)?;
            }
        }
        Ok(out)
    }

    fn to_raw(&self) -> RawKafka {
        let topics = &self.topics;
        RawKafka {
            brokers: Some(self.brokers.clone()),
            group_id: Some(self.group_id.clone()),
            create_topics: Some(self.create_topics),
            replication_factor: Some(i64::from(self.replication_factor)),
            // Printed by check-config: never the password.
            schema_registry_url: self
                .schema_registry_url
                .as_deref()
                .map(|url| crate::registry::shown_url(url).unwrap_or_else(|_| url.to_owned())),
            topics: Some(RawTopics {
                calls: Some(topics.calls.clone()),
                leads: Some(topics.leads.clone()),
                violations: Some(topics.violations.clone()),
                qc_reviews: Some(topics.qc_reviews.clone()),
                dead_letter: Some(topics.dead_letter.clone()),
                changelog: Some(topics.changelog.clone()),
                contacts: Some(topics.contacts.clone()),
                resolved: Some(topics.resolved.clone()),
            }),
            format: Some(self.format.to_raw()),
            encoding: Some(self.encoding.to_raw()),
            properties: print_properties(&self.properties),
            consumer_properties: print_properties(&self.consumer_properties),
            producer_properties: print_properties(&self.producer_properties),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicEncoding;
    use crate::formats::InputFormat;

    fn text(result: Result<KafkaConfig, ConfigError>) -> String {
        match result {
            Ok(config) => panic!("accepted {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        for good in ["pbx.calls", "a", "A-b_c.9", &"x".repeat(249)] {
            assert!(topic_name("k", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "pbx calls",
            "pbx/calls",
            "звонки",
            &"x".repeat(250),
        ] {
            assert!(topic_name("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topics_must_not_collide() {
        let raw = RawKafka {
            topics: Some(RawTopics {
                dead_letter: Some("dozvon_violations".into()),
                ..RawTopics::default()
            }),
            ..RawKafka::default()
        };
        assert_eq!(
            text(KafkaConfig::default().overlay(&raw, "kafka")),
            "kafka.topics.dead_letter: topic \"dozvon_violations\" collides with \
             \"dozvon.violations\" of kafka.topics.violations \
             (Kafka treats '.' and '_' alike in topic metric names)"
        );
    }

    #[test]
    fn specific_properties_override_common_ones() {
        let config = KafkaConfig {
            properties: BTreeMap::from([
                ("client.id".into(), "dozvon".into()),
                ("security.protocol".into(), "SSL".into()),
            ]),
            consumer_properties: BTreeMap::from([("client.id".into(), "dozvon-in".into())]),
            ..KafkaConfig::default()
        };
        let consumer = config.consumer_settings();
        assert_eq!(consumer.get("client.id"), Some(&"dozvon-in"));
        assert_eq!(consumer.get("security.protocol"), Some(&"SSL"));
        assert_eq!(config.producer_settings().get("client.id"), Some(&"dozvon"));
    }

    #[test]
    fn to_raw_overlays_back_to_the_same_kafka_config() {
        let config = KafkaConfig {
            brokers: "a:9092,b:9092".into(),
            create_topics: false,
            replication_factor: 3,
            schema_registry_url: Some("https://registry:8081".into()),
            producer_properties: BTreeMap::from([("linger.ms".into(), "5".into())]),
            format: FormatConfig {
                calls: InputFormat::Asterisk,
                leads: InputFormat::Bitrix24,
            },
            encoding: EncodingConfig {
                violations: TopicEncoding::Avro,
                ..EncodingConfig::default()
            },
            ..KafkaConfig::default()
        };
        let again = KafkaConfig::default().overlay(&config.to_raw(), "kafka");
        assert_eq!(again.unwrap(), config);
    }
}
