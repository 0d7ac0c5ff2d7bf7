//! Integration tests of the TOML configuration: defaults, overrides, validation, round trips.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use dozvon::config::{
    CalendarConfig, Config, ConfigError, Guarantee, LogFormat, RulesConfig, StageKind,
    StagesConfig, StateConfig, TenantConfig, TopicEncoding,
};

#[path = "config/errors.rs"]
mod errors;
#[path = "config/formats.rs"]
mod formats;
#[path = "config/kafka.rs"]
mod kafka;

const EXAMPLE: &str = include_str!("../dozvon.example.toml");

/// The message of a refused configuration (panics if it is accepted).
fn error_of(text: &str) -> String {
    match Config::from_toml_str(text) {
        Ok(config) => panic!("accepted {text:?} as {config:?}"),
        Err(error) => error.to_string(),
    }
}

/// Each text is refused with a message starting with the expected text.
fn assert_refusals(cases: &[(&str, &str)]) {
    for (text, expected) in cases {
        let message = error_of(text);
        assert!(
            message.starts_with(expected),
            "for {text:?}\n  got:      {message}\n  expected: {expected}"
        );
    }
}

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn defaults_are_the_spec_values() {
    let config = Config::default();
    let calendar = &config.default_tenant.calendar;
    assert_eq!(calendar.timezone, chrono_tz::Europe::Moscow);
    assert_eq!(
        calendar.working_days,
        [true, true, true, true, true, false, false]
    );
    assert_eq!(
        (calendar.work_start, calendar.work_end),
        (time(9, 0), time(18, 0))
    );
    assert!(calendar.holidays.is_empty());

    let rules = &config.default_tenant.rules;
    assert_eq!(rules.daily_attempts, 3);
    assert_eq!(rules.period_days, 5);
    assert_eq!(rules.min_total_attempts, 15);
    assert_eq!(rules.touch_seconds, 30);
    assert!(rules.touch_satisfies_day);
    assert_eq!(rules.day1_cutoff, time(13, 0));
    assert_eq!(rules.first_call_sla, minutes(15));
    assert!(rules.first_call_sla_by_channel.is_empty());
    assert_eq!(rules.stale_after_days, 3);
    assert!(rules.exempt_reasons.is_empty());
    assert_eq!(rules.allowed_lateness, minutes(10));

    assert_eq!(config.stages.cadence, strings(&["NEW", "IN_PROCESS"]));
    assert_eq!(config.stages.rejected, strings(&["JUNK"]));
    assert_eq!(config.stages.converted, strings(&["CONVERTED"]));
    assert_eq!(config.state.terminal_retention, days(30));
    assert_eq!(config.state.idle_retention, days(90));
    assert!(config.tenants.is_empty());
}

#[test]
fn an_empty_file_and_empty_tables_mean_defaults() {
    assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    let empty_tables = "[calendar]\n[stages]\n[rules]\n[state]\n[kafka]\n[processing]\n[tenants]\n";
    assert_eq!(
        Config::from_toml_str(empty_tables).unwrap(),
        Config::default()
    );
}

const FULL: &str = r#"
[calendar]
timezone = "Asia/Novosibirsk"
working_days = ["mon", "tue", "wed", "thu", "fri", "sat"]
working_hours = "08:30-20:00"
holidays = ["2026-03-09", 2026-05-01]

[stages]
cadence = ["NEW", "IN_PROCESS", "C2:PREPARATION"]
rejected = ["JUNK", "C2:LOSE"]
converted = ["CONVERTED", "C2:WON"]

[rules]
daily_attempts = 2
period_days = 7
min_total_attempts = 10
touch_seconds = 45
touch_satisfies_day = false
day1_cutoff = "12:30"
first_call_sla = "1h 30m"
first_call_sla_by_channel = { paid_ads = "5m", phone = "2m 30s" }
stale_after_days = 4
exempt_reasons = ["дубль", "неверный номер"]
allowed_lateness = "2m"

[state]
terminal_retention = "7d"
idle_retention = "60d 12h"

[kafka]
brokers = "kafka:9092"
group_id = "dozvon-test"
replication_factor = 2
schema_registry_url = "http://registry:8081"
[kafka.topics]
calls = "pbx.calls.v2"
[kafka.encoding]
leads = "avro"
[kafka.properties]
"security.protocol" = "SSL"
[kafka.consumer_properties]
"session.timeout.ms" = 6000
[kafka.producer_properties]
"compression.type" = "zstd"

