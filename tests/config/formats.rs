//! `[kafka.format]` of the inputs, `[formats.bitrix24]` and `[formats.asterisk]`: accepted, refused, printed.

use std::collections::BTreeMap;
use std::time::Duration;

use dozvon::config::{Config, TopicEncoding};
use dozvon::formats::{AsteriskOptions, InputFormat, ManagerSource};

use super::assert_refusals;

#[test]
fn inputs_accept_bitrix24_with_the_mapper_options() {
    let config = Config::from_toml_str(
        r#"
        [kafka.format]
        calls = "bitrix24"
        leads = "Bitrix24"
        [formats.bitrix24]
        tenant = "acme"
        failure_stage = ""
        reason_field = "UF_CRM_REJECT_REASON"
        [formats.bitrix24.stages]
        UC_CALLBACK = "IN_PROCESS"
        [formats.bitrix24.channels]
        ADVERTISING = "paid_ads"
        "#,
    )
    .unwrap();
    let format = &config.kafka.format;
    assert_eq!(format.inputs(), [InputFormat::Bitrix24; 2]);
    assert_eq!(config.kafka.encoding.calls, TopicEncoding::Json);
    let options = &config.formats.bitrix24;
    assert_eq!(options.tenant.as_deref(), Some("acme"));
    assert_eq!(options.leads.failure_stage, "");
    assert_eq!(options.leads.success_stage, "CONVERTED");
    assert_eq!(options.leads.reason_field, "UF_CRM_REJECT_REASON");
    assert_eq!(
        options.leads.stages,
        BTreeMap::from([("UC_CALLBACK".to_owned(), "IN_PROCESS".to_owned())])
    );
    assert_eq!(options.leads.channels["ADVERTISING"], "paid_ads");
    // check-config prints it back, and the printed form parses to the same configuration.
    let effective = config.to_effective_toml();
    assert!(effective.contains("calls = \"bitrix24\""), "{effective}");
    assert_eq!(Config::from_toml_str(&effective).unwrap(), config);
}

#[test]
fn calls_accept_asterisk_with_every_merger_option() {
    let config = Config::from_toml_str(
        r#"
        [kafka.format]
        calls = "asterisk"
        [formats.asterisk]
        tenant = "pbx-msk"
        timezone = "Asia/Yekaterinburg"
        internal_max_digits = 5
        manager = "Extension"
        lead_id_prefix = "crm="
        recording_url_prefix = "https://pbx.example/rec/"
        settle = "10s"
        idle_timeout = "15m"
        "#,
    )
    .unwrap();
    assert_eq!(
        config.kafka.format.inputs(),
        [InputFormat::Asterisk, InputFormat::Dozvon]
    );
    let expected = AsteriskOptions {
        tenant: Some("pbx-msk".into()),
        timezone: chrono_tz::Asia::Yekaterinburg,
        internal_max_digits: 5,
        manager: ManagerSource::Extension,
        lead_id_prefix: "crm=".into(),
        recording_url_prefix: "https://pbx.example/rec/".into(),
        settle: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(900),
    };
    assert_eq!(config.formats.asterisk, expected);
    let effective = config.to_effective_toml();
    for line in [
        "calls = \"asterisk\"",
        "leads = \"dozvon\"",
        "[formats.asterisk]",
        "manager = \"extension\"",
        "idle_timeout = \"15m\"",
    ] {
        assert!(effective.contains(line), "{line} in {effective}");
    }
    assert_eq!(Config::from_toml_str(&effective).unwrap(), config);
}

#[test]
fn formats_default_to_the_mapper_defaults() {
    let config = Config::from_toml_str("").unwrap();
    assert_eq!(config.kafka.format.inputs(), [InputFormat::Dozvon; 2]);
    assert_eq!(config.formats.bitrix24, Default::default());
    let asterisk = &config.formats.asterisk;
    assert_eq!(asterisk, &AsteriskOptions::default());
    // The documented defaults (docs/formats.md, dozvon.example.toml).
    assert_eq!(asterisk.tenant, None);
    assert_eq!(asterisk.timezone, chrono_tz::Europe::Moscow);
    assert_eq!(asterisk.internal_max_digits, 4);
    assert_eq!(asterisk.manager, ManagerSource::Account);
    assert_eq!(asterisk.lead_id_prefix, "lead:");
    assert_eq!(asterisk.recording_url_prefix, "");
    assert_eq!(asterisk.settle, Duration::from_secs(30));
    assert_eq!(asterisk.idle_timeout, Duration::from_secs(300));
    let empty_tenant = Config::from_toml_str(
        "[formats.bitrix24]\ntenant = \"\"\n[formats.asterisk]\ntenant = \"\"\nlead_id_prefix = \"\"",
    )
    .unwrap();
    assert_eq!(empty_tenant.formats.bitrix24.tenant, None);
    assert_eq!(empty_tenant.formats.asterisk.tenant, None);
    assert_eq!(empty_tenant.formats.asterisk.lead_id_prefix, "");
}

