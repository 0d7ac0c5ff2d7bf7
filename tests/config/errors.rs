//! Refusals: invalid values, wrong types, unknown keys and malformed TOML, each naming its key.

use dozvon::config::{Config, ConfigError};

use super::{assert_refusals, error_of};

#[test]
fn invalid_values_are_refused_naming_the_key_path() {
    let cases: &[(&str, &str)] = &[
        (
            "[tenants.acme.calendar]\ntimezone = \"Europe/Mosow\"",
            "tenants.acme.calendar.timezone: unknown IANA time zone \"Europe/Mosow\"",
        ),
        (
            "[calendar]\nworking_days = [\"mon\", \"fry\"]",
            "calendar.working_days[1]: unknown weekday \"fry\"",
        ),
        (
            "[calendar]\nworking_days = []",
            "calendar.working_days: must list at least one day",
        ),
        (
            "[calendar]\nworking_days = [\"mon\", \"tue\", \"mon\"]",
            "calendar.working_days: mon is listed twice",
        ),
        (
            "[calendar]\nworking_hours = \"9-18\"",
            "calendar.working_hours: invalid working hours \"9-18\"",
        ),
        (
            "[calendar]\nworking_hours = \"18:00-09:00\"",
            "calendar.working_hours: start must be before end",
        ),
        (
            "[calendar]\nholidays = [\"2026-01-01\", \"2026-02-30\"]",
            "calendar.holidays[1]: invalid date \"2026-02-30\"",
        ),
        (
            "[calendar]\nholidays = [2026-01-01T10:00:00]",
            "calendar.holidays[0]: invalid date 2026-01-01T10:00:00",
        ),
        (
            "[rules]\nday1_cutoff = \"25:00\"",
            "rules.day1_cutoff: invalid time of day \"25:00\"",
        ),
        (
            "[rules]\nday1_cutoff = \"1pm\"",
            "rules.day1_cutoff: invalid time of day \"1pm\"",
        ),
        (
            "[rules]\nfirst_call_sla = \"15 minutos\"",
            "rules.first_call_sla: invalid duration \"15 minutos\"",
        ),
        (
            "[rules]\nfirst_call_sla = \"0s\"",
            "rules.first_call_sla: must be greater than zero",
        ),
        (
            "[rules]\nallowed_lateness = \"-1m\"",
            "rules.allowed_lateness: must not be negative",
        ),
        (
            "[rules.first_call_sla_by_channel]\npaid_ads = \"0m\"",
            "rules.first_call_sla_by_channel.paid_ads: must be greater than zero",
        ),
        (
            "[rules]\ndaily_attempts = 0",
            "rules.daily_attempts: must be at least 1, got 0",
        ),
        (
            "[rules]\nperiod_days = 0",
            "rules.period_days: must be between 1 and 31, got 0",
        ),
        (
            "[rules]\nperiod_days = 32",
            "rules.period_days: must be between 1 and 31, got 32",
        ),
        (
            "[rules]\ntouch_seconds = -1",
            "rules.touch_seconds: must be between 0 and 4294967295",
        ),
        (
            "[rules]\nmin_total_attempts = -3",
            "rules.min_total_attempts: must be between 0",
        ),
        (
            "[rules]\nstale_after_days = 0",
            "rules.stale_after_days: must be between 1 and 366, got 0",
        ),
        (
            "[rules]\nexempt_reasons = [\"дубль\", \" \"]",
            "rules.exempt_reasons[1]: must not be empty",
        ),
        (
            "[stages]\ncadence = []",
            "stages.cadence: must list at least one stage",
        ),
        (
            "[stages]\nrejected = [\"JUNK\", \"\"]",
            "stages.rejected[1]: must not be empty",
        ),
        (
            "[stages]\nconverted = [\"CONVERTED\", \"NEW\"]",
            "stages.converted: stage \"NEW\" is also listed in stages.cadence",
        ),
        (
            "[state]\nidle_retention = \"0s\"",
            "state.idle_retention: must be greater than zero",
        ),
        (
            "[state]\nterminal_retention = \"soon\"",
            "state.terminal_retention: invalid duration \"soon\"",
        ),
        (
            "[tenants.acme.rules]\ndaily_attempts = 0",
            "tenants.acme.rules.daily_attempts: must be at least 1",
        ),
        (
            "[tenants.\"\".rules]\ndaily_attempts = 2",
            "tenants.\"\": tenant names must be non-empty",
        ),
        // Wrong types are reported by the parser, with the key path and the line.
        (
            "[rules]\ndaily_attempts = \"3\"",
            "rules.daily_attempts: invalid type: string \"3\"",
        ),
        (
            "\n[rules]\ntouch_satisfies_day = 1",
            "rules.touch_satisfies_day: invalid type: integer `1`, expected a boolean (line 3, column 23)",
        ),
        (
            "[calendar]\nholidays = [20260101]",
            "calendar.holidays[0]: invalid type: integer `20260101`, expected a date \"YYYY-MM-DD\"",
        ),
        (
            "[rules]\nfirst_call_sla = 900",
            "rules.first_call_sla: invalid type: integer `900`, expected a string",
        ),
    ];
    assert_refusals(cases);
}