[processing]
guarantee = "at_least_once"
commit_interval = "250ms"
max_batch = 2000
idle_timeout = "1m"
transactional_id = "dozvon-a"
"#;

#[test]
fn a_file_with_every_key_parses_into_those_values() {
    let config = Config::from_toml_str(FULL).unwrap();
    let calendar = &config.default_tenant.calendar;
    assert_eq!(calendar.timezone, chrono_tz::Asia::Novosibirsk);
    assert_eq!(
        calendar.working_days,
        [true, true, true, true, true, true, false]
    );
    assert_eq!(
        (calendar.work_start, calendar.work_end),
        (time(8, 30), time(20, 0))
    );
    assert_eq!(
        calendar.holidays,
        BTreeSet::from([date(2026, 3, 9), date(2026, 5, 1)])
    );

    let rules = &config.default_tenant.rules;
    let expected = RulesConfig {
        daily_attempts: 2,
        period_days: 7,
        min_total_attempts: 10,
        touch_seconds: 45,
        touch_satisfies_day: false,
        day1_cutoff: time(12, 30),
        first_call_sla: minutes(90),
        first_call_sla_by_channel: BTreeMap::from([
            ("paid_ads".to_owned(), minutes(5)),
            ("phone".to_owned(), Duration::from_secs(150)),
        ]),
        stale_after_days: 4,
        exempt_reasons: strings(&["дубль", "неверный номер"]),
        allowed_lateness: minutes(2),
    };
    assert_eq!(rules, &expected);
    assert_eq!(rules.first_call_sla_for(Some("paid_ads")), minutes(5));
    assert_eq!(rules.first_call_sla_for(Some("website")), minutes(90));
    assert_eq!(rules.first_call_sla_for(None), minutes(90));

    assert_eq!(config.stages.kind("C2:PREPARATION"), StageKind::Cadence);
    assert_eq!(config.stages.kind("C2:LOSE"), StageKind::Rejected);
    assert_eq!(config.stages.kind("C2:WON"), StageKind::Converted);
    assert_eq!(config.stages.kind("PROCESSED"), StageKind::Other);
    assert_eq!(
        config.state,
        StateConfig {
            terminal_retention: days(7),
            idle_retention: days(60) + Duration::from_secs(12 * 3_600),
        }
    );

    let kafka = &config.kafka;
    assert_eq!(kafka.brokers, "kafka:9092");
    assert_eq!(kafka.group_id, "dozvon-test");
    assert_eq!(kafka.replication_factor, 2);
    assert!(kafka.create_topics);
    assert_eq!(
        kafka.schema_registry_url.as_deref(),
        Some("http://registry:8081")
    );
    assert_eq!(kafka.topics.calls, "pbx.calls.v2");
    assert_eq!(kafka.topics.leads, "crm.leads");
    assert_eq!(kafka.encoding.leads, TopicEncoding::Avro);
    assert_eq!(kafka.encoding.calls, TopicEncoding::Json);
    assert_eq!(
        kafka.consumer_settings().get("session.timeout.ms"),
        Some(&"6000")
    );
    assert_eq!(
        kafka.producer_settings().get("compression.type"),
        Some(&"zstd")
    );
    assert_eq!(
        kafka.producer_settings().get("security.protocol"),
        Some(&"SSL")
    );
    let processing = &config.processing;
    assert_eq!(processing.guarantee, Guarantee::AtLeastOnce);
    assert_eq!(processing.commit_interval, Duration::from_millis(250));
    assert_eq!(processing.max_batch, 2_000);
    assert_eq!(processing.idle_timeout, minutes(1));
    assert_eq!(processing.transactional_id.as_deref(), Some("dozvon-a"));
}