#[test]
fn formats_are_refused_as_encodings_and_asterisk_only_carries_calls() {
    assert_refusals(&[
        (
            "[kafka.encoding]\ncalls = \"bitrix24\"",
            "kafka.encoding.calls: \"bitrix24\" is an input format, not an encoding: \
             set [kafka.format] calls = \"bitrix24\" instead (encodings are \"json\" or \"avro\")",
        ),
        (
            "[kafka.encoding]\nleads = \"Bitrix24\"",
            "kafka.encoding.leads: \"Bitrix24\" is an input format, not an encoding: \
             set [kafka.format] leads = \"bitrix24\" instead",
        ),
        (
            "[kafka.encoding]\ncalls = \"asterisk\"",
            "kafka.encoding.calls: \"asterisk\" is an input format, not an encoding: \
             set [kafka.format] calls = \"asterisk\" instead",
        ),
        (
            "[kafka.encoding]\nleads = \"asterisk\"",
            "kafka.encoding.leads: \"asterisk\" is an input format, not an encoding, and \
             Asterisk CDR rows are calls, not lead events",
        ),
        (
            "[kafka.encoding]\nviolations = \"bitrix24\"",
            "kafka.encoding.violations: \"bitrix24\" is an input format; outputs are written as \"json\" or \"avro\"",
        ),
        (
            "[kafka.encoding]\nqc_reviews = \"dozvon\"",
            "kafka.encoding.qc_reviews: \"dozvon\" is an input format",
        ),
        (
            "[kafka.encoding]\nviolations = \"protobuf\"",
            "kafka.encoding.violations: unknown encoding \"protobuf\"; expected \"json\" or \"avro\"",
        ),
        (
            "[kafka.format]\nleads = \"asterisk\"",
            "kafka.format.leads: Asterisk CDR rows are calls, not lead events; \
             expected \"dozvon\" or \"bitrix24\"",
        ),
        (
            "[kafka.format]\ncalls = \"json\"",
            "kafka.format.calls: \"json\" is an encoding, not a format",
        ),
        (
            "[kafka.format]\ncalls = \"amocrm\"",
            "kafka.format.calls: unknown input format \"amocrm\"; \
             expected \"dozvon\", \"bitrix24\" or \"asterisk\"",
        ),
        (
            "[kafka.format]\nviolations = \"dozvon\"",
            "kafka.format.violations: unknown field `violations`, expected `calls` or `leads`",
        ),
        (
            "[kafka.format]\ncalls = \"asterisk\"\n[kafka.encoding]\ncalls = \"avro\"",
            "kafka.encoding.calls: \"avro\" is for dozvon's records, but [kafka.format] \
             calls = \"asterisk\" (JSON payloads)",
        ),
    ]);
}

#[test]
fn unknown_or_invalid_formats_keys_are_refused_naming_the_key() {
    assert_refusals(&[
        (
            "[formats.bitrix24]\nportal = \"x\"",
            "formats.bitrix24.portal: unknown field `portal`",
        ),
        (
            "[formats.asterisk]\nlinkedid_field = \"x\"",
            "formats.asterisk.linkedid_field: unknown field `linkedid_field`",
        ),
        (
            "[formats.asterisk]\ntimezone = \"Moscow\"",
            "formats.asterisk.timezone: unknown IANA time zone \"Moscow\"",
        ),
        (
            "[formats.asterisk]\ninternal_max_digits = 0",
            "formats.asterisk.internal_max_digits: must be between 1 and 14, got 0",
        ),
        (
            "[formats.asterisk]\ninternal_max_digits = 15",
            "formats.asterisk.internal_max_digits: must be between 1 and 14, got 15",
        ),
        (
            "[formats.asterisk]\nmanager = \"agent\"",
            "formats.asterisk.manager: unknown manager source \"agent\"; expected \"account\" or \"extension\"",
        ),
        (
            "[formats.asterisk]\nlead_id_prefix = \"lead: \"",
            "formats.asterisk.lead_id_prefix: \"lead: \" must not start or end with whitespace",
        ),
        (
            "[formats.asterisk]\nrecording_url_prefix = \" https://pbx/\"",
            "formats.asterisk.recording_url_prefix: \" https://pbx/\" must not start or end with whitespace",
        ),
        (
            "[formats.asterisk]\nsettle = \"soon\"",
            "formats.asterisk.settle: invalid duration \"soon\"",
        ),
        (
            "[formats.asterisk]\nsettle = \"2h\"",
            "formats.asterisk.settle: must be at most 1h, got \"2h\"",
        ),
        (
            "[formats.asterisk]\nidle_timeout = \"2d\"",
            "formats.asterisk.idle_timeout: must be at most 1d, got \"2d\"",
        ),
        (
            "[formats.asterisk]\nidle_timeout = \"10s\"",
            "formats.asterisk.idle_timeout: must be at least settle (30s), got \"10s\"",
        ),
        (
            "[formats.asterisk]\nsettle = \"10m\"",
            "formats.asterisk.idle_timeout: must be at least settle (10m), got \"5m\"",
        ),
        (
            "[formats.asterisk]\ntenant = \"acme \"",
            "formats.asterisk.tenant: \"acme \" must not start or end with whitespace",
        ),
        (
            "[formats.amocrm]\ntenant = \"x\"",
            "formats.amocrm: unknown field `amocrm`, expected `bitrix24` or `asterisk`",
        ),
        (
            "[formats.bitrix24.leads]\nfailure_stage = \"JUNK\"",
            "formats.bitrix24.leads: unknown field `leads`",
        ),
        (
            "[formats.bitrix24]\ntenant = \" acme\"",
            "formats.bitrix24.tenant: \" acme\" must not start or end with whitespace",
        ),
        (
            "[formats.bitrix24]\nfailure_stage = \"JUNK \"",
            "formats.bitrix24.failure_stage: \"JUNK \" must not start or end with whitespace",
        ),
        (
            "[formats.bitrix24.stages]\nUC_X = \"\"",
            "formats.bitrix24.stages.UC_X: must not be empty",
        ),
        (
            "[formats.bitrix24.channels]\n\" WEB\" = \"web\"",
            "formats.bitrix24.channels.\" WEB\": \" WEB\" must not start or end with whitespace",
        ),
        (
            "[tenants.acme.formats.bitrix24]\ntenant = \"acme\"",
            "tenants.acme.formats: unknown field `formats`",
        ),
    ]);
}