#[test]
fn invalid_values_carry_a_structured_key() {
    match Config::from_toml_str("[tenants.acme.calendar]\ntimezone = \"Mars/Olympus\"") {
        Err(ConfigError::Invalid { key, reason }) => {
            assert_eq!(key, "tenants.acme.calendar.timezone");
            assert_eq!(reason, "unknown IANA time zone \"Mars/Olympus\"");
        }
        other => panic!("unexpected {other:?}"),
    }
    match Config::from_toml_str("[rules]\ndaily_attempts = true") {
        Err(error @ ConfigError::Parse { .. }) => {
            assert_eq!(error.key(), Some("rules.daily_attempts"));
            let ConfigError::Parse { line, column, .. } = error else {
                unreachable!()
            };
            assert_eq!((line, column), (Some(2), Some(18)));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_keys_are_refused_wherever_they_are() {
    let cases: &[(&str, &str)] = &[
        ("ruless = 1", "ruless: unknown field `ruless`"),
        (
            "[ruless]\ndaily_attempts = 3",
            "ruless: unknown field `ruless`",
        ),
        (
            "[kafkaa]\nbrokers = \"localhost:9092\"",
            "kafkaa: unknown field `kafkaa`",
        ),
        (
            "[rules]\ndaily_attemps = 3",
            "rules.daily_attemps: unknown field `daily_attemps`",
        ),
        (
            "[calendar]\ntimezon = \"UTC\"",
            "calendar.timezon: unknown field `timezon`",
        ),
        (
            "[stages]\nother = [\"PROCESSED\"]",
            "stages.other: unknown field `other`",
        ),
        (
            "[state]\nretention = \"1d\"",
            "state.retention: unknown field `retention`",
        ),
        (
            "[tenants.acme]\ntimezone = \"UTC\"",
            "tenants.acme.timezone: unknown field `timezone`",
        ),
        (
            "[tenants.acme.stages]\ncadence = [\"NEW\"]",
            "tenants.acme.stages: unknown field `stages`",
        ),
        (
            "[tenants.acme.rules]\nperiod = 5",
            "tenants.acme.rules.period: unknown field `period`, expected one of `daily_attempts`",
        ),
        (
            "[tenants.acme.calendar]\nhours = \"09:00-18:00\"",
            "tenants.acme.calendar.hours: unknown field `hours`",
        ),
        // Keys that are not bare TOML keys are quoted in the path.
        (
            "[tenants.\"north west\".rules]\nperiod = 5",
            "tenants.\"north west\".rules.period: unknown field `period`",
        ),
    ];
    assert_refusals(cases);
}

#[test]
fn malformed_toml_is_reported_with_its_line() {
    let message = error_of("[rules]\ndaily_attempts = 3\n[calendar\n");
    assert!(message.contains("(line 3, column"), "{message}");
}