#[test]
fn a_tenant_override_changes_only_its_keys_and_inherits_the_rest() {
    let text = r#"
[calendar]
holidays = ["2026-01-01"]
[rules]
daily_attempts = 2
first_call_sla_by_channel = { paid_ads = "5m" }

[tenants.acme.rules]
period_days = 3
[tenants.acme.calendar]
timezone = "Asia/Vladivostok"

[tenants.beta]
"#;
    let config = Config::from_toml_str(text).unwrap();
    let top = config.default_tenant.clone();
    assert_eq!(top.rules.daily_attempts, 2);

    let acme = config.tenant("acme");
    let mut expected = top.clone();
    expected.rules.period_days = 3;
    expected.calendar.timezone = chrono_tz::Asia::Vladivostok;
    assert_eq!(acme, &expected);
    // Inherited from the top level, not from the built-in defaults.
    assert_eq!(acme.rules.daily_attempts, 2);
    assert_eq!(acme.rules.first_call_sla_for(Some("paid_ads")), minutes(5));
    assert_eq!(acme.calendar.holidays, BTreeSet::from([date(2026, 1, 1)]));

    // A tenant table without keys is the top level; unknown tenants fall back to it.
    assert_eq!(config.tenant("beta"), &top);
    assert_eq!(config.tenant("default"), &top);
    assert_eq!(config.tenant("nobody"), &top);
    assert_eq!(config.tenants.len(), 2);
}

#[test]
fn a_tenant_list_or_channel_table_replaces_the_top_level_one_whole() {
    let text = r#"
[calendar]
holidays = ["2026-01-01", "2026-01-02"]
[rules.first_call_sla_by_channel]
paid_ads = "5m"
website = "10m"

[tenants.acme.calendar]
holidays = ["2026-06-12"]
[tenants.acme.rules]
first_call_sla_by_channel = { paid_ads = "3m" }
exempt_reasons = ["дубль"]

[tenants.beta.rules.first_call_sla_by_channel]
"#;
    let config = Config::from_toml_str(text).unwrap();
    let acme = config.tenant("acme");
    assert_eq!(acme.calendar.holidays, BTreeSet::from([date(2026, 6, 12)]));
    assert_eq!(
        acme.rules.first_call_sla_by_channel,
        BTreeMap::from([("paid_ads".to_owned(), minutes(3))])
    );
    assert_eq!(acme.rules.first_call_sla_for(Some("website")), minutes(15));
    assert_eq!(acme.rules.exempt_reasons, strings(&["дубль"]));
    assert!(config.default_tenant.rules.exempt_reasons.is_empty());
    assert!(
        config
            .tenant("beta")
            .rules
            .first_call_sla_by_channel
            .is_empty()
    );
}

#[test]
fn holidays_accept_strings_and_toml_dates() {
    let config =
        Config::from_toml_str("[calendar]\nholidays = [\"2026-01-01\", 2026-01-07, 2026-01-01]")
            .unwrap();
    assert_eq!(
        config.default_tenant.calendar.holidays,
        BTreeSet::from([date(2026, 1, 1), date(2026, 1, 7)])
    );
}

#[test]
fn effective_toml_round_trips_to_an_equal_config() {
    for text in ["", FULL, EXAMPLE, kafka::FULL_KAFKA] {
        let config = Config::from_toml_str(text).unwrap();
        let effective = config.to_effective_toml();
        let again = Config::from_toml_str(&effective)
            .unwrap_or_else(|error| panic!("{error}\nin:\n{effective}"));
        assert_eq!(again, config, "effective:\n{effective}");
        assert_eq!(again.to_effective_toml(), effective);
    }
}

#[test]
fn effective_toml_lists_every_key_with_tenants_resolved() {
    let config =
        Config::from_toml_str("[rules]\ndaily_attempts = 2\n[tenants.acme.rules]\nperiod_days = 3")
            .unwrap();
    let effective: toml::Table = toml::from_str(&config.to_effective_toml()).unwrap();
    let acme_rules = &effective["tenants"]["acme"]["rules"];
    assert_eq!(acme_rules["daily_attempts"].as_integer(), Some(2));
    assert_eq!(acme_rules["period_days"].as_integer(), Some(3));
    assert_eq!(acme_rules["first_call_sla"].as_str(), Some("15m"));
    assert_eq!(
        effective["tenants"]["acme"]["calendar"]["timezone"].as_str(),
        Some("Europe/Moscow")
    );
    let tables = [
        ("calendar", 4),
        ("stages", 3),
        ("rules", 11),
        ("state", 2),
        // Without the unset schema_registry_url and transactional_id.
        ("kafka", 10),
        ("processing", 6),
    ];
    for (table, count) in tables {
        let keys = effective[table].as_table().map_or(0, toml::Table::len);
        assert_eq!(keys, count, "keys of [{table}]");
    }
    assert_eq!(effective["state"]["idle_retention"].as_str(), Some("90d"));
    assert_eq!(
        effective["kafka"]["topics"]
            .as_table()
            .map(toml::Table::len),
        Some(8)
    );
    assert_eq!(
        effective["kafka"]["encoding"]["calls"].as_str(),
        Some("json")
    );
    assert_eq!(
        effective["processing"]["guarantee"].as_str(),
        Some("exactly_once")
    );
    assert_eq!(
        effective["processing"]["commit_interval"].as_str(),
        Some("100ms")
    );
}

