//! `[kafka.encoding]` = "bitrix24" for inputs and `[formats.bitrix24]`: accepted, refused, printed.

use std::collections::BTreeMap;

use dozvon::config::{Config, TopicEncoding};

use super::assert_refusals;

#[test]
fn inputs_accept_bitrix24_with_the_mapper_options() {
    let config = Config::from_toml_str(
        r#"
        [kafka.encoding]
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
    let encoding = &config.kafka.encoding;
    assert_eq!(encoding.calls, TopicEncoding::Bitrix24);
    assert_eq!(encoding.leads, TopicEncoding::Bitrix24);
    assert_eq!(encoding.violations, TopicEncoding::Json);
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
fn formats_default_to_the_mapper_defaults() {
    let config = Config::from_toml_str("").unwrap();
    assert_eq!(config.formats.bitrix24, Default::default());
    let empty_tenant = Config::from_toml_str("[formats.bitrix24]\ntenant = \"\"").unwrap();
    assert_eq!(empty_tenant.formats.bitrix24.tenant, None);
}

#[test]
fn bitrix24_is_refused_for_outputs_and_asterisk_is_not_wired_yet() {
    assert_refusals(&[
        (
            "[kafka.encoding]\nviolations = \"bitrix24\"",
            "kafka.encoding.violations: \"bitrix24\" is an input format; outputs are written as \"json\" or \"avro\"",
        ),
        (
            "[kafka.encoding]\nqc_reviews = \"bitrix24\"",
            "kafka.encoding.qc_reviews: \"bitrix24\" is an input format",
        ),
        (
            "[kafka.encoding]\ncalls = \"asterisk\"",
            "kafka.encoding.calls: Asterisk CDR input needs the leg merger, not wired yet",
        ),
        (
            "[kafka.encoding]\nviolations = \"protobuf\"",
            "kafka.encoding.violations: unknown encoding \"protobuf\"; expected \"json\" or \"avro\"",
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
            "[formats.asterisk]\ntimezone = \"UTC\"",
            "formats.asterisk: unknown field `asterisk`",
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