#[test]
fn a_programmatic_config_round_trips_too() {
    let mut config = Config::default();
    config.state.idle_retention = Duration::from_millis(1_500);
    config.stages = StagesConfig {
        cadence: strings(&["A"]),
        rejected: vec![],
        converted: strings(&["B"]),
    };
    let mut tenant = TenantConfig {
        calendar: CalendarConfig {
            working_days: [true; 7],
            holidays: BTreeSet::from([date(2027, 2, 23)]),
            ..CalendarConfig::default()
        },
        ..TenantConfig::default()
    };
    tenant.rules.allowed_lateness = Duration::ZERO;
    config.tenants.insert("with space".into(), tenant);
    config.kafka.create_topics = false;
    config.kafka.topics.dead_letter = "dlq".into();
    config.kafka.encoding.qc_reviews = TopicEncoding::Avro;
    config
        .kafka
        .properties
        .insert("sasl.password".into(), "p\"a=ss\\word".into());
    config
        .kafka
        .consumer_properties
        .insert("fetch.min.bytes".into(), "1".into());
    config.processing.guarantee = Guarantee::AtLeastOnce;
    config.processing.commit_interval = Duration::from_micros(1_500);
    config.processing.transactional_id = Some("tx 1".into());
    let again = Config::from_toml_str(&config.to_effective_toml()).unwrap();
    assert_eq!(again, config);
}

#[test]
fn the_example_file_documents_the_defaults_and_one_tenant() {
    let config = Config::from_toml_str(EXAMPLE).unwrap();
    let mut without_tenants = config.clone();
    let ural = without_tenants.tenants.remove("ural").unwrap();
    assert!(without_tenants.tenants.is_empty());
    assert_eq!(
        without_tenants,
        Config::default(),
        "top-level tables show the defaults"
    );

    let mut expected = TenantConfig::default();
    expected.calendar.timezone = chrono_tz::Asia::Yekaterinburg;
    expected.calendar.holidays =
        BTreeSet::from([date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 7)]);
    expected.rules.daily_attempts = 4;
    expected.rules.exempt_reasons = strings(&["дубль", "неверный номер"]);
    expected.rules.first_call_sla_by_channel = BTreeMap::from([
        ("paid_ads".to_owned(), minutes(5)),
        ("website".to_owned(), minutes(10)),
    ]);
    assert_eq!(ural, expected);
    // Every key of the effective configuration appears in the example.
    let effective: toml::Table = toml::from_str(&Config::default().to_effective_toml()).unwrap();
    for (table, keys) in &effective {
        for key in keys.as_table().into_iter().flat_map(toml::Table::keys) {
            let line = format!("\n{key} = ");
            let header = format!("[{table}.{key}]");
            assert!(
                EXAMPLE.contains(&line) || EXAMPLE.contains(&header),
                "{table}.{key} is not documented in the example"
            );
        }
    }
}

#[test]
fn log_format_is_pretty_or_json() {
    assert_eq!(Config::default().log.format, LogFormat::Pretty);
    let json = Config::from_toml_str("[log]\nformat = \"json\"").unwrap();
    assert_eq!(json.log.format, LogFormat::Json);
    assert_refusals(&[
        (
            "[log]\nformat = \"xml\"",
            "log.format: must be \"pretty\" or \"json\"",
        ),
        ("[log]\nlevel = \"debug\"", "log.level"),
    ]);
}

#[test]
fn load_reads_a_file_and_reports_unreadable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dozvon.toml");
    std::fs::write(&path, "[rules]\ndaily_attempts = 5\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.default_tenant.rules.daily_attempts, 5);

    let missing = dir.path().join("missing.toml");
    match Config::load(&missing) {
        Err(error @ ConfigError::Io { .. }) => {
            assert!(error.to_string().contains("missing.toml"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    std::fs::write(&path, "[rules]\nperiod_days = 40\n").unwrap();
    let error = Config::load(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        "rules.period_days: must be between 1 and 31, got 40"
    );
}
